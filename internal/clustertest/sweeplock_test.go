package clustertest

import (
	"context"
	"database/sql"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/internal/dbtest"
	"github.com/sqlsession/sqlsession/internal/testenv"
)

// stuckSweeps makes every cleanup batch hang until its ctx ends, like a
// sweep of a huge backlog that outlives Options.CleanupTimeout.
type stuckSweeps struct {
	sqlsession.Backend
	ended *atomic.Int64
}

// hang waits for ctx to end, as a batch of a huge backlog would.
func (b stuckSweeps) hang(ctx context.Context) error {
	<-ctx.Done()
	time.Sleep(50 * time.Millisecond)
	b.ended.Add(1)
	return ctx.Err()
}

func (b stuckSweeps) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	if !dbtest.IsSweepBatch(q) {
		return b.Backend.Exec(ctx, q, args...)
	}
	return 0, b.hang(ctx)
}

func (b stuckSweeps) QueryRow(ctx context.Context, q string, args ...any) sqlsession.Row {
	if !dbtest.IsSweepBatch(q) {
		return b.Backend.QueryRow(ctx, q, args...)
	}
	return errRow{b.hang(ctx)}
}

// errRow is a Row whose Scan fails with err.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

func (b stuckSweeps) Pin(ctx context.Context) (sqlsession.Backend, func(), error) {
	return b.Backend.(sqlsession.Pinner).Pin(ctx)
}

// TestSweepLockAfterTimeout lets a sweep run out of its CleanupTimeout (as a
// sweep of a large backlog would), then closes its Store: another instance,
// on a pool of its own, must be able to sweep afterwards. A sweep lock left
// behind on an idle pooled connection would stop every other instance from
// sweeping until that connection closes.
func TestSweepLockAfterTimeout(t *testing.T) {
	envs := map[string]struct{ driver, env string }{
		"postgres-pgx": {"pgx", testenv.PostgresDSN},
		"mysql":        {"mysql", testenv.MySQLDSN},
	}
	var targets []dbtest.Target
	for _, tg := range dbtest.Servers {
		if _, ok := envs[tg.Name]; ok {
			targets = append(targets, tg)
		}
	}
	dbtest.Each(t, targets, func(t *testing.T, tg dbtest.Target, db *sql.DB, schema string) {
		table := dbtest.Store(t, db, tg.Dialect, schema, sqlsession.Options{}).Options().Table
		ctx := t.Context()
		filler, err := sqlsession.New(db, tg.Dialect, sqlsession.Options{Table: table, Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		defer filler.Close()
		for range 50 {
			if err := filler.Save(ctx, sqlsession.NewToken(), []byte("x"), time.Now().Add(-time.Minute)); err != nil {
				t.Fatal(err)
			}
		}

		var ended atomic.Int64
		logs := &errorLog{}
		a, err := sqlsession.NewWithBackend(stuckSweeps{sqlsession.SQLBackend(db), &ended}, tg.Dialect, sqlsession.Options{
			Table: table, Schema: schema, CleanupInterval: 10 * time.Millisecond,
			CleanupTimeout: 200 * time.Millisecond, Logger: slog.New(logs),
		})
		if err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); ended.Load() == 0; {
			if time.Now().After(deadline) {
				t.Fatal("no sweep ran out of its time in 10s")
			}
			time.Sleep(10 * time.Millisecond)
		}
		a.Close()
		t.Logf("instance A: %d sweeps timed out; %d errors logged: %s", ended.Load(), logs.n.Load(), logs.all())

		// Instance B, with a pool of its own, sweeps the backlog.
		e := envs[tg.Name]
		other := testenv.Open(t, e.driver, e.env)
		b, err := sqlsession.New(other, tg.Dialect, sqlsession.Options{
			Table: table, Schema: schema, CleanupInterval: 10 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		q := "SELECT COUNT(*) FROM " + dbtest.QuotedTable(tg.Dialect, schema, table)
		for deadline := time.Now().Add(5 * time.Second); ; {
			var left int
			if err := other.QueryRowContext(ctx, q).Scan(&left); err != nil {
				t.Fatal(err)
			}
			if left == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("instance B swept nothing in 5s (%d expired rows left): instance A's sweep lock outlived its sweep", left)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
