package httpsessione2e_test

import (
	"database/sql"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/httpsession"
	"github.com/sqlsession/sqlsession/internal/dbtest"
)

// TestConcurrentKeys sends 50 requests of one session at once, each setting
// its own key; they all load the session before any commits. All 50 keys
// are kept, with one instance of the application and with five (each its
// own Manager and Store on the same table), the requests spread over them,
// and so with Stores that batch their reads.
func TestConcurrentKeys(t *testing.T) {
	const n = 50
	dbtest.Each(t, dbtest.Servers, func(t *testing.T, tg dbtest.Target, db *sql.DB, schema string) {
		for _, c := range []struct {
			instances int
			batch     bool // Options.BatchReads: the loads and re-reads answered in batches
		}{{1, false}, {5, false}, {5, true}} {
			instances := c.instances
			t.Run(fmt.Sprintf("instances=%d/BatchReads=%v", instances, c.batch), func(t *testing.T) {
				e := newEnv(t, tg, db, schema, setup{opts: sqlsession.Options{BatchReads: c.batch}})
				b := e.browser()
				b.want("POST", "/login?user=ada", "ok")
				browsers := []*browser{b}
				for range instances - 1 {
					_, _, srv := e.instance()
					browsers = append(browsers, b.at(srv))
				}
				before := e.writes.Load()
				var wg sync.WaitGroup
				for i := range n {
					wg.Go(func() {
						browsers[i%instances].want("POST", fmt.Sprintf("/gate?id=%d&k=k%02d&v=%d", i, i, i), "user=ada")
					})
				}
				for i := range n {
					e.gate.await(t, fmt.Sprint(i))
				}
				for i := range n {
					e.gate.release(fmt.Sprint(i))
				}
				wg.Wait()
				keys := b.keys()
				kept := len(keys) - 1 // and user
				t.Logf("%s, %d instances, BatchReads %v: %d of %d keys kept; %d statements written", tg.Name, instances, c.batch, kept, n, e.writes.Load()-before)
				if kept != n {
					t.Errorf("%d concurrent requests each setting a key: %d keys kept, want %d (%v)", n, kept, n, keys)
				}
			})
		}
	})
}

// TestSameKey has two requests of one session set the same key: the one
// that commits later wins, whichever loaded first.
func TestSameKey(t *testing.T) {
	dbtest.Each(t, dbtest.Servers, func(t *testing.T, tg dbtest.Target, db *sql.DB, schema string) {
		e := newEnv(t, tg, db, schema, setup{})
		b := e.browser()
		b.want("POST", "/login?user=ada", "ok")
		// first loads, then second loads and commits, then first commits.
		done := make(chan struct{})
		go func() {
			defer close(done)
			b.want("POST", "/gate?id=first&k=color&v=red", "user=ada")
		}()
		e.gate.await(t, "first")
		b.want("POST", "/set?k=color&v=blue", "ok")
		b.want("GET", "/get?k=color", "blue")
		e.gate.release("first")
		<-done
		b.want("GET", "/get?k=color", "red")
	})
}

// TestLogoutIsFinal ends a session (log-out, revoke by owner, renewal at
// log-in) while four requests that loaded it are still running: two that
// only read, two that write. When they finish, the old cookie is logged
// out and no row came back.
func TestLogoutIsFinal(t *testing.T) {
	ends := []struct {
		name string
		end  func(e *env, b *browser)
		left int // live sessions of ada afterwards
	}{
		{"logout", func(e *env, b *browser) { b.want("POST", "/logout", "ok") }, 0},
		{"revoke", func(e *env, b *browser) {
			n, err := e.store.DeleteByOwner(testCtx(e.t), "ada")
			if n != 1 || err != nil {
				e.t.Errorf("DeleteByOwner(ada) = %d, %v, want 1, nil", n, err)
			}
		}, 0},
		{"renew", func(e *env, b *browser) { b.want("POST", "/login?user=ada", "ok") }, 1},
	}
	dbtest.Each(t, dbtest.Servers, func(t *testing.T, tg dbtest.Target, db *sql.DB, schema string) {
		for _, end := range ends {
			t.Run(end.name, func(t *testing.T) {
				t.Parallel()
				// With an idle timeout, the readers would move the expiry:
				// writes of their own.
				e := newEnv(t, tg, db, schema, setup{cfg: httpsession.Config{IdleTimeout: 10 * time.Second}})
				b := e.browser()
				b.want("POST", "/login?user=ada", "ok")
				old := b.token()
				slow := []string{"/gate?id=r1", "/gate?id=r2", "/gate?id=w1&k=cart&v=1", "/gate?id=w2&k=user&v=mallory"}
				var wg sync.WaitGroup
				for _, path := range slow {
					wg.Go(func() {
						// Each in its own browser with the old cookie, so
						// that no answer changes b's cookie.
						e.withToken(old).want("POST", path, "user=ada")
					})
				}
				for _, id := range []string{"r1", "r2", "w1", "w2"} {
					e.gate.await(t, id)
				}
				time.Sleep(1100 * time.Millisecond) // past a tenth of the idle timeout
				end.end(e, b)
				for _, id := range []string{"r1", "r2", "w1", "w2"} {
					e.gate.release(id)
				}
				wg.Wait()

				resurrected := 0
				if e.live(old) {
					resurrected++
				}
				if resurrected != 0 {
					t.Errorf("%s: %d sessions came back", end.name, resurrected)
				}
				e.withToken(old).want("GET", "/whoami", "user=")
				if n := e.owned("ada"); n != end.left {
					t.Errorf("%s: sessions of ada = %d, want %d", end.name, n, end.left)
				}
				if n := e.owned("mallory"); n != 0 {
					t.Errorf("%s: sessions of mallory = %d, want 0: a late write came back", end.name, n)
				}
				if n := e.count(); n != int64(end.left) {
					t.Errorf("%s: live sessions = %d, want %d", end.name, n, end.left)
				}
				if end.left > 0 {
					b.want("GET", "/whoami", "user=ada")
					if keys := b.keys(); !slices.Equal(keys, []string{"user"}) {
						t.Errorf("%s: keys of the renewed session = %v, want [user]", end.name, keys)
					}
				}
				t.Logf("%s on %s: 0 of 4 late requests brought the session back", end.name, tg.Name)
			})
		}
	})
}

// TestEmptyVisitors sends requests without a cookie that leave the session
// empty: no row, no cookie, no write.
func TestEmptyVisitors(t *testing.T) {
	dbtest.Each(t, dbtest.Servers, func(t *testing.T, tg dbtest.Target, db *sql.DB, schema string) {
		e := newEnv(t, tg, db, schema, setup{})
		for range 20 {
			for _, path := range []string{"/noop", "/whoami", "/keys"} {
				b := e.browser()
				b.want("GET", path, map[string]string{"/noop": "ok", "/whoami": "user=", "/keys": ""}[path])
				if tok := b.token(); tok != "" {
					t.Errorf("GET %s without a cookie set a session cookie", path)
				}
			}
		}
		if n, w := e.count(), e.writes.Load(); n != 0 || w != 0 {
			t.Errorf("60 empty visits: %d rows, %d writes, want 0, 0", n, w)
		}
	})
}

// TestReadOnlyWritesNothing logs in, then sends read-only requests: they
// write nothing. A change writes one statement.
func TestReadOnlyWritesNothing(t *testing.T) {
	const n = 100
	dbtest.Each(t, dbtest.Servers, func(t *testing.T, tg dbtest.Target, db *sql.DB, schema string) {
		for _, idle := range []time.Duration{0, time.Hour} {
			t.Run(fmt.Sprintf("idle=%v", idle), func(t *testing.T) {
				e := newEnv(t, tg, db, schema, setup{cfg: httpsession.Config{IdleTimeout: idle}})
				b := e.browser()
				b.want("POST", "/set?k=user&v=ada", "ok")
				if w := e.writes.Load(); w != 1 {
					t.Errorf("a new session wrote %d statements, want 1", w)
				}
				before := e.writes.Load()
				for range n / 2 {
					b.want("GET", "/whoami", "user=ada")
					b.want("GET", "/noop", "ok")
				}
				w := e.writes.Load() - before
				t.Logf("%s, IdleTimeout %v: %d writes in %d read-only requests", tg.Name, idle, w, n)
				if w != 0 {
					t.Errorf("%d read-only requests wrote %d statements, want 0", n, w)
				}
				before = e.writes.Load()
				b.want("POST", "/set?k=cart&v=1", "ok")
				if w := e.writes.Load() - before; w != 1 {
					t.Errorf("a change wrote %d statements, want 1", w)
				}
			})
		}
	})
}

// TestDatabaseFailure takes the database down before a request and in the
// middle of one: the client gets the ErrorHandler's 500, never a new
// session or a silent loss, and the session is intact once the database is
// back.
func TestDatabaseFailure(t *testing.T) {
	dbtest.Each(t, dbtest.Servers, func(t *testing.T, tg dbtest.Target, db *sql.DB, schema string) {
		e := newEnv(t, tg, db, schema, setup{cfg: httpsession.Config{Logger: quietLogger()}})
		b := e.browser()
		b.want("POST", "/login?user=ada", "ok")
		tok := b.token()

		// Mid-request: loaded, then the database goes away before the commit.
		code, body := b.do("POST", "/fail?k=cart&v=1")
		if code != 500 || strings.Contains(body, "ok") {
			t.Errorf("a failed commit answered %d %q, want the ErrorHandler's 500", code, body)
		}
		// Down before the request: the load fails.
		for _, path := range []string{"/whoami", "/noop"} {
			code, body := b.do("GET", path)
			if code != 500 {
				t.Errorf("GET %s with the database down = %d %q, want 500", path, code, body)
			}
		}
		// A new visitor who puts a value, with the database down.
		if code, _ := e.browser().do("POST", "/set?k=x&v=1"); code != 500 {
			t.Errorf("a new session's failed save answered %d, want 500", code)
		}
		e.down.Store(false)
		if b.token() != tok {
			t.Errorf("the failures changed the session cookie")
		}
		b.want("GET", "/whoami", "user=ada")
		if keys := b.keys(); !slices.Equal(keys, []string{"user"}) {
			t.Errorf("keys after the failed write = %v, want [user]", keys)
		}
	})
}

// TestMalformedCookies sends session cookies that are not tokens: each is
// a fresh session, never an error.
func TestMalformedCookies(t *testing.T) {
	dbtest.Each(t, dbtest.Servers, func(t *testing.T, tg dbtest.Target, db *sql.DB, schema string) {
		e := newEnv(t, tg, db, schema, setup{})
		b := e.browser()
		b.want("POST", "/login?user=ada", "ok")
		good := b.token()
		for _, value := range []string{
			"", " ", "x", `"`, `""`, "a b", "é", strings.Repeat("a", 300),
			sqlsession.NewToken(), "~" + strings.Repeat("A", 65), good + "x", good[1:],
			"'; DROP TABLE sessions; --", "%00", "\\",
		} {
			req, _ := http.NewRequest("POST", e.srv.URL+"/set?k=n&v=1", nil)
			req.Header.Set("Cookie", e.m.CookieName()+"="+value)
			res, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatalf("cookie %q: %v", value, err)
			}
			res.Body.Close()
			var fresh string
			for _, c := range res.Cookies() {
				if c.Name == e.m.CookieName() {
					fresh = c.Value
				}
			}
			if res.StatusCode != 200 || fresh == "" || fresh == value || fresh == good {
				t.Errorf("cookie %q: %d, new cookie %q, want 200 and a fresh session", value, res.StatusCode, fresh)
			}
		}
		b.want("GET", "/whoami", "user=ada")
	})
}

// TestOwner checks that the owner hook lets the Store find a user's
// sessions, and that a revoke logs out every browser of the user.
func TestOwner(t *testing.T) {
	dbtest.Each(t, dbtest.Servers, func(t *testing.T, tg dbtest.Target, db *sql.DB, schema string) {
		e := newEnv(t, tg, db, schema, setup{})
		phone, laptop, other := e.browser(), e.browser(), e.browser()
		phone.want("POST", "/login?user=ada", "ok")
		laptop.want("POST", "/login?user=ada", "ok")
		other.want("POST", "/login?user=bob", "ok")
		if n := e.owned("ada"); n != 2 {
			t.Errorf("sessions of ada = %d, want 2", n)
		}
		if n, err := e.store.DeleteOthers(testCtx(t), "ada", phone.token()); n != 1 || err != nil {
			t.Errorf("DeleteOthers(ada, phone) = %d, %v, want 1, nil", n, err)
		}
		phone.want("GET", "/whoami", "user=ada")
		laptop.want("GET", "/whoami", "user=")
		other.want("GET", "/whoami", "user=bob")
	})
}

// TestLoginLogout plays a browser's life: visits, log-in under a new
// token, log-out with the cookie expired.
func TestLoginLogout(t *testing.T) {
	dbtest.Each(t, dbtest.Servers, func(t *testing.T, tg dbtest.Target, db *sql.DB, schema string) {
		e := newEnv(t, tg, db, schema, setup{cfg: httpsession.Config{HostPrefix: true, IdleTimeout: time.Hour}})
		b := e.browser()
		b.want("POST", "/set?k=theme&v=dark", "ok")
		anon := b.token()
		if anon == "" || e.m.CookieName() != "__Host-session" {
			t.Fatalf("no %s cookie after a Put", e.m.CookieName())
		}
		b.want("POST", "/login?user=ada", "ok")
		if b.token() == anon || e.live(anon) {
			t.Errorf("log-in kept the token of before")
		}
		if keys := b.keys(); !slices.Equal(keys, []string{"theme", "user"}) {
			t.Errorf("keys after log-in = %v, want [theme user]", keys)
		}
		e.withToken(anon).want("GET", "/whoami", "user=")
		b.want("POST", "/logout", "ok")
		if b.token() != "" {
			t.Errorf("the session cookie survived log-out")
		}
		if n := e.count(); n != 0 {
			t.Errorf("live sessions after log-out = %d, want 0", n)
		}
	})
}

// TestJSONLayout keeps the sessions in a table whose data column is text
// (sqlsession.Layout.JSON): SQL reads the session's keys with the
// database's JSON functions.
func TestJSONLayout(t *testing.T) {
	extract := map[sqlsession.Dialect]string{
		sqlsession.Postgres: `"data"::jsonb->>'user'`,
		sqlsession.MySQL:    "JSON_UNQUOTE(JSON_EXTRACT(`data`, '$.user'))",
		sqlsession.SQLite:   `json_extract("data", '$.user')`,
	}
	dbtest.Each(t, dbtest.Servers, func(t *testing.T, tg dbtest.Target, db *sql.DB, schema string) {
		e := newEnv(t, tg, db, schema, setup{opts: sqlsession.Options{Layout: sqlsession.Layout{JSON: true}}})
		b := e.browser()
		b.want("POST", "/login?user=ada", "ok")
		b.want("POST", "/set?k=cart&v=3", "ok")
		b.want("GET", "/whoami", "user=ada")
		var user string
		table := dbtest.QuotedTable(tg.Dialect, schema, e.su.opts.Table)
		if err := db.QueryRowContext(testCtx(t), "SELECT "+extract[tg.Dialect]+" FROM "+table).Scan(&user); err != nil || user != "ada" {
			t.Errorf("the user through SQL's JSON functions = %q, %v, want ada", user, err)
		}
	})
}
