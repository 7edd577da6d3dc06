package scse2e_test

import (
	"database/sql"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/internal/dbtest"
	"github.com/sqlsession/sqlsession/internal/testenv"
	"github.com/sqlsession/sqlsession/scsstore"
)

// newCountingEnv is newEnv with a Store whose writes are counted. It also
// returns the quoted table name.
func newCountingEnv(t *testing.T, tg dbtest.Target, db *sql.DB, schema string, opts sqlsession.Options) (*env, *atomic.Int64, string) {
	t.Helper()
	writes := new(atomic.Int64)
	opts.Table, opts.Schema = testenv.Name("w"), schema
	s, err := sqlsession.NewWithBackend(dbtest.CountWrites(sqlsession.SQLBackend(db), writes), tg.Dialect, opts)
	if err != nil {
		t.Fatalf("sqlsession.NewWithBackend() = %v", err)
	}
	table := dbtest.QuotedTable(tg.Dialect, schema, opts.Table)
	t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + table) })
	t.Cleanup(func() { s.Close() })
	if err := s.CreateTable(testCtx(t)); err != nil {
		t.Fatalf("CreateTable() = %v", err)
	}
	return &env{tg: tg, db: db, schema: schema, s: s, st: scsstore.New(s)}, writes, table
}

// expiresIn returns how far away the expiry of the table's only row is.
func expiresIn(t *testing.T, db *sql.DB, table string) time.Duration {
	t.Helper()
	var exp int64
	if err := db.QueryRow("SELECT expires_at FROM " + table).Scan(&exp); err != nil {
		t.Fatalf("reading the expiry: %v", err)
	}
	return time.Until(time.UnixMilli(exp))
}

// readOnlyRequests is how many read-only requests TestWritesPerRequest
// makes, and maxWritesPerRequest the writes per request it allows.
const (
	readOnlyRequests    = 100
	maxWritesPerRequest = 0.02
)

// TestWritesPerRequest signs in, then only reads, with sliding expiry of
// each kind: sqlsession's Options.IdleTimeout writes at most 0.02 times per
// request, scs's SessionManager.IdleTimeout once per request.
func TestWritesPerRequest(t *testing.T) {
	const idle = 30 * time.Minute
	dbtest.Each(t, dbtest.Servers, func(t *testing.T, tg dbtest.Target, db *sql.DB, schema string) {
		t.Run("sqlsession IdleTimeout", func(t *testing.T) {
			t.Parallel()
			e, writes, table := newCountingEnv(t, tg, db, schema, sqlsession.Options{IdleTimeout: idle})
			c := newApp(t, e, "net-http").client()
			c.do("POST", "/login", "user", "alice")
			// Stored for the idle window, not scs's 24h Lifetime.
			if left := expiresIn(t, db, table); left < idle-time.Minute || left > idle {
				t.Errorf("after login the session expires in %v, want about IdleTimeout (%v)", left, idle)
			}

			before := writes.Load()
			for range readOnlyRequests {
				if got := c.get("user"); got != "alice" {
					t.Fatalf("GET /get?k=user = %q, want alice", got)
				}
			}
			n := writes.Load() - before
			perRequest := float64(n) / readOnlyRequests
			t.Logf("scs + sqlsession IdleTimeout on %s: %d writes in %d read-only requests: %.3f per request", tg.Name, n, readOnlyRequests, perRequest)
			if perRequest > maxWritesPerRequest {
				t.Errorf("%d read-only requests wrote %d times: %.3f per request, want at most %v", readOnlyRequests, n, perRequest, maxWritesPerRequest)
			}

			// A change writes once.
			before = writes.Load()
			c.do("POST", "/put", "k", "color", "v", "blue")
			if n := writes.Load() - before; n != 1 {
				t.Errorf("POST /put wrote %d times, want 1", n)
			}
			if got := c.get("color"); got != "blue" {
				t.Errorf("GET /get?k=color = %q, want blue", got)
			}

			// An expiry near its end is moved, once.
			soon := time.Now().Add(time.Minute).UnixMilli()
			if _, err := db.Exec(fmt.Sprintf("UPDATE %s SET expires_at = %d", table, soon)); err != nil {
				t.Fatalf("moving the expiry: %v", err)
			}
			before = writes.Load()
			for range 5 {
				c.get("user")
			}
			if n := writes.Load() - before; n != 1 {
				t.Errorf("5 reads of a session about to expire wrote %d times, want 1", n)
			}
			if left := expiresIn(t, db, table); left < idle-time.Minute || left > idle {
				t.Errorf("after the touch the session expires in %v, want about IdleTimeout (%v)", left, idle)
			}
		})

		t.Run("scs IdleTimeout", func(t *testing.T) {
			t.Parallel()
			e, writes, _ := newCountingEnv(t, tg, db, schema, sqlsession.Options{})
			c := newApp(t, e, "net-http", func(sm *scs.SessionManager) { sm.IdleTimeout = idle }).client()
			c.do("POST", "/login", "user", "alice")
			before := writes.Load()
			for range readOnlyRequests {
				c.get("user")
			}
			n := writes.Load() - before
			t.Logf("scs IdleTimeout on %s: %d writes in %d read-only requests: %.3f per request", tg.Name, n, readOnlyRequests, float64(n)/readOnlyRequests)
			if n != readOnlyRequests {
				t.Errorf("%d read-only requests with scs's IdleTimeout wrote %d times; scs commits on every request", readOnlyRequests, n)
			}
		})
	})
}

// TestLifetimeWithSliding: sqlsession's sliding expiry keeps a session in
// use alive, but never past scs's Lifetime.
func TestLifetimeWithSliding(t *testing.T) {
	dbtest.Each(t, dbtest.Servers, func(t *testing.T, tg dbtest.Target, db *sql.DB, schema string) {
		t.Parallel()
		e, _, _ := newCountingEnv(t, tg, db, schema, sqlsession.Options{IdleTimeout: time.Hour})
		const lifetime = 2 * time.Second
		c := newApp(t, e, "net-http", func(sm *scs.SessionManager) { sm.Lifetime = lifetime }).client()
		start := time.Now() // before the session's creation
		c.do("POST", "/login", "user", "alice")
		created := time.Now() // after it
		token := c.token()
		got := c.get("user")
		if time.Since(start) < lifetime && got != "alice" {
			t.Fatalf("GET /get?k=user = %q, want alice", got)
		}
		time.Sleep(time.Until(created.Add(lifetime + 50*time.Millisecond)))
		if got := c.get("user"); got != "" {
			t.Errorf("GET /get?k=user after the Lifetime = %q, want a new session", got)
		}
		if e.found(t, token) || e.count(t) != 0 {
			t.Errorf("the session outlived its Lifetime: found %v, %d sessions", e.found(t, token), e.count(t))
		}
	})
}
