package dbtest

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/internal/testenv"
)

// batchCounter counts the batched reads a Store sends, and the sessions
// they ask for.
type batchCounter struct {
	sqlsession.Backend
	batches atomic.Int64
}

func (c *batchCounter) Query(ctx context.Context, query string, args ...any) (sqlsession.Rows, error) {
	if strings.Contains(query, " IN (") {
		c.batches.Add(1)
	}
	return c.Backend.Query(ctx, query, args...)
}

// TestBatchReads checks that concurrent reads with Options.BatchReads
// are batched on every database: the conformance kit (BatchReads) checks
// what they answer.
func TestBatchReads(t *testing.T) {
	Each(t, Servers, func(t *testing.T, tg Target, db *sql.DB, schema string) {
		ctx := t.Context()
		counter := &batchCounter{Backend: sqlsession.SQLBackend(db)}
		opts := sqlsession.Options{Table: testenv.Name("t"), Schema: schema, BatchReads: true}
		t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + QuotedTable(tg.Dialect, schema, opts.Table)) })
		s, err := sqlsession.NewWithBackend(counter, tg.Dialect, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.CreateTable(ctx); err != nil {
			t.Fatal(err)
		}
		tok := sqlsession.NewToken()
		if err := s.Save(ctx, tok, []byte("v"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		const goroutines, reads = 64, 40
		var wg sync.WaitGroup
		for range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range reads {
					if data, found, err := s.Find(ctx, tok); string(data) != "v" || !found || err != nil {
						t.Errorf("Find() = %q, %v, %v", data, found, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		t.Logf("%d reads, %d batched statements", goroutines*reads, counter.batches.Load())
		if counter.batches.Load() == 0 {
			t.Error("no read was batched")
		}
	})
}
