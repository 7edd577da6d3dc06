package dbtest

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/internal/testenv"
)

// batchCounter counts the batched reads a Store sends (keys IN (...), or
// on PostgreSQL SELECTs joined by UNION ALL), and keeps the last one.
type batchCounter struct {
	sqlsession.Backend
	batches atomic.Int64
	mu      sync.Mutex
	last    string
	args    []any
}

func (c *batchCounter) Query(ctx context.Context, query string, args ...any) (sqlsession.Rows, error) {
	if strings.Contains(query, " IN (") || strings.Contains(query, " UNION ALL ") {
		c.batches.Add(1)
		c.mu.Lock()
		c.last, c.args = query, args
		c.mu.Unlock()
	}
	return c.Backend.Query(ctx, query, args...)
}

// batchingStore opens a Store with BatchReads on a table of its own
// through a batchCounter, and returns them with the table's quoted name.
// The test's cleanup closes the Store and drops the table.
func batchingStore(t *testing.T, tg Target, db *sql.DB, schema string) (*sqlsession.Store, *batchCounter, string) {
	t.Helper()
	counter := &batchCounter{Backend: sqlsession.SQLBackend(db)}
	opts := sqlsession.Options{Table: testenv.Name("t"), Schema: schema, BatchReads: true}
	table := QuotedTable(tg.Dialect, schema, opts.Table)
	t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + table) })
	s, err := sqlsession.NewWithBackend(counter, tg.Dialect, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.CreateTable(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s, counter, table
}

// TestBatchReads checks that concurrent reads with Options.BatchReads
// are batched on every database: the conformance kit (BatchReads) checks
// what they answer.
func TestBatchReads(t *testing.T) {
	Each(t, Servers, func(t *testing.T, tg Target, db *sql.DB, schema string) {
		ctx := t.Context()
		s, counter, _ := batchingStore(t, tg, db, schema)
		// A session per goroutine: a batch of reads of one key is the
		// single-key statement.
		const goroutines, reads = 64, 40
		toks := make([]string, goroutines)
		for i := range toks {
			toks[i] = sqlsession.NewToken()
			if err := s.Save(ctx, toks[i], []byte(toks[i][:8]), time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		for _, tok := range toks {
			wg.Go(func() {
				for range reads {
					if data, found, err := s.Find(ctx, tok); string(data) != tok[:8] || !found || err != nil {
						t.Errorf("Find() = %q, %v, %v", data, found, err)
						return
					}
				}
			})
		}
		wg.Wait()
		t.Logf("%d reads, %d batched statements", goroutines*reads, counter.batches.Load())
		if counter.batches.Load() == 0 {
			t.Error("no read was batched")
		}
	})
}

// TestBatchReadPlan checks that PostgreSQL answers a batched read with
// probes of the primary key even in the plan it keeps for a prepared
// statement, on a table small enough that a key IN (...) list gets a scan
// of the whole table (or of its expiry index) instead: the reason the
// batch is SELECTs joined by UNION ALL there.
func TestBatchReadPlan(t *testing.T) {
	Each(t, []Target{pgx}, func(t *testing.T, tg Target, db *sql.DB, schema string) {
		ctx := t.Context()
		s, counter, table := batchingStore(t, tg, db, schema)
		exp := time.Now().Add(time.Hour)
		toks := make([]string, 1000)
		for i := range toks {
			toks[i] = sqlsession.NewToken()
			if err := s.Save(ctx, toks[i], []byte("v"), exp); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.ExecContext(ctx, "ANALYZE "+table); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := range 64 {
			wg.Go(func() {
				for j := range 20 {
					if _, _, err := s.Find(ctx, toks[(i*20+j)%len(toks)]); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		counter.mu.Lock()
		query, args := counter.last, counter.args
		counter.mu.Unlock()
		if query == "" {
			t.Fatal("no read was batched")
		}
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "SET plan_cache_mode = force_generic_plan"); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.ExecContext(ctx, "PREPARE batch_read AS "+query); err != nil {
			t.Fatal(err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "DEALLOCATE batch_read")
		lits := make([]string, len(args)) // EXECUTE takes no bind parameters
		for i, a := range args {
			switch a := a.(type) {
			case string:
				lits[i] = "'" + strings.ReplaceAll(a, "'", "''") + "'"
			case int64:
				lits[i] = fmt.Sprint(a)
			default:
				t.Fatalf("argument %d of the batched read: %T", i+1, a)
			}
		}
		rows, err := conn.QueryContext(ctx, "EXPLAIN EXECUTE batch_read("+strings.Join(lits, ", ")+")")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		text := strings.Join(plan, "\n")
		if strings.Contains(text, "Seq Scan") || !strings.Contains(text, "_pkey") {
			t.Errorf("the generic plan of a batched read does not probe the primary key:\n%s", text)
		}
	})
}
