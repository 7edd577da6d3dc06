package clustertest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/internal/testenv"
)

// countingReplica counts the outcomes of the reads that Find sends to a
// replica: a hit, a miss (then Find asks the primary) or an error (same).
type countingReplica struct {
	sqlsession.Backend
	hits, misses, errs atomic.Int64
}

func (c *countingReplica) QueryRow(ctx context.Context, q string, args ...any) sqlsession.Row {
	return countedRow{c.Backend.QueryRow(ctx, q, args...), c}
}

func (c *countingReplica) reset() { c.hits.Store(0); c.misses.Store(0); c.errs.Store(0) }

type countedRow struct {
	r sqlsession.Row
	c *countingReplica
}

func (r countedRow) Scan(dest ...any) error {
	err := r.r.Scan(dest...)
	switch {
	case err == nil:
		r.c.hits.Add(1)
	case errors.Is(err, sql.ErrNoRows):
		r.c.misses.Add(1)
	default:
		r.c.errs.Add(1)
	}
	return err
}

// TestClusterPGReplica runs a Store whose Find reads a hot standby, then
// fails over to the standby. Its subtests run in order: the second promotes
// the standby and stops the primary for good.
func TestClusterPGReplica(t *testing.T) {
	primaryDSN := Env(t, PGReplPrimaryDSN)
	standbyDSN := Env(t, PGReplStandbyDSN)
	failoverDSN := Env(t, PGReplFailoverDSN)
	standby := Open(t, "pgx", standbyDSN, PGReplStandbyDSN)
	table := testenv.Name("replica")

	t.Run("read your writes", func(t *testing.T) {
		// The primary has the standby as synchronous standby; each
		// connection picks how long its commits wait: local is plain
		// asynchronous replication, remote_apply waits until the standby
		// has applied the commit.
		for _, mode := range []string{"local", "remote_apply"} {
			t.Run("synchronous_commit="+mode, func(t *testing.T) {
				primary := Open(t, "pgx", WithParam(primaryDSN, "synchronous_commit="+mode), PGReplPrimaryDSN)
				replica := &countingReplica{Backend: sqlsession.SQLBackend(standby)}
				s, err := sqlsession.New(primary, sqlsession.Postgres, sqlsession.Options{Table: table, Replica: replica})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				if err := s.CreateTable(ctx); err != nil {
					t.Fatalf("CreateTable() = %v", err)
				}
				waitForTable(t, ctx, standby, table)

				// 8 goroutines × 250 sessions: log in (a new token), then read
				// at once; update it, read at once; log out, read at once.
				const workers, perWorker = 8, 250
				var loginWrong, updateStale, logoutFound, errs atomic.Int64
				phase := func(name string, fn func(token string, i int) error) {
					replica.reset()
					began := time.Now()
					var wg sync.WaitGroup
					for w := range workers {
						wg.Add(1)
						go func() {
							defer wg.Done()
							for i := range perWorker {
								if err := fn(fmt.Sprintf("%d-%d", w, i), i); err != nil {
									errs.Add(1)
									t.Errorf("%s: %v", name, err)
									return
								}
							}
						}()
					}
					wg.Wait()
					t.Logf("%s: %d write+read pairs in %s; replica hits %d, misses (primary fallback) %d, errors (primary fallback) %d",
						name, workers*perWorker, ms(time.Since(began)), replica.hits.Load(), replica.misses.Load(), replica.errs.Load())
				}
				tokens := sync.Map{}
				phase("login then read", func(key string, i int) error {
					token := sqlsession.NewToken()
					tokens.Store(key, token)
					if err := s.Save(ctx, token, []byte("user=1 v=1"), time.Now().Add(time.Hour)); err != nil {
						return err
					}
					got, found, err := s.Find(ctx, token)
					if err != nil {
						return err
					}
					if !found || string(got) != "user=1 v=1" {
						loginWrong.Add(1)
					}
					return nil
				})
				phase("update then read", func(key string, i int) error {
					token, _ := tokens.Load(key)
					if err := s.Save(ctx, token.(string), []byte("user=1 v=2"), time.Now().Add(time.Hour)); err != nil {
						return err
					}
					got, _, err := s.Find(ctx, token.(string))
					if err != nil {
						return err
					}
					if string(got) != "user=1 v=2" {
						updateStale.Add(1)
					}
					return nil
				})
				phase("logout then read", func(key string, i int) error {
					token, _ := tokens.Load(key)
					if err := s.Delete(ctx, token.(string)); err != nil {
						return err
					}
					_, found, err := s.Find(ctx, token.(string))
					if err != nil {
						return err
					}
					if found {
						logoutFound.Add(1)
					}
					return nil
				})
				t.Logf("synchronous_commit=%s: logins read as logged out: %d; updates read stale: %d; logouts read as still logged in: %d (of %d each)",
					mode, loginWrong.Load(), updateStale.Load(), logoutFound.Load(), workers*perWorker)
				// A new session is never missed: a miss on the replica falls
				// back to the primary.
				if n := loginWrong.Load(); n > 0 {
					t.Errorf("%d logins read back as logged out, want 0", n)
				}
				// A changed or deleted one can be read stale from an
				// asynchronous replica (reported above), never once the
				// standby applies before the commit returns.
				if mode == "remote_apply" && updateStale.Load()+logoutFound.Load() > 0 {
					t.Errorf("with remote_apply: %d stale updates and %d logouts still found, want 0",
						updateStale.Load(), logoutFound.Load())
				}
			})
		}
	})

	t.Run("failover", func(t *testing.T) {
		// A Store on the multi-host DSN writes from 4 goroutines; the
		// primary crashes, the standby is promoted a second later, and the
		// same Store goes on writing to it.
		db := Open(t, "pgx", failoverDSN, PGReplFailoverDSN)
		s, err := sqlsession.New(db, sqlsession.Postgres, sqlsession.Options{Table: table})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := s.CreateTable(ctx); err != nil {
			t.Fatalf("CreateTable() = %v", err)
		}
		stop := load{
			stores: []*sqlsession.Store{s}, workers: 4, maxOps: 5000,
			pace: 5 * time.Millisecond, timeout: time.Second,
		}.run()
		time.Sleep(1500 * time.Millisecond)
		crashed := time.Now()
		Control(t, "stop", "pg-replica", "primary", "--kill")
		time.Sleep(time.Second)
		promoting := time.Now()
		Control(t, "promote", "pg-replica")
		promoted := time.Now()
		// Run until writes have resumed for 3 seconds, at most 20.
		deadline := promoted.Add(20 * time.Second)
		var resumed time.Time
		for time.Now().Before(deadline) {
			c, cancel := context.WithTimeout(ctx, time.Second)
			err := s.Save(c, sqlsession.NewToken(), []byte("probe"), time.Time{})
			cancel()
			if err == nil {
				resumed = time.Now()
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if resumed.IsZero() {
			stop()
			t.Fatalf("writes did not resume within 20s of the promotion")
		}
		time.Sleep(3 * time.Second)
		res := stop()

		down := res.window(res.since(crashed), res.since(promoting), nil)
		t.Logf("%d saves committed; while no primary: %d calls, %d errors; first: %v",
			len(res.committed), down.calls, down.errs, down.firstErr)
		t.Logf("writes resumed %s after the crash, %s after the promote command was sent (it took %s)",
			ms(resumed.Sub(crashed)), ms(resumed.Sub(promoting)), ms(promoted.Sub(promoting)))
		if late := res.window(res.since(resumed)+2*time.Second, time.Hour, nil); late.calls == 0 || late.errs > 0 {
			t.Errorf("from 2s after writes resumed: %d calls, %d errors (first: %v), want calls and no errors",
				late.calls, late.errs, late.firstErr)
		}
		if len(res.misses) > 0 || len(res.wrong) > 0 {
			t.Errorf("Find of a saved session: %d misses and %d wrong data, want errors or the data", len(res.misses), len(res.wrong))
		}
		// Every session committed before or after the crash is on the new
		// primary.
		missing := 0
		for token, want := range res.committed {
			got, found, err := s.Find(ctx, token)
			if err != nil {
				t.Fatalf("Find() on the new primary = %v", err)
			}
			if !found || string(got) != string(want) {
				missing++
			}
		}
		if missing > 0 {
			t.Errorf("%d of %d committed sessions missing on the new primary", missing, len(res.committed))
		}
	})
}

// waitForTable waits until the standby has replayed the table's creation.
func waitForTable(t *testing.T, ctx context.Context, db *sql.DB, table string) {
	t.Helper()
	for {
		var n int
		err := db.QueryRowContext(ctx, "SELECT count(*) FROM information_schema.tables WHERE table_name = $1", table).Scan(&n)
		if err != nil {
			t.Fatalf("waiting for the table on the standby: %v", err)
		}
		if n > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
