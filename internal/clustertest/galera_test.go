package clustertest

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/internal/dbtest"
	"github.com/sqlsession/sqlsession/internal/testenv"
)

// galera is a three-node cluster as the tests see it: per node, a pool with
// default settings and one with causal reads (wsrep_sync_wait=1, set as a
// DSN parameter: go-sql-driver/mysql sends unknown parameters as SET
// statements).
type galera struct {
	plain, causal []*sql.DB
}

func openGalera(t *testing.T) galera {
	t.Helper()
	dsns := strings.Split(Env(t, GaleraDSNs), ",")
	if len(dsns) != 3 {
		t.Fatalf("%s holds %d DSNs, want 3", GaleraDSNs, len(dsns))
	}
	var g galera
	for _, dsn := range dsns {
		g.plain = append(g.plain, Open(t, "mysql", dsn, GaleraDSNs))
		g.causal = append(g.causal, Open(t, "mysql", WithParam(dsn, "wsrep_sync_wait=1"), GaleraDSNs))
	}
	return g
}

// reopen returns a pool per node with the DSN parameter param. The pools
// are closed when t ends.
func (g galera) reopen(t *testing.T, param string) []*sql.DB {
	t.Helper()
	var dbs []*sql.DB
	for _, dsn := range strings.Split(os.Getenv(GaleraDSNs), ",") {
		dbs = append(dbs, Open(t, "mysql", WithParam(dsn, param), GaleraDSNs))
	}
	return dbs
}

// stores returns a Store on each pool, sharing one new table that is
// created through the first and dropped when t ends.
func (g galera) stores(t *testing.T, dbs []*sql.DB, opts sqlsession.Options) []*sqlsession.Store {
	t.Helper()
	if opts.Table == "" {
		opts.Table = testenv.Name("galera")
		t.Cleanup(func() { g.causal[0].Exec("DROP TABLE IF EXISTS " + opts.Table) })
	}
	var ss []*sqlsession.Store
	for _, db := range dbs {
		s, err := sqlsession.New(db, sqlsession.MySQL, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		ss = append(ss, s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := ss[0].CreateTable(ctx); err != nil {
		t.Fatalf("CreateTable() = %v", err)
	}
	// Other nodes apply the DDL a moment after the node that ran it
	// returns: wait until every node has the table.
	for i, s := range ss {
		for {
			err := s.CheckTable(ctx)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("node %d: CheckTable() = %v", i+1, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return ss
}

// TestClusterGalera runs Stores on the three nodes of a Galera cluster. Its
// subtests run in order; the last one kills a node.
func TestClusterGalera(t *testing.T) {
	g := openGalera(t)
	failures := map[int]int64{} // by Options.Retries: saves that failed

	t.Run("reads through other nodes", func(t *testing.T) {
		// Sessions saved through node 1 and read at once through nodes 2
		// and 3, with default settings and with wsrep_sync_wait=1.
		for _, mode := range []string{"default", "wsrep_sync_wait=1"} {
			t.Run(mode, func(t *testing.T) {
				readers := g.plain
				if mode != "default" {
					readers = g.causal
				}
				ss := g.stores(t, []*sql.DB{g.plain[0], readers[1], readers[2]}, sqlsession.Options{})
				ctx := t.Context()
				const workers, perWorker = 4, 250
				var loginMissed, logoutFound atomic.Int64
				var wg sync.WaitGroup
				for w := range workers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := range perWorker {
							r := ss[1+(w+i)%2]
							token := sqlsession.NewToken()
							if err := ss[0].Save(ctx, token, []byte("user=1"), time.Now().Add(time.Hour)); err != nil {
								t.Error(err)
								return
							}
							_, found, err := r.Find(ctx, token)
							if err != nil {
								t.Error(err)
								return
							}
							if !found {
								loginMissed.Add(1)
							}
							if err := ss[0].Delete(ctx, token); err != nil {
								t.Error(err)
								return
							}
							if _, found, err = r.Find(ctx, token); err != nil {
								t.Error(err)
								return
							}
							if found {
								logoutFound.Add(1)
							}
						}
					}()
				}
				wg.Wait()
				t.Logf("%s: saved through node 1, read at once through nodes 2 and 3: %d of %d logins read as logged out, %d of %d logouts read as still logged in",
					mode, loginMissed.Load(), workers*perWorker, logoutFound.Load(), workers*perWorker)
				if mode != "default" && loginMissed.Load()+logoutFound.Load() > 0 {
					t.Errorf("with wsrep_sync_wait=1: %d stale reads, want 0", loginMissed.Load()+logoutFound.Load())
				}
			})
		}
	})

	t.Run("conflicting writes", func(t *testing.T) {
		// 12 goroutines, 4 per node, save 4 hot sessions 100 times each
		// (say, one user's tabs served by different app servers): Galera
		// certifies the writes at commit and fails the losers with 1213.
		for _, retries := range []int{-1, 0} {
			name := map[int]string{-1: "Retries=-1 (off)", 0: fmt.Sprintf("Retries=default (%d)", sqlsession.DefaultRetries)}[retries]
			t.Run(name, func(t *testing.T) {
				var mu sync.Mutex
				conflicts := map[error]bool{}
				retryable := func(err error) bool {
					ok := sqlsession.Retryable(err)
					if ok {
						mu.Lock()
						conflicts[err] = true
						mu.Unlock()
					}
					return ok
				}
				ss := g.stores(t, g.causal, sqlsession.Options{Retries: retries, Retryable: retryable})
				ctx := t.Context()
				hot := make([]string, 4)
				for i := range hot {
					hot[i] = sqlsession.NewToken()
				}
				const workers, perWorker = 12, 100
				var failed, failed1213 atomic.Int64
				var firstErr atomic.Value
				began := time.Now()
				var wg sync.WaitGroup
				for w := range workers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						rng := rand.New(rand.NewPCG(uint64(w), 1))
						for i := range perWorker {
							err := ss[w%3].Save(ctx, hot[rng.IntN(len(hot))], fmt.Appendf(nil, "w%d-%d", w, i), time.Now().Add(time.Hour))
							if err != nil {
								failed.Add(1)
								firstErr.CompareAndSwap(nil, err.Error())
								if sqlsession.Retryable(err) {
									failed1213.Add(1)
								}
							}
						}
					}()
				}
				wg.Wait()
				took := time.Since(began)
				mu.Lock()
				seen := len(conflicts)
				mu.Unlock()
				t.Logf("%s: %d saves in %s: %d failed (%d with a deadlock/certification error); %d conflicts seen by Retryable; first failure: %v",
					name, workers*perWorker, ms(took), failed.Load(), failed1213.Load(), seen, firstErr.Load())
				if failed.Load() != failed1213.Load() {
					t.Errorf("%d failures were not conflicts", failed.Load()-failed1213.Load())
				}
				failures[retries] = failed.Load()
				// Every node ends with the same data for each session.
				for _, tok := range hot {
					var want []byte
					for n, s := range ss {
						got, found, err := s.Find(ctx, tok)
						if err != nil || !found {
							t.Fatalf("Find(hot) on node %d = %v, %v", n+1, found, err)
						}
						if n == 0 {
							want = got
						} else if string(got) != string(want) {
							t.Errorf("node %d has %q, node 1 %q", n+1, got, want)
						}
					}
				}
			})
		}
	})

	t.Run("retries absorb conflicts", func(t *testing.T) {
		off, on := failures[-1], failures[0]
		if off == 0 {
			t.Skip("no conflicts without retries: nothing to compare")
		}
		if on >= off {
			t.Errorf("%d saves failed with the default retries, %d without: want fewer", on, off)
		}
	})

	t.Run("sweepers on different nodes", func(t *testing.T) {
		// GET_LOCK is local to a node on Galera: Stores on different nodes
		// do not see each other's sweep lock. Four Stores sweep 600
		// expired rows; the batches that run at once are counted, through
		// one node and through three.
		for _, spread := range []bool{false, true} {
			name := map[bool]string{false: "all through node 1", true: "through nodes 1, 2, 3, 1"}[spread]
			t.Run(name, func(t *testing.T) {
				table := g.stores(t, g.causal[:1], sqlsession.Options{})[0].Options().Table
				ctx := t.Context()
				filler, err := sqlsession.New(g.causal[0], sqlsession.MySQL, sqlsession.Options{Table: table})
				if err != nil {
					t.Fatal(err)
				}
				defer filler.Close()
				for i := 0; i < 600; i++ {
					if err := filler.Save(ctx, sqlsession.NewToken(), []byte("x"), time.Now().Add(-time.Minute)); err != nil {
						t.Fatal(err)
					}
				}
				c := &sweepCounter{}
				logs := &errorLog{}
				var stores []*sqlsession.Store
				for i := range 4 {
					db := g.causal[0]
					if spread {
						db = g.causal[i%3]
					}
					s, err := sqlsession.NewWithBackend(pinning{sweepBackend{sqlsession.SQLBackend(db), c}}, sqlsession.MySQL, sqlsession.Options{
						Table: table, CleanupInterval: 20 * time.Millisecond, CleanupBatchSize: 5,
						Logger: slog.New(logs),
					})
					if err != nil {
						t.Fatal(err)
					}
					stores = append(stores, s)
				}
				deadline := time.Now().Add(60 * time.Second)
				for {
					var left int
					if err := g.causal[0].QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&left); err != nil {
						t.Fatal(err)
					}
					if left == 0 {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("%d expired rows left after 60s of background cleanup", left)
					}
					time.Sleep(20 * time.Millisecond)
				}
				for _, s := range stores {
					s.Close()
				}
				t.Logf("%s: %d batches, at most %d at once; %d conflicts in batches; %d errors logged (first: %s)",
					name, c.batches.Load(), c.max.Load(), c.conflicts.Load(), logs.n.Load(), logs.first())
				if !spread && c.max.Load() != 1 {
					t.Errorf("through one node, %d batches ran at once, want 1", c.max.Load())
				}
			})
		}
	})

	t.Run("no lost or resurrected sessions", func(t *testing.T) {
		// The workload of TestNoLostOrResurrected, each operation through
		// a random node. wsrep_sync_wait=1 makes reads wait for the
		// cluster, not writes: a Delete or Touch through a node that has
		// not yet applied a Save made through another finds no row, and
		// the session comes back. 7 also makes UPDATE, DELETE and INSERT
		// wait.
		for _, wait := range []string{"1", "7"} {
			t.Run("wsrep_sync_wait="+wait, func(t *testing.T) {
				dbs := g.causal
				if wait != "1" {
					dbs = g.reopen(t, "wsrep_sync_wait="+wait)
				}
				table := g.stores(t, dbs[:1], sqlsession.Options{})[0].Options().Table
				var ss []*sqlsession.Store
				for _, db := range dbs {
					ss = append(ss, sweepingStore(t, db, sqlsession.MySQL, sqlsession.Options{Table: table}))
				}
				rows := func(ctx context.Context) (int, error) {
					var n int
					err := dbs[0].QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n)
					return n, err
				}
				n := noLostOrResurrected(t, ss, rows, wait == "1")
				t.Logf("wsrep_sync_wait=%s: %d reads after a write differed from the last write", wait, n)
				if wait != "1" && n > 0 {
					t.Errorf("%d mismatches with wsrep_sync_wait=%s, want 0", n, wait)
				}
			})
		}
	})

	t.Run("node killed under load", func(t *testing.T) {
		// 24 goroutines on the three nodes; node 3 is killed (SIGKILL).
		// The Stores on nodes 1 and 2 keep serving, and every session
		// committed through any node, node 3 included, is still there.
		ss := g.stores(t, g.causal, sqlsession.Options{})
		stop := load{
			stores: ss, workers: 24, maxOps: 5000,
			pace: 5 * time.Millisecond, timeout: 2 * time.Second,
		}.run()
		time.Sleep(2 * time.Second)
		killed := time.Now()
		Control(t, "stop", "galera", "3", "--kill")
		// The survivors pause until the cluster has given up on node 3;
		// probe through node 1 until a write passes again.
		ctx := t.Context()
		var resumed time.Time
		for deadline := killed.Add(60 * time.Second); time.Now().Before(deadline); {
			c, cancel := context.WithTimeout(ctx, time.Second)
			err := ss[0].Save(c, sqlsession.NewToken(), []byte("probe"), time.Time{})
			cancel()
			if err == nil {
				resumed = time.Now()
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if resumed.IsZero() {
			stop()
			t.Fatalf("nodes 1 and 2 did not take writes within 60s of the kill")
		}
		time.Sleep(3 * time.Second)
		res := stop()

		survivors := func(w int) bool { return w%3 != 2 }
		before := res.window(0, res.since(killed), nil)
		pause := res.window(res.since(killed), res.since(resumed), survivors)
		after := res.window(res.since(resumed), time.Hour, survivors)
		late := res.window(res.since(resumed)+2*time.Second, time.Hour, survivors)
		dead := res.window(res.since(killed), time.Hour, func(w int) bool { return w%3 == 2 })
		t.Logf("before the kill: %d calls, %d errors; %d saves committed in all", before.calls, before.errs, len(res.committed))
		t.Logf("nodes 1 and 2 paused %s after the kill: %d calls, %d errors (first: %v), slowest %s",
			ms(resumed.Sub(killed)), pause.calls, pause.errs, pause.firstErr, ms(pause.maxTook))
		t.Logf("nodes 1 and 2 after they resumed: %d calls, %d errors (first: %v), slowest %s; from 2s after: %d calls, %d errors",
			after.calls, after.errs, after.firstErr, ms(after.maxTook), late.calls, late.errs)
		t.Logf("node 3 after the kill: %d calls, %d errors (first: %v)", dead.calls, dead.errs, dead.firstErr)
		if late.calls == 0 || late.errs > 0 {
			t.Errorf("nodes 1 and 2 from 2s after they resumed: %d calls, %d errors (first: %v), want calls and no errors",
				late.calls, late.errs, late.firstErr)
		}
		if len(res.misses) > 0 || len(res.wrong) > 0 {
			t.Errorf("Find of a saved session: %d misses and %d wrong data, want errors or the data", len(res.misses), len(res.wrong))
		}
		missing := map[int]int{}
		for token, want := range res.committed {
			for n := range 2 {
				got, found, err := ss[n].Find(ctx, token)
				if err != nil {
					t.Fatalf("Find() on node %d = %v", n+1, err)
				}
				if !found || string(got) != string(want) {
					missing[res.byStore[token]+1]++
				}
			}
		}
		if len(missing) > 0 {
			t.Errorf("committed sessions missing on nodes 1 and 2, by the node that saved them: %v", missing)
		}
	})
}

// sweepCounter measures how many cleanup batches run at once across Stores,
// slowing each down so that unsynchronized sweeps would overlap.
type sweepCounter struct {
	inFlight, max, batches, conflicts atomic.Int64
}

type sweepBackend struct {
	sqlsession.Backend
	c *sweepCounter
}

func (b sweepBackend) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	if !dbtest.IsSweepBatch(q) {
		return b.Backend.Exec(ctx, q, args...)
	}
	n := b.c.inFlight.Add(1)
	defer b.c.inFlight.Add(-1)
	for {
		m := b.c.max.Load()
		if n <= m || b.c.max.CompareAndSwap(m, n) {
			break
		}
	}
	b.c.batches.Add(1)
	time.Sleep(3 * time.Millisecond)
	rows, err := b.Backend.Exec(ctx, q, args...)
	if sqlsession.Retryable(err) {
		b.c.conflicts.Add(1)
	}
	return rows, err
}

// pinning lets the Stores take their sweep lock on a pinned connection.
type pinning struct{ sweepBackend }

func (p pinning) Pin(ctx context.Context) (sqlsession.Backend, func(), error) {
	b, release, err := p.Backend.(sqlsession.Pinner).Pin(ctx)
	if err != nil {
		return nil, nil, err
	}
	return sweepBackend{b, p.c}, release, nil
}

// errorLog is a slog.Handler that counts error records and keeps the first
// few.
type errorLog struct {
	n    atomic.Int64
	mu   sync.Mutex
	msgs []string
}

func (l *errorLog) Enabled(_ context.Context, level slog.Level) bool { return level >= slog.LevelError }
func (l *errorLog) WithAttrs([]slog.Attr) slog.Handler               { return l }
func (l *errorLog) WithGroup(string) slog.Handler                    { return l }
func (l *errorLog) Handle(_ context.Context, r slog.Record) error {
	l.n.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.msgs) < 5 {
		msg := r.Message
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "err" {
				msg += ": " + a.Value.String()
			}
			return true
		})
		l.msgs = append(l.msgs, msg)
	}
	return nil
}

// first returns the first message, or "none".
func (l *errorLog) first() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.msgs) == 0 {
		return "none"
	}
	return l.msgs[0]
}

// all returns the messages kept, joined.
func (l *errorLog) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.msgs, "; ")
}
