package gorillae2e

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/gorillastore"
	"github.com/sqlsession/sqlsession/internal/dbtest"
)

var hashKey = []byte("e2e hash key of 32 bytes........")

// env is one application served over TLS (the cookies are Secure) with a
// browser-like client.
type env struct {
	t     *testing.T
	db    *sql.DB
	sql   *sqlsession.Store
	st    *gorillastore.Store
	table string // quoted
	srv   *httptest.Server
	url   *url.URL
	jar   *cookiejar.Jar
	c     *http.Client
}

func newEnv(t *testing.T, tg dbtest.Target, db *sql.DB, schema string, fw framework, opts sqlsession.Options) *env {
	t.Helper()
	sqlStore := dbtest.Store(t, db, tg.Dialect, schema, opts)
	st := gorillastore.New(sqlStore, hashKey)
	srv := httptest.NewTLSServer(fw.handler(st))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	e := &env{t: t, db: db, sql: sqlStore, st: st, srv: srv, url: u,
		table: dbtest.QuotedTable(tg.Dialect, schema, sqlStore.Options().Table)}
	return e.browser()
}

// browser returns e with a new client: another browser on the same site.
func (e *env) browser() *env {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	b := *e
	b.jar = jar
	b.c = &http.Client{Transport: e.srv.Client().Transport, Jar: jar, Timeout: time.Minute}
	return &b
}

// get requests path and returns the status and body.
func (e *env) get(path string) (int, string) {
	e.t.Helper()
	code, body, err := e.try(path)
	if err != nil {
		e.t.Fatalf("GET %s: %v", path, err)
	}
	return code, body
}

func (e *env) try(path string) (int, string, error) {
	resp, err := e.c.Get(e.url.String() + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// want requests path and checks for a 200 with the given body.
func (e *env) want(path, body string) {
	e.t.Helper()
	if code, got := e.get(path); code != http.StatusOK || got != body {
		e.t.Errorf("GET %s = %d %q, want 200 %q", path, code, got, body)
	}
}

// cookie returns the session cookie the client holds, or nil.
func (e *env) cookie() *http.Cookie {
	for _, c := range e.jar.Cookies(e.url) {
		if c.Name == cookieName {
			return c
		}
	}
	return nil
}

// setCookie makes the client send value as its session cookie.
func (e *env) setCookie(value string) {
	e.jar.SetCookies(e.url, []*http.Cookie{{Name: cookieName, Value: value, Path: "/"}})
}

// token returns the session token inside a cookie value.
func (e *env) token(value string) string {
	e.t.Helper()
	var token string
	if err := securecookie.DecodeMulti(cookieName, value, &token, e.st.Codecs...); err != nil {
		e.t.Fatalf("the session cookie does not decode: %v", err)
	}
	return token
}

// live reports whether the database holds a live session under token.
func (e *env) live(token string) bool {
	e.t.Helper()
	_, found, err := e.sql.Find(context.Background(), token)
	if err != nil {
		e.t.Fatalf("Find() = %v", err)
	}
	return found
}

func TestEndToEnd(t *testing.T) {
	dbtest.Each(t, dbtest.Servers, func(t *testing.T, tg dbtest.Target, db *sql.DB, schema string) {
		for _, fw := range frameworks {
			t.Run(fw.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, tg, db, schema, fw, sqlsession.Options{})
				run(t, e)
			})
		}
	})
}

func run(t *testing.T, e *env) {
	// Reading does not create a session.
	e.want("/whoami", "anonymous")
	if c := e.cookie(); c != nil {
		t.Fatalf("a read set cookie %v", c)
	}

	// An anonymous session, then log-in moves it to a new token.
	e.want("/visit", "ok")
	before := e.cookie()
	if before == nil {
		t.Fatal("no session cookie after /visit")
	}
	e.want("/login", "ok")
	after := e.cookie()
	if after == nil {
		t.Fatal("no session cookie after /login")
	}
	oldToken, newToken := e.token(before.Value), e.token(after.Value)
	if oldToken == newToken {
		t.Errorf("log-in kept the token: session fixation")
	}
	if e.live(oldToken) || !e.live(newToken) {
		t.Errorf("after log-in: old token live %v, new token live %v; want false, true", e.live(oldToken), e.live(newToken))
	}
	e.want("/whoami", "alice [admin] n=1 cart=3 apples")

	// Change the values; later requests see the change.
	e.want("/incr", "2")
	e.want("/incr", "3")
	e.want("/change", "ok")
	e.want("/whoami", "bob [admin editor] n=3 cart=3 apples")

	// 64 KB of values: the cookie stays a token.
	e.want("/big", "ok")
	e.want("/bigcheck", fmt.Sprintf("%d %s", len(bigValue), digest(bigValue)))
	if n := len(e.cookie().Value); n > 300 {
		t.Errorf("cookie is %d bytes with 64 KB of values, want at most 300", n)
	}

	// 32 concurrent requests of one client: no error, no panic, and the
	// session survives (the last Save wins).
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Go(func() {
			code, body, err := e.try("/incr")
			if err == nil && code != http.StatusOK {
				err = fmt.Errorf("status %d: %s", code, body)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent GET /incr: %v", err)
	}
	if _, body := e.get("/whoami"); !strings.HasPrefix(body, "bob [admin editor] n=") {
		t.Errorf("GET /whoami after concurrent requests = %q, want bob's session", body)
	}

	// A tampered cookie gives a fresh session and a normal page.
	good := e.cookie().Value
	for _, bad := range []string{tamper(good), good[:len(good)/2], "garbage", ""} {
		e.setCookie(bad)
		e.want("/whoami", "anonymous")
	}
	e.setCookie(good)
	if _, body := e.get("/whoami"); !strings.HasPrefix(body, "bob ") {
		t.Errorf("GET /whoami with the good cookie again = %q, want bob's session", body)
	}

	// Log-out deletes the row and the cookie; replaying the cookie gives a
	// fresh session.
	token := e.token(good)
	e.want("/logout", "ok")
	if c := e.cookie(); c != nil {
		t.Errorf("the client still holds cookie %v after log-out", c)
	}
	if e.live(token) {
		t.Errorf("the session row survived log-out")
	}
	e.want("/whoami", "anonymous")
	e.setCookie(good)
	e.want("/whoami", "anonymous")

	// An expired session gives a fresh one, though the browser still sends
	// its cookie.
	e.want("/login", "ok")
	e.want("/whoami", "alice [admin] n=1 cart=<nil>")
	if _, err := e.db.Exec("UPDATE " + e.table + " SET expires_at = 1"); err != nil {
		t.Fatalf("expiring the sessions: %v", err)
	}
	if e.cookie() == nil {
		t.Fatal("the client lost its cookie")
	}
	e.want("/whoami", "anonymous")

	// A database failure is an error page, never a silent log-out.
	e.want("/login", "ok")
	if _, err := e.db.Exec("DROP TABLE " + e.table); err != nil {
		t.Fatalf("dropping the table: %v", err)
	}
	if code, body := e.get("/whoami"); code != http.StatusInternalServerError {
		t.Errorf("GET /whoami without a table = %d %q, want 500", code, body)
	}
}

// tamper flips one character in the middle of a cookie value.
func tamper(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// TestTableHoldsNoSecrets logs in and reads the table behind the Store's
// back: the token column holds neither the cookie's token nor the cookie,
// and no column holds the values or the token in clear.
func TestTableHoldsNoSecrets(t *testing.T) {
	// Values long enough not to turn up in random base64 by chance.
	secrets := []string{"admin", "editor"}
	dbtest.Each(t, dbtest.Servers, func(t *testing.T, tg dbtest.Target, db *sql.DB, schema string) {
		e := newEnv(t, tg, db, schema, frameworks[0], sqlsession.Options{})
		e.want("/login", "ok")
		e.want("/change", "ok")
		s := e.cookie()
		if s == nil {
			t.Fatal("no session cookie after /login")
		}
		token := e.token(s.Value)

		rows, err := db.Query("SELECT token, data FROM " + e.table)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			n++
			var key string
			var data []byte
			if err := rows.Scan(&key, &data); err != nil {
				t.Fatal(err)
			}
			switch {
			case key == token || strings.Contains(key, token):
				t.Errorf("token column %q holds the session token", key)
			case key == s.Value || strings.Contains(s.Value, key):
				t.Errorf("token column %q is (part of) the cookie value", key)
			}
			for _, clear := range secrets {
				if strings.Contains(key, clear) {
					t.Errorf("token column %q holds session value %q", key, clear)
				}
			}
			if strings.Contains(string(data), token) {
				t.Errorf("data column holds the session token")
			}
			values, err := gorillastore.GobSerializer{}.Deserialize(data)
			if u, ok := values["user"].(user); err != nil || !ok || u.Name != "bob" {
				t.Errorf("data column = %v, %v; want gob of bob's session", values, err)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("the table holds %d sessions, want 1", n)
		}
		for _, clear := range secrets {
			if strings.Contains(s.Value, clear) {
				t.Errorf("cookie %q holds session value %q", s.Value, clear)
			}
		}
	})
}

// TestOwner derives each session's owner from its gob data with
// gorillastore.Value: "log out everywhere" reaches every browser of a user.
func TestOwner(t *testing.T) {
	opts := sqlsession.Options{Owner: gorillastore.Value("uid")}
	dbtest.Each(t, dbtest.Servers, func(t *testing.T, tg dbtest.Target, db *sql.DB, schema string) {
		ctx := t.Context()
		laptop := newEnv(t, tg, db, schema, frameworks[0], opts)
		phone, guest := laptop.browser(), laptop.browser()
		laptop.want("/login", "ok")
		phone.want("/login", "ok")
		guest.want("/visit", "ok")
		if got, err := laptop.sql.ListByOwner(ctx, "u-alice"); len(got) != 2 || err != nil {
			t.Errorf("ListByOwner(u-alice) = %d sessions, %v; want 2, nil", len(got), err)
		}
		if n, err := laptop.sql.DeleteByOwner(ctx, "u-alice"); n != 2 || err != nil {
			t.Errorf("DeleteByOwner(u-alice) = %d, %v; want 2, nil", n, err)
		}
		laptop.want("/whoami", "anonymous")
		phone.want("/whoami", "anonymous")
		if !guest.live(guest.token(guest.cookie().Value)) {
			t.Errorf("the anonymous session went with the user's")
		}
	})
}
