package dbtest

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/internal/testenv"
	"github.com/sqlsession/sqlsession/sqlsessiontest"
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

// TestBatchReads reads sessions of every kind (live, deleted, expired,
// never saved, sealed under encryption) from many goroutines at once with
// Options.BatchReads, so that most reads are answered in batches, and
// checks every answer against what the session is.
func TestBatchReads(t *testing.T) {
	Each(t, Servers, func(t *testing.T, tg Target, db *sql.DB, schema string) {
		ctx := t.Context()
		counter := &batchCounter{Backend: sqlsession.SQLBackend(db)}
		opts := sqlsession.Options{Table: testenv.Name("t"), Schema: schema, BatchReads: true, Keys: [][]byte{sqlsession.NewKey()}}
		t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + QuotedTable(tg.Dialect, schema, opts.Table)) })
		s, err := sqlsession.NewWithBackend(counter, tg.Dialect, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.CreateTable(ctx); err != nil {
			t.Fatal(err)
		}
		type session struct {
			token string
			data  []byte // nil: a miss
		}
		var sessions []session
		for i := range 60 {
			tok := sqlsession.NewToken()
			data := []byte(fmt.Sprintf("session %d", i))
			exp := time.Now().Add(time.Hour)
			switch i % 4 {
			case 1: // deleted: a tombstone
				if err := s.Save(ctx, tok, data, exp); err != nil {
					t.Fatal(err)
				}
				if err := s.Delete(ctx, tok); err != nil {
					t.Fatal(err)
				}
				data = nil
			case 2: // never saved
				data = nil
			case 3: // expired by the time it is read
				exp = time.Now().Add(200 * time.Millisecond)
				if err := s.Save(ctx, tok, data, exp); err != nil {
					t.Fatal(err)
				}
				data = nil
			default:
				if err := s.Save(ctx, tok, data, exp); err != nil {
					t.Fatal(err)
				}
			}
			sessions = append(sessions, session{tok, data})
		}
		time.Sleep(300 * time.Millisecond)

		const goroutines, reads = 64, 40
		var wg sync.WaitGroup
		errs := make(chan error, goroutines)
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range reads {
					se := sessions[rand.IntN(len(sessions))]
					var data []byte
					var found bool
					var err error
					if (g+i)%2 == 0 {
						data, found, err = s.Find(ctx, se.token)
					} else {
						var e sqlsession.Entry
						e, found, err = s.Lookup(ctx, se.token)
						data = e.Data
						if found && e.Version != 0 {
							err = fmt.Errorf("version %d, want 0", e.Version)
						}
					}
					if err != nil || found != (se.data != nil) || !bytes.Equal(data, se.data) {
						errs <- fmt.Errorf("read of %q = %q, %v, %v; want %q, %v", se.data, data, found, err, se.data, se.data != nil)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		t.Logf("%d reads, %d batched statements", goroutines*reads, counter.batches.Load())
		if counter.batches.Load() == 0 {
			t.Error("no read was batched")
		}
	})
}

// TestBatchReadsConformance runs the conformance kit with BatchReads on:
// the Store keeps every promise it keeps without it.
func TestBatchReadsConformance(t *testing.T) {
	Each(t, Servers, func(t *testing.T, tg Target, db *sql.DB, schema string) {
		newStore := Factory(db, tg.Dialect, schema)
		sqlsessiontest.Run(t, func(t *testing.T, opts sqlsession.Options) *sqlsession.Store {
			opts.BatchReads = true
			return newStore(t, opts)
		})
	})
}
