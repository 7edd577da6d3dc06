package httpsessione2e_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/httpsession"
	"github.com/sqlsession/sqlsession/internal/dbtest"
	"github.com/sqlsession/sqlsession/internal/testenv"
)

// env is one test's application: a Manager on a Store on a fresh table of a
// test database, served over HTTPS.
type env struct {
	t      *testing.T
	tg     dbtest.Target
	store  *sqlsession.Store
	m      *httpsession.Manager
	srv    *httptest.Server
	url    *url.URL
	writes atomic.Int64 // statements that write
	down   atomic.Bool  // the database fails every statement
	gate   *gate

	db *sql.DB
	su setup // as completed by newEnv
}

// setup configures an env.
type setup struct {
	cfg  httpsession.Config
	opts sqlsession.Options
}

// newEnv returns an env whose Store counts its writes and fails while
// e.down is set. Every Store has the owner hook on "user".
func newEnv(t *testing.T, tg dbtest.Target, db *sql.DB, schema string, su setup) *env {
	t.Helper()
	e := &env{t: t, tg: tg, gate: newGate(), db: db}
	su.opts.Table, su.opts.Schema = testenv.Name("h"), schema
	su.opts.Owner = httpsession.OwnerKey("user")
	e.su = su
	table := dbtest.QuotedTable(tg.Dialect, schema, su.opts.Table)
	t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + table) })
	e.store, e.m, e.srv = e.instance()
	if err := e.store.CreateTable(testCtx(t)); err != nil {
		t.Fatalf("CreateTable() = %v", err)
	}
	e.url, _ = url.Parse(e.srv.URL)
	e.writes.Store(0)
	return e
}

// instance starts another instance of the application on e's table: a
// Store, a Manager and a server of its own.
func (e *env) instance() (*sqlsession.Store, *httpsession.Manager, *httptest.Server) {
	e.t.Helper()
	var b sqlsession.Backend = sqlsession.SQLBackend(e.db)
	b = dbtest.CountWrites(b, &e.writes)
	b = flaky{b, &e.down}
	store, err := sqlsession.NewWithBackend(b, e.tg.Dialect, e.su.opts)
	if err != nil {
		e.t.Fatalf("sqlsession.NewWithBackend() = %v", err)
	}
	e.t.Cleanup(func() { store.Close() })
	m, err := httpsession.New(store, e.su.cfg)
	if err != nil {
		e.t.Fatalf("httpsession.New() = %v", err)
	}
	srv := httptest.NewTLSServer(m.Handler(e.routes()))
	e.t.Cleanup(srv.Close)
	return store, m, srv
}

// routes is the application:
//
//	GET  /whoami          "user=NAME"; reads the session
//	GET  /noop            "ok"; does not look at the session
//	GET  /keys            the session's keys, comma-separated
//	GET  /get?k=K         the value of K
//	POST /set?k=K&v=V     sets K to V
//	POST /login?user=X    renews the session and sets user
//	POST /logout          destroys the session
//	POST /fail?k=K        takes the database down, then sets K
//	*    /gate?...        as /whoami (no k) or /set (with k), after waiting at
//	                      e.gate once the session is loaded
func (e *env) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		var user string
		if _, err := httpsession.From(r.Context()).Get("user", &user); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		fmt.Fprintf(w, "user=%s", user)
	})
	mux.HandleFunc("GET /noop", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Join(httpsession.From(r.Context()).Keys(), ","))
	})
	mux.HandleFunc("GET /get", func(w http.ResponseWriter, r *http.Request) {
		var v string
		if _, err := httpsession.From(r.Context()).Get(r.FormValue("k"), &v); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		io.WriteString(w, v)
	})
	set := func(w http.ResponseWriter, r *http.Request) {
		if err := httpsession.From(r.Context()).Put(r.FormValue("k"), r.FormValue("v")); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		io.WriteString(w, "ok")
	}
	mux.HandleFunc("POST /set", set)
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.From(r.Context())
		if err := s.Renew(); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		if err := s.Put("user", r.FormValue("user")); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := httpsession.From(r.Context()).Destroy(); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("POST /fail", func(w http.ResponseWriter, r *http.Request) {
		e.down.Store(true)
		set(w, r)
	})
	mux.HandleFunc("/gate", func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.From(r.Context())
		var user string
		if _, err := s.Get("user", &user); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		if k := r.FormValue("k"); k != "" {
			if err := s.Put(k, r.FormValue("v")); err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
		}
		if !e.gate.wait(r.FormValue("id")) {
			http.Error(w, "the gate never opened", 500)
			return
		}
		fmt.Fprintf(w, "user=%s", user)
	})
	return mux
}

// gate holds requests until the test opens it.
type gate struct {
	mu      sync.Mutex
	arrived map[string]chan struct{} // closed when the request with that id arrives
	open    map[string]chan struct{} // closed to let it go on
}

func newGate() *gate {
	return &gate{arrived: map[string]chan struct{}{}, open: map[string]chan struct{}{}}
}

func (g *gate) chans(id string) (arrived, open chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.arrived[id] == nil {
		g.arrived[id], g.open[id] = make(chan struct{}), make(chan struct{})
	}
	return g.arrived[id], g.open[id]
}

// wait is called by the request id: it reports its arrival and waits until
// the gate opens for it (false after a minute).
func (g *gate) wait(id string) bool {
	arrived, open := g.chans(id)
	close(arrived)
	select {
	case <-open:
		return true
	case <-time.After(time.Minute):
		return false
	}
}

// await waits until the request id has arrived.
func (g *gate) await(t *testing.T, id string) {
	t.Helper()
	arrived, _ := g.chans(id)
	select {
	case <-arrived:
	case <-time.After(time.Minute):
		t.Fatalf("request %s never reached the gate", id)
	}
}

// release lets the request id go on.
func (g *gate) release(id string) {
	_, open := g.chans(id)
	close(open)
}

// flaky fails every statement while down is set, as a database that went
// away does.
type flaky struct {
	sqlsession.Backend
	down *atomic.Bool
}

var errDown = errors.New("connection refused (test: database down)")

func (f flaky) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	if f.down.Load() {
		return 0, errDown
	}
	return f.Backend.Exec(ctx, query, args...)
}

func (f flaky) QueryRow(ctx context.Context, query string, args ...any) sqlsession.Row {
	if f.down.Load() {
		return errRow{}
	}
	return f.Backend.QueryRow(ctx, query, args...)
}

func (f flaky) Query(ctx context.Context, query string, args ...any) (sqlsession.Rows, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.Backend.Query(ctx, query, args...)
}

type errRow struct{}

func (errRow) Scan(...any) error { return errDown }

// browser is an HTTP client with its own cookie jar.
type browser struct {
	e    *env
	c    *http.Client
	jar  *cookiejar.Jar
	base string // the server's URL
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	c := *e.srv.Client() // a copy: the server's client is shared
	c.Jar, c.Timeout = jar, 2*time.Minute
	return &browser{e, &c, jar, e.srv.URL}
}

// at returns b talking to srv, with b's cookies (a cookie jar ignores
// ports).
func (b *browser) at(srv *httptest.Server) *browser {
	at := *b
	at.base = srv.URL
	return &at
}

// do sends a request and returns its status and body.
func (b *browser) do(method, path string) (int, string) {
	b.e.t.Helper()
	req, err := http.NewRequest(method, b.base+path, nil)
	if err != nil {
		b.e.t.Fatal(err)
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.e.t.Errorf("%s %s: %v", method, path, err)
		return 0, ""
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// want sends a request and checks for a 200 with the given body.
func (b *browser) want(method, path, body string) {
	b.e.t.Helper()
	if code, got := b.do(method, path); code != 200 || got != body {
		b.e.t.Errorf("%s %s = %d %q, want 200 %q", method, path, code, got, body)
	}
}

// token returns the session cookie's value, "" when there is none.
func (b *browser) token() string {
	for _, c := range b.jar.Cookies(b.e.url) {
		if c.Name == b.e.m.CookieName() {
			return c.Value
		}
	}
	return ""
}

// withToken returns a new browser holding the session cookie token.
func (e *env) withToken(token string) *browser {
	b := e.browser()
	b.jar.SetCookies(e.url, []*http.Cookie{{Name: e.m.CookieName(), Value: token, Path: "/", Secure: true}})
	return b
}

// live reports whether the Store has a live session for token.
func (e *env) live(token string) bool {
	e.t.Helper()
	_, found, err := e.store.Lookup(testCtx(e.t), token)
	if err != nil {
		e.t.Fatalf("Lookup() = %v", err)
	}
	return found
}

// count returns the number of live sessions.
func (e *env) count() int64 {
	e.t.Helper()
	n, err := e.store.Count(testCtx(e.t))
	if err != nil {
		e.t.Fatalf("Count() = %v", err)
	}
	return n
}

// owned returns the number of live sessions of owner.
func (e *env) owned(owner string) int {
	e.t.Helper()
	infos, err := e.store.ListByOwner(testCtx(e.t), owner)
	if err != nil {
		e.t.Fatalf("ListByOwner(%q) = %v", owner, err)
	}
	return len(infos)
}

// keys returns the keys of the session of b.
func (b *browser) keys() []string {
	b.e.t.Helper()
	code, body := b.do("GET", "/keys")
	if code != 200 {
		b.e.t.Fatalf("GET /keys = %d %q", code, body)
	}
	if body == "" {
		return nil
	}
	keys := strings.Split(body, ",")
	slices.Sort(keys)
	return keys
}

// testCtx returns a context that ends with t, bounded so that a hung
// database fails the test instead of the whole run.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// quietLogger discards the log lines of expected failures.
func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
