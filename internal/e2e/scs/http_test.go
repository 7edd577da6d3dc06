package scse2e_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/go-chi/chi/v5"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/internal/dbtest"
	"github.com/sqlsession/sqlsession/scsstore"
)

// app is a small web application on a real scs.SessionManager whose store is
// scsstore, served over real HTTP.
type app struct {
	*env
	t   *testing.T
	sm  *scs.SessionManager
	srv *httptest.Server
}

// A route of the application, mounted both on http.ServeMux and on chi.
type route struct {
	method, path string
	h            func(sm *scs.SessionManager, w http.ResponseWriter, r *http.Request) error
}

var routes = []route{
	// POST /login?user=U logs U in, with a new token.
	{"POST", "/login", func(sm *scs.SessionManager, w http.ResponseWriter, r *http.Request) error {
		if err := sm.RenewToken(r.Context()); err != nil {
			return err
		}
		sm.Put(r.Context(), "user", r.FormValue("user"))
		return nil
	}},
	// POST /put?k=K&v=V stores V under K.
	{"POST", "/put", func(sm *scs.SessionManager, w http.ResponseWriter, r *http.Request) error {
		sm.Put(r.Context(), r.FormValue("k"), r.FormValue("v"))
		return nil
	}},
	// GET /get?k=K writes the string under K.
	{"GET", "/get", func(sm *scs.SessionManager, w http.ResponseWriter, r *http.Request) error {
		_, err := io.WriteString(w, sm.GetString(r.Context(), r.FormValue("k")))
		return err
	}},
	// POST /incr adds one to the integer under "n" and writes it.
	{"POST", "/incr", func(sm *scs.SessionManager, w http.ResponseWriter, r *http.Request) error {
		n := sm.GetInt(r.Context(), "n") + 1
		sm.Put(r.Context(), "n", n)
		_, err := io.WriteString(w, strconv.Itoa(n))
		return err
	}},
	// POST /logout destroys the session.
	{"POST", "/logout", func(sm *scs.SessionManager, w http.ResponseWriter, r *http.Request) error {
		return sm.Destroy(r.Context())
	}},
}

// A router mounts the routes behind sm.LoadAndSave; wrap turns a route into
// a handler.
type router struct {
	name  string
	mount func(sm *scs.SessionManager, wrap func(route) http.HandlerFunc) http.Handler
}

var routers = []router{
	{"net-http", func(sm *scs.SessionManager, wrap func(route) http.HandlerFunc) http.Handler {
		mux := http.NewServeMux()
		for _, rt := range routes {
			mux.HandleFunc(rt.method+" "+rt.path, wrap(rt))
		}
		return sm.LoadAndSave(mux)
	}},
	{"chi", func(sm *scs.SessionManager, wrap func(route) http.HandlerFunc) http.Handler {
		r := chi.NewRouter()
		r.Use(sm.LoadAndSave)
		for _, rt := range routes {
			r.Method(rt.method, rt.path, wrap(rt))
		}
		return r
	}},
}

// newApp serves the routes on the router with the given name with a
// SessionManager on e's store, after passing it to configure. Every error,
// from a handler or from scs, fails the test.
func newApp(t *testing.T, e *env, name string, configure ...func(*scs.SessionManager)) *app {
	t.Helper()
	sm := scs.New()
	sm.Store = e.st
	for _, f := range configure {
		f(sm)
	}
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		t.Errorf("scs: %s %s: %v", r.Method, r.URL, err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
	wrap := func(rt route) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if err := rt.h(sm, w, r); err != nil {
				t.Errorf("handler %s %s: %v", r.Method, r.URL, err)
				http.Error(w, err.Error(), http.StatusInternalServerError)
			}
		}
	}
	i := slices.IndexFunc(routers, func(r router) bool { return r.name == name })
	if i < 0 {
		t.Fatalf("no router %q", name)
	}
	srv := httptest.NewServer(routers[i].mount(sm, wrap))
	t.Cleanup(srv.Close)
	return &app{env: e, t: t, sm: sm, srv: srv}
}

// client is one browser: an http.Client with its own cookie jar.
type client struct {
	t   *testing.T
	c   *http.Client
	jar *cookiejar.Jar
	u   *url.URL
}

func (a *app) client() *client {
	a.t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		a.t.Fatal(err)
	}
	u, err := url.Parse(a.srv.URL)
	if err != nil {
		a.t.Fatal(err)
	}
	return &client{t: a.t, c: &http.Client{Jar: jar, Timeout: time.Minute}, jar: jar, u: u}
}

// try sends one request and returns the body of a 200 response.
func (c *client) try(method, path string, form ...string) (string, error) {
	q := url.Values{}
	for i := 0; i+1 < len(form); i += 2 {
		q.Set(form[i], form[i+1])
	}
	req, err := http.NewRequest(method, c.u.String()+path+"?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	res, err := c.c.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return "", err
	}
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s %s: %s: %s", method, path, res.Status, body)
	}
	return string(body), nil
}

// do is try that fails the test on an error. Call it from the test's
// goroutine only.
func (c *client) do(method, path string, form ...string) string {
	c.t.Helper()
	body, err := c.try(method, path, form...)
	if err != nil {
		c.t.Fatal(err)
	}
	return body
}

func (c *client) get(key string) string { return c.do("GET", "/get", "k", key) }

// token returns the session cookie's value, "" when there is none.
func (c *client) token() string {
	for _, ck := range c.jar.Cookies(c.u) {
		if ck.Name == "session" {
			return ck.Value
		}
	}
	return ""
}

// setToken replaces the session cookie, as a client tampering with it does.
func (c *client) setToken(v string) {
	c.jar.SetCookies(c.u, []*http.Cookie{{Name: "session", Value: v, Path: "/"}})
}

// eachApp runs fn for every test database with a fresh table.
func eachApp(t *testing.T, router string, fn func(t *testing.T, a *app)) {
	eachAppWith(t, router, sqlsession.Options{}, fn)
}

// eachAppWith is eachApp with a Store made with opts.
func eachAppWith(t *testing.T, router string, opts sqlsession.Options, fn func(t *testing.T, a *app)) {
	dbtest.Each(t, dbtest.Servers, func(t *testing.T, tg dbtest.Target, db *sql.DB, schema string) {
		e := newEnv(t, tg, db, schema, opts)
		fn(t, newApp(t, e, router))
	})
}

// TestLifecycle logs in, stores, reads and changes values, renews the token
// and logs out, through each router.
func TestLifecycle(t *testing.T) {
	for _, r := range routers {
		t.Run(r.name, func(t *testing.T) {
			eachApp(t, r.name, func(t *testing.T, a *app) {
				c := a.client()
				if got := c.get("user"); got != "" {
					t.Errorf("GET /get?k=user before login = %q, want %q", got, "")
				}
				if c.token() != "" || a.count(t) != 0 {
					t.Fatalf("a request that changed nothing made a session: cookie %q, %d rows", c.token(), a.count(t))
				}

				c.do("POST", "/login", "user", "alice")
				first := c.token()
				if first == "" || !a.found(t, first) || a.count(t) != 1 {
					t.Fatalf("after login: cookie %q, found %v, %d sessions, want a cookie naming the one session", first, a.found(t, first), a.count(t))
				}
				c.do("POST", "/put", "k", "color", "v", "blue")
				c.do("POST", "/put", "k", "size", "v", "L")
				for _, kv := range [][2]string{{"user", "alice"}, {"color", "blue"}, {"size", "L"}} {
					if got := c.get(kv[0]); got != kv[1] {
						t.Errorf("GET /get?k=%s = %q, want %q", kv[0], got, kv[1])
					}
				}
				c.do("POST", "/put", "k", "color", "v", "red")
				if got := c.get("color"); got != "red" {
					t.Errorf("GET /get?k=color after change = %q, want %q", got, "red")
				}
				if c.token() != first {
					t.Errorf("token changed without a login")
				}

				// A second login renews the token and drops the old row.
				c.do("POST", "/login", "user", "bob")
				second := c.token()
				if second == first || a.found(t, first) || !a.found(t, second) || a.count(t) != 1 {
					t.Errorf("after a second login: new token %v, old found %v, new found %v, %d sessions; want new, false, true, 1",
						second != first, a.found(t, first), a.found(t, second), a.count(t))
				}
				if got := c.get("color"); got != "red" {
					t.Errorf("GET /get?k=color after renewal = %q, want %q", got, "red")
				}

				c.do("POST", "/logout")
				if a.found(t, second) || a.count(t) != 0 {
					t.Errorf("after logout: found %v, %d sessions, want false, 0", a.found(t, second), a.count(t))
				}
				if c.token() != "" {
					t.Errorf("after logout: cookie %q, want none", c.token())
				}
				if got := c.get("user"); got != "" {
					t.Errorf("GET /get?k=user after logout = %q, want %q", got, "")
				}
			})
		})
	}
}

// TestExpiredSession checks that a session whose row has expired is
// replaced by a fresh one.
func TestExpiredSession(t *testing.T) {
	eachApp(t, "net-http", func(t *testing.T, a *app) {
		ctx := testCtx(t)
		c := a.client()
		c.do("POST", "/login", "user", "alice")
		old := c.token()
		data, found, err := a.s.Find(ctx, old)
		if !found || err != nil {
			t.Fatalf("Find(cookie token) = %v, %v, want true, nil", found, err)
		}
		if err := a.s.Save(ctx, old, data, time.Now().Add(-time.Second)); err != nil {
			t.Fatalf("Save(expired) = %v", err)
		}
		if got := c.get("user"); got != "" {
			t.Errorf("GET /get?k=user with an expired session = %q, want %q", got, "")
		}
		c.do("POST", "/put", "k", "color", "v", "blue")
		if tok := c.token(); tok == old || !a.found(t, tok) || a.count(t) != 1 {
			t.Errorf("after writing to an expired session: new token %v, found %v, %d sessions, want true, true, 1", tok != old, a.found(t, tok), a.count(t))
		}
		if got := c.get("user"); got != "" {
			t.Errorf("GET /get?k=user in the fresh session = %q, want %q", got, "")
		}
	})
}

// TestCorruptRow checks that a row scs cannot decode costs its user one
// session, not every request until it expires: the next request gets a
// fresh session (scs would otherwise answer 500), and the row is gone.
func TestCorruptRow(t *testing.T) {
	eachApp(t, "net-http", func(t *testing.T, a *app) {
		ctx := testCtx(t)
		c := a.client()
		c.do("POST", "/login", "user", "alice")
		old := c.token()
		for name, garbage := range map[string][]byte{"truncated": nil, "not gob": []byte("{not gob}")} {
			if garbage == nil {
				data, _, _ := a.s.Find(ctx, old)
				garbage = data[:len(data)/2]
			}
			if err := a.s.Save(ctx, old, garbage, time.Now().Add(time.Hour)); err != nil {
				t.Fatalf("Save(%s) = %v", name, err)
			}
			if got := c.get("user"); got != "" { // c.do fails the test on a non-200 answer
				t.Errorf("%s row: GET /get?k=user = %q, want a fresh session", name, got)
			}
			if a.found(t, old) {
				t.Errorf("%s row: still in the table after the request", name)
			}
			c.do("POST", "/login", "user", "alice")
			old = c.token()
		}
	})
}

// TestTamperedCookie checks that a cookie naming no session gives a fresh
// session and leaves the real one alone.
func TestTamperedCookie(t *testing.T) {
	eachApp(t, "net-http", func(t *testing.T, a *app) {
		tests := []struct {
			name   string
			tamper func(tok string) string
		}{
			{"last char changed", func(tok string) string {
				last := byte('A')
				if tok[len(tok)-1] == 'A' {
					last = 'B'
				}
				return tok[:len(tok)-1] + string(last)
			}},
			{"truncated", func(tok string) string { return tok[:len(tok)/2] }},
			{"extended", func(tok string) string { return tok + "x" }},
			{"garbage", func(string) string { return "garbage" }},
			{"too long", func(string) string { return strings.Repeat("a", 2*sqlsession.MaxTokenLength) }},
			{"handle shape", func(tok string) string { return "~" + tok + tok[:22] }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := a.client()
				c.do("POST", "/login", "user", "alice")
				real := c.token()
				before := a.count(t)
				bad := tt.tamper(real)
				c.setToken(bad)
				if got := c.get("user"); got != "" {
					t.Errorf("GET /get?k=user with cookie %q = %q, want %q", bad, got, "")
				}
				c.do("POST", "/put", "k", "color", "v", "blue")
				if tok := c.token(); tok == bad || tok == real || !a.found(t, tok) {
					t.Errorf("after writing with a tampered cookie: token %q, want a new live one", tok)
				}
				if !a.found(t, real) || a.count(t) != before+1 {
					t.Errorf("after tampering: real session found %v, %d sessions, want true, %d", a.found(t, real), a.count(t), before+1)
				}
			})
		}
	})
}

// TestConcurrentRequests sends 32 requests of one client at once.
func TestConcurrentRequests(t *testing.T) {
	eachApp(t, "net-http", func(t *testing.T, a *app) {
		c := a.client()
		c.do("POST", "/login", "user", "alice")
		const n = 32
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				method, path := "POST", "/incr"
				if i%2 == 1 {
					method, path = "GET", "/get"
				}
				if _, err := c.try(method, path, "k", "user"); err != nil {
					t.Errorf("concurrent request %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		// scs does not lock a session across requests, so increments may be
		// lost, but the session must stay whole and readable.
		if got := c.get("user"); got != "alice" {
			t.Errorf("GET /get?k=user after concurrent requests = %q, want %q", got, "alice")
		}
		if n, err := strconv.Atoi(c.do("POST", "/incr")); err != nil || n < 2 {
			t.Errorf("POST /incr after 16 concurrent ones = %d, %v, want at least 2", n, err)
		}
		if got := a.count(t); got != 1 {
			t.Errorf("Count() after concurrent requests = %d, want 1", got)
		}
	})
}

// TestIterate reads, changes and destroys sessions with
// SessionManager.Iterate, whose keys are the store's handles.
func TestIterate(t *testing.T) {
	eachApp(t, "net-http", func(t *testing.T, a *app) {
		ctx := testCtx(t)
		users := map[string]*client{}
		tokens := map[string]bool{}
		for _, u := range []string{"alice", "bob", "carol"} {
			c := a.client()
			c.do("POST", "/login", "user", u)
			users[u] = c
			tokens[c.token()] = true
		}
		// An expired session is not visited.
		if err := a.s.Save(ctx, sqlsession.NewToken(), []byte("not scs data"), time.Now().Add(-time.Second)); err != nil {
			t.Fatalf("Save(expired) = %v", err)
		}

		var seen []string
		err := a.sm.Iterate(ctx, func(ctx context.Context) error {
			seen = append(seen, a.sm.GetString(ctx, "user"))
			if tokens[a.sm.Token(ctx)] {
				t.Errorf("Iterate gave a cookie token; want handles, as tokens are hashed")
			}
			return nil
		})
		slices.Sort(seen)
		if err != nil || !slices.Equal(seen, []string{"alice", "bob", "carol"}) {
			t.Fatalf("Iterate() read users %v, %v, want [alice bob carol], nil", seen, err)
		}

		err = a.sm.Iterate(ctx, func(ctx context.Context) error {
			if a.sm.GetString(ctx, "user") != "bob" {
				return nil
			}
			a.sm.Put(ctx, "role", "admin")
			_, _, err := a.sm.Commit(ctx)
			return err
		})
		if err != nil {
			t.Fatalf("Iterate(Put, Commit) = %v", err)
		}
		if n := a.count(t); n != 3 {
			t.Errorf("Count() after Iterate committed a change = %d, want 3", n)
		}
		for u, want := range map[string]string{"alice": "", "bob": "admin", "carol": ""} {
			if got := users[u].get("role"); got != want {
				t.Errorf("%s: GET /get?k=role after Iterate = %q, want %q", u, got, want)
			}
		}

		err = a.sm.Iterate(ctx, func(ctx context.Context) error {
			if a.sm.GetString(ctx, "user") != "carol" {
				return nil
			}
			return a.sm.Destroy(ctx)
		})
		if err != nil {
			t.Fatalf("Iterate(Destroy) = %v", err)
		}
		if a.found(t, users["carol"].token()) || a.count(t) != 2 {
			t.Errorf("after Iterate destroyed carol: found %v, %d sessions, want false, 2", a.found(t, users["carol"].token()), a.count(t))
		}
		for u, want := range map[string]string{"alice": "alice", "bob": "bob", "carol": ""} {
			if got := users[u].get("user"); got != want {
				t.Errorf("%s: GET /get?k=user after Iterate = %q, want %q", u, got, want)
			}
		}
	})
}

// TestOwner derives each session's owner from scs's data with
// scsstore.Value and logs one user out of other devices, then everywhere.
func TestOwner(t *testing.T) {
	opts := sqlsession.Options{Owner: scsstore.Value("user")}
	eachAppWith(t, "net-http", opts, func(t *testing.T, a *app) {
		ctx := testCtx(t)
		laptop, phone, bob, anon := a.client(), a.client(), a.client(), a.client()
		laptop.do("POST", "/login", "user", "alice")
		phone.do("POST", "/login", "user", "alice")
		bob.do("POST", "/login", "user", "bob")
		anon.do("POST", "/put", "k", "color", "v", "blue")

		for owner, want := range map[string]int{"alice": 2, "bob": 1, "": 0, "carol": 0} {
			if got, err := a.s.ListByOwner(ctx, owner); len(got) != want || err != nil {
				t.Errorf("ListByOwner(%q) = %d sessions, %v, want %d, nil", owner, len(got), err, want)
			}
		}

		if n, err := a.s.DeleteOthers(ctx, "alice", laptop.token()); n != 1 || err != nil {
			t.Errorf("DeleteOthers(alice, laptop) = %d, %v, want 1, nil", n, err)
		}
		for name, tt := range map[string]struct {
			c    *client
			want string
		}{"laptop": {laptop, "alice"}, "phone": {phone, ""}, "bob": {bob, "bob"}} {
			if got := tt.c.get("user"); got != tt.want {
				t.Errorf("%s: GET /get?k=user after DeleteOthers = %q, want %q", name, got, tt.want)
			}
		}

		if n, err := a.s.DeleteByOwner(ctx, "alice"); n != 1 || err != nil {
			t.Errorf("DeleteByOwner(alice) = %d, %v, want 1, nil", n, err)
		}
		if got := laptop.get("user"); got != "" {
			t.Errorf("laptop: GET /get?k=user after DeleteByOwner = %q, want %q", got, "")
		}
		if got := bob.get("user"); got != "bob" {
			t.Errorf("bob: GET /get?k=user after DeleteByOwner(alice) = %q, want %q", got, "bob")
		}
		if got := anon.get("color"); got != "blue" {
			t.Errorf("anonymous: GET /get?k=color after DeleteByOwner(alice) = %q, want %q", got, "blue")
		}
	})
}
