package dbtest

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
)

// sweepCounter wraps a Backend and measures how many cleanup batches run at
// once, across every Store that shares it. Each batch is slowed down so that
// unsynchronized sweeps would surely overlap.
type sweepCounter struct {
	sqlsession.Backend
	inFlight, max, batches *atomic.Int64
}

// batch counts a batch in flight and slows it down.
func (c sweepCounter) batch() (done func()) {
	n := c.inFlight.Add(1)
	for {
		m := c.max.Load()
		if n <= m || c.max.CompareAndSwap(m, n) {
			break
		}
	}
	c.batches.Add(1)
	time.Sleep(3 * time.Millisecond)
	return func() { c.inFlight.Add(-1) }
}

func (c sweepCounter) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	if IsSweepBatch(q) {
		defer c.batch()()
	}
	return c.Backend.Exec(ctx, q, args...)
}

func (c sweepCounter) QueryRow(ctx context.Context, q string, args ...any) sqlsession.Row {
	if IsSweepBatch(q) {
		defer c.batch()()
	}
	return c.Backend.QueryRow(ctx, q, args...)
}

// pinningCounter also pins connections, so the Stores can take the lock.
type pinningCounter struct{ sweepCounter }

func (c pinningCounter) Pin(ctx context.Context) (sqlsession.Backend, func(), error) {
	b, release, err := c.Backend.(sqlsession.Pinner).Pin(ctx)
	if err != nil {
		return nil, nil, err
	}
	return sweepCounter{b, c.inFlight, c.max, c.batches}, release, nil
}

// TestOneSweeperAtATime runs four instances with aggressive background
// cleanup on one table. With the dialect's named lock, batches never
// overlap; the control run without it shows that they otherwise would.
func TestOneSweeperAtATime(t *testing.T) {
	Each(t, []Target{pgx, mysql}, func(t *testing.T, tg Target, db *sql.DB, schema string) {
		for _, locked := range []bool{true, false} {
			name := map[bool]string{true: "locked", false: "control without lock"}[locked]
			t.Run(name, func(t *testing.T) {
				first := Store(t, db, tg.Dialect, schema, sqlsession.Options{})
				ctx := t.Context()
				for i := 0; i < 600; i++ {
					if err := first.Save(ctx, sqlsession.NewToken(), []byte("x"), time.Now().Add(-time.Minute)); err != nil {
						t.Fatal(err)
					}
				}
				var inFlight, max, batches atomic.Int64
				base := sweepCounter{sqlsession.SQLBackend(db), &inFlight, &max, &batches}
				var b sqlsession.Backend = base
				if locked {
					b = pinningCounter{base}
				}
				var stores []*sqlsession.Store
				for i := 0; i < 4; i++ {
					s, err := sqlsession.NewWithBackend(b, tg.Dialect, sqlsession.Options{
						Table: first.Options().Table, Schema: schema,
						CleanupInterval: 20 * time.Millisecond, CleanupBatchSize: 5,
					})
					if err != nil {
						t.Fatal(err)
					}
					stores = append(stores, s)
				}
				// Wait until the sweepers have removed every row.
				deadline := time.Now().Add(60 * time.Second)
				for {
					var left int
					if err := db.QueryRow("SELECT COUNT(*) FROM " + QuotedTable(tg.Dialect, schema, first.Options().Table)).Scan(&left); err != nil {
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
				var wg sync.WaitGroup
				for _, s := range stores {
					wg.Add(1)
					go func() { defer wg.Done(); s.Close() }()
				}
				wg.Wait()
				t.Logf("%d batches, at most %d at once", batches.Load(), max.Load())
				if locked && max.Load() != 1 {
					t.Fatalf("with the sweep lock, %d batches ran at once, want 1", max.Load())
				}
				if !locked && max.Load() < 2 {
					t.Fatalf("without the lock, batches never overlapped: the test cannot tell the lock works")
				}
			})
		}
	})
}
