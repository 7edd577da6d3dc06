package clustertest

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/internal/dbtest"
)

// slot is one session token and what the test expects the Store to hold
// for it. Its mutex orders the operations on the token; different tokens
// run concurrently.
type slot struct {
	mu    sync.Mutex
	token string
	live  bool
	data  []byte
}

// TestNoLostOrResurrected runs 64 goroutines that save, touch, expire,
// delete and sweep 48 overlapping tokens while background cleanup runs
// every few milliseconds. Operations on one token are ordered by its mutex,
// so the expected state is always defined: after each operation, and at the
// end, a deleted or expired session is never found again (not resurrected)
// and a live one holds the last data written (not lost). It needs no
// cluster: it runs on every test database.
func TestNoLostOrResurrected(t *testing.T) {
	dbtest.Each(t, dbtest.Servers, func(t *testing.T, tg dbtest.Target, db *sql.DB, schema string) {
		// The table first, then the Store that sweeps it.
		table := dbtest.Store(t, db, tg.Dialect, schema, sqlsession.Options{}).Options().Table
		s := sweepingStore(t, db, tg.Dialect, sqlsession.Options{Table: table, Schema: schema})
		rows := func(ctx context.Context) (int, error) {
			var n int
			err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+dbtest.QuotedTable(tg.Dialect, schema, table)).Scan(&n)
			return n, err
		}
		noLostOrResurrected(t, []*sqlsession.Store{s}, rows, false)
	})
}

// sweepingStore returns a Store on db that sweeps every few milliseconds
// and after every 50 operations, in small batches, counting the errors it
// logs. It is closed when t ends.
func sweepingStore(t *testing.T, db *sql.DB, d sqlsession.Dialect, opts sqlsession.Options) *sqlsession.Store {
	t.Helper()
	logs := &errorLog{}
	opts.CleanupInterval, opts.CleanupEvery, opts.CleanupBatchSize = 5*time.Millisecond, 50, 3
	// Tombstones of deleted tokens go with the next sweep, so that the
	// last one leaves exactly the live rows.
	opts.DeleteGrace = time.Millisecond
	opts.Logger = slog.New(logs)
	s, err := sqlsession.New(db, d, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		if n := logs.n.Load(); n > 0 {
			t.Logf("background cleanup logged %d errors; first: %s", n, logs.first())
		}
	})
	return s
}

// noLostOrResurrected runs the workload on stores (all on one table; each
// operation picks one at random) and checks the outcome. rows counts the
// table's rows, expired ones included.
//
// With tolerant set, a mismatch is counted and logged instead of failing the
// test, and the count returned: for setups that are known to break the
// guarantee, to measure by how much.
func noLostOrResurrected(t *testing.T, stores []*sqlsession.Store, rows func(context.Context) (int, error), tolerant bool) (mismatches int) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	const tokens, workers, perWorker = 48, 64, 40
	slots := make([]*slot, tokens)
	for i := range slots {
		slots[i] = &slot{token: sqlsession.NewToken()}
	}
	ops := map[string]int{}
	var opsMu sync.Mutex
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			counts := map[string]int{}
			defer func() {
				opsMu.Lock()
				for k, v := range counts {
					ops[k] += v
				}
				opsMu.Unlock()
			}()
			for i := range perWorker {
				s := stores[rng.IntN(len(stores))]
				if rng.IntN(10) == 0 {
					// A foreground sweep, beside the background ones.
					counts["delete expired"]++
					if _, err := s.DeleteExpired(ctx); sqlsession.Retryable(err) {
						counts["gave up on a conflict"]++
					} else if err != nil {
						t.Errorf("DeleteExpired() = %v", err)
						return
					}
					continue
				}
				sl := slots[rng.IntN(tokens)]
				if err := step(ctx, s, sl, rng, fmt.Appendf(nil, "w%d-%d", w, i), counts, tolerant); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d operations: %v", workers*perWorker, ops)
	for k, v := range ops {
		if strings.HasPrefix(k, "lost") || strings.HasPrefix(k, "resurrected") || strings.HasPrefix(k, "wrong") {
			mismatches += v
		}
	}
	if mismatches > 0 {
		return mismatches
	}

	live := 0
	for _, sl := range slots {
		for _, s := range stores {
			if err := check(ctx, s, sl, "at the end"); err != nil {
				t.Error(err)
			}
		}
		if sl.live {
			live++
		}
	}
	// The end state: a wrong count is a mismatch like the others (logged
	// and counted when tolerant), an error always fails.
	wrong := func(err error, format string, args ...any) {
		if err != nil || !tolerant {
			t.Errorf(format, args...)
			return
		}
		t.Logf(format, args...)
		mismatches++
	}
	if n, err := stores[0].Count(ctx); err != nil || n != int64(live) {
		wrong(err, "Count() = %d, %v, want %d", n, err, live)
	}
	// A last sweep leaves exactly the live rows in the table.
	if _, err := stores[0].DeleteExpired(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := rows(ctx); err != nil || n != live {
		wrong(err, "%d rows (%v) in the table after a sweep, want the %d live sessions", n, err, live)
	}
	return mismatches
}

// step runs one random operation on the slot's token, updates what the
// slot expects, and checks the Store against it, all under the slot's
// mutex.
func step(ctx context.Context, s *sqlsession.Store, sl *slot, rng *rand.Rand, data []byte, counts map[string]int, tolerant bool) error {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	now := time.Now()
	var op string
	var err error
	switch rng.IntN(6) {
	case 0, 1:
		op = "save"
		if err = s.Save(ctx, sl.token, data, now.Add(time.Hour)); err == nil {
			sl.live, sl.data = true, data
		}
	case 2:
		op = "save expired"
		if err = s.Save(ctx, sl.token, data, now.Add(-time.Minute)); err == nil {
			sl.live, sl.data = false, nil
		}
	case 3:
		op = "touch" // never resurrects; keeps a live one live
		err = s.Touch(ctx, sl.token, now.Add(2*time.Hour))
	case 4:
		op = "touch into the past" // expires a live one
		if err = s.Touch(ctx, sl.token, now.Add(-time.Minute)); err == nil {
			sl.live, sl.data = false, nil
		}
	case 5:
		op = "delete"
		if err = s.Delete(ctx, sl.token); err == nil {
			sl.live, sl.data = false, nil
			// A deleted token stays deleted (the kit's DeletedStaysDeleted
			// checks that): the slot goes on with a new one, as a browser
			// gets a new session after a logout.
			sl.token = sqlsession.NewToken()
		}
	}
	counts[op]++
	if sqlsession.Retryable(err) {
		// A deadlock that outlasted the retries: the statement was rolled
		// back, so the expected state stands.
		counts["gave up on a conflict"]++
	} else if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	err = check(ctx, s, sl, "after "+op)
	if m := (*mismatch)(nil); tolerant && errors.As(err, &m) {
		// Count it, and expect what is there from now on.
		counts[m.kind+" (after "+op+")"]++
		sl.live, sl.data = m.found, m.got
		return nil
	}
	return err
}

// mismatch is a Find result that differs from what a slot expects.
type mismatch struct {
	kind, msg string
	found     bool
	got       []byte
}

func (m *mismatch) Error() string { return m.msg }

// check compares the Store with what the slot expects. A difference is a
// *mismatch.
func check(ctx context.Context, s *sqlsession.Store, sl *slot, when string) error {
	got, found, err := s.Find(ctx, sl.token)
	m := &mismatch{found: found, got: got}
	switch {
	case err != nil:
		return fmt.Errorf("Find() %s = %w", when, err)
	case sl.live && !found:
		m.kind, m.msg = "lost", fmt.Sprintf("Find() %s: session lost, want %q", when, sl.data)
	case !sl.live && found:
		m.kind, m.msg = "resurrected", fmt.Sprintf("Find() %s = %q: a deleted or expired session came back", when, got)
	case sl.live && !bytes.Equal(got, sl.data):
		m.kind, m.msg = "wrong data", fmt.Sprintf("Find() %s = %q, want the last data written, %q", when, got, sl.data)
	default:
		return nil
	}
	return m
}
