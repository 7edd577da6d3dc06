package gorillae2e

import (
	"database/sql"
	"fmt"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/gorillastore"
	"github.com/sqlsession/sqlsession/internal/dbtest"
	"github.com/sqlsession/sqlsession/internal/testenv"
)

// newCountingEnv is newEnv with a Store whose writes are counted.
func newCountingEnv(t *testing.T, tg dbtest.Target, db *sql.DB, schema string, fw framework, opts sqlsession.Options) (*env, *atomic.Int64) {
	t.Helper()
	writes := new(atomic.Int64)
	opts.Table, opts.Schema = testenv.Name("w"), schema
	sqlStore, err := sqlsession.NewWithBackend(dbtest.CountWrites(sqlsession.SQLBackend(db), writes), tg.Dialect, opts)
	if err != nil {
		t.Fatalf("sqlsession.NewWithBackend() = %v", err)
	}
	table := dbtest.QuotedTable(tg.Dialect, schema, opts.Table)
	t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + table) })
	t.Cleanup(func() { sqlStore.Close() })
	if err := sqlStore.CreateTable(t.Context()); err != nil {
		t.Fatalf("CreateTable() = %v", err)
	}
	st := gorillastore.New(sqlStore, hashKey)
	st.MaxAge(3600)
	srv := httptest.NewTLSServer(fw.handler(st))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	e := &env{t: t, db: db, sql: sqlStore, st: st, srv: srv, url: u, table: table}
	return e.browser(), writes
}

// readOnlyRequests is how many read-only requests TestWritesPerRequest
// makes, and maxWritesPerRequest the writes per request it allows.
const (
	readOnlyRequests    = 100
	maxWritesPerRequest = 0.02
)

// TestWritesPerRequest logs in, then reads and saves the session on every
// request, as gorilla applications do: the database sees at most 0.02
// writes per request. A change still writes once, and an expiry near its end
// is moved by one write.
func TestWritesPerRequest(t *testing.T) {
	dbtest.Each(t, dbtest.Servers, func(t *testing.T, tg dbtest.Target, db *sql.DB, schema string) {
		for _, fw := range frameworks {
			t.Run(fw.name, func(t *testing.T) {
				t.Parallel()
				e, writes := newCountingEnv(t, tg, db, schema, fw, sqlsession.Options{})
				e.want("/login", "ok")

				before := writes.Load()
				for range readOnlyRequests {
					e.want("/read", "alice")
				}
				n := writes.Load() - before
				perRequest := float64(n) / readOnlyRequests
				t.Logf("%s on %s: %d writes in %d read-only requests: %.3f per request", fw.name, tg.Name, n, readOnlyRequests, perRequest)
				if perRequest > maxWritesPerRequest {
					t.Errorf("%d read-only requests wrote %d times: %.3f per request, want at most %v", readOnlyRequests, n, perRequest, maxWritesPerRequest)
				}

				// A change writes once.
				before = writes.Load()
				e.want("/incr", "2")
				if n := writes.Load() - before; n != 1 {
					t.Errorf("GET /incr wrote %d times, want 1", n)
				}
				e.want("/whoami", "alice [admin] n=2 cart=<nil>")

				if fw.name == "gin" {
					// gin-contrib/sessions saves only sessions that were
					// set: its read-only requests never reach the Store.
					return
				}

				// An expiry near its end is moved, once.
				soon := time.Now().Add(time.Minute).UnixMilli()
				if _, err := db.Exec(fmt.Sprintf("UPDATE %s SET expires_at = %d", e.table, soon)); err != nil {
					t.Fatalf("moving the expiry: %v", err)
				}
				before = writes.Load()
				for range 5 {
					e.want("/read", "alice")
				}
				if n := writes.Load() - before; n != 1 {
					t.Errorf("5 reads of a session about to expire wrote %d times, want 1", n)
				}
				var exp int64
				if err := db.QueryRow("SELECT expires_at FROM " + e.table).Scan(&exp); err != nil {
					t.Fatal(err)
				}
				if left := time.Until(time.UnixMilli(exp)); left < 55*time.Minute || left > time.Hour {
					t.Errorf("expiry after the touch is %v away, want about MaxAge (1h)", left)
				}
				e.want("/whoami", "alice [admin] n=2 cart=<nil>")
			})
		}
	})
}

// TestWritesCounted checks the counter against a Store that writes on every
// Save (TouchFraction -1), as gorilla's own stores do: one write a request.
func TestWritesCounted(t *testing.T) {
	dbtest.Each(t, dbtest.Servers, func(t *testing.T, tg dbtest.Target, db *sql.DB, schema string) {
		e, writes := newCountingEnv(t, tg, db, schema, frameworks[0], sqlsession.Options{})
		e.st.TouchFraction = -1
		e.want("/login", "ok")
		before := writes.Load()
		for range 10 {
			e.want("/read", "alice")
		}
		if n := writes.Load() - before; n != 10 {
			t.Errorf("10 reads with TouchFraction -1 wrote %d times, want 10", n)
		}
	})
}
