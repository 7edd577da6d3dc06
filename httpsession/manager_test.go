package httpsession_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/httpsession"
)

// Handlers of the tests.
var (
	// untouched never looks at the session.
	untouched = func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }

	// reader reads "user" and writes it.
	reader = func(w http.ResponseWriter, r *http.Request) {
		var user string
		if _, err := httpsession.From(r.Context()).Get("user", &user); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		io.WriteString(w, user)
	}
)

// putter returns a handler that sets key to value.
func putter(key string, value any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := httpsession.From(r.Context()).Put(key, value); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		io.WriteString(w, "ok")
	}
}

// login creates a session holding user=name and returns its Cookie header.
func login(t *testing.T, m *httpsession.Manager, name string) string {
	t.Helper()
	res := serve(m, putter("user", name), "")
	c := res.cookie(m.CookieName())
	if res.code != 200 || c == nil {
		t.Fatalf("login: %d %q, cookie %v", res.code, res.body, c)
	}
	return c.Name + "=" + c.Value
}

func TestNew(t *testing.T) {
	sqlStore := func(opts sqlsession.Options) httpsession.Store {
		s, err := sqlsession.NewWithBackend(nopBackend{}, sqlsession.Postgres, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	tests := []struct {
		name  string
		store httpsession.Store
		cfg   httpsession.Config
		ok    bool
	}{
		{"zero config", newMemStore(), httpsession.Config{}, true},
		{"sqlsession store", sqlStore(sqlsession.Options{}), httpsession.Config{IdleTimeout: time.Hour}, true},
		{"nil store", nil, httpsession.Config{}, false},
		{"store with IdleTimeout", sqlStore(sqlsession.Options{IdleTimeout: time.Hour}), httpsession.Config{}, false},
		{"store without versions", sqlStore(sqlsession.Options{Layout: sqlsession.Layout{Version: sqlsession.NoColumn}}), httpsession.Config{}, false},
		{"store with a JSON layout", sqlStore(sqlsession.Options{Layout: sqlsession.Layout{JSON: true}}), httpsession.Config{}, true},
		{"host prefix", newMemStore(), httpsession.Config{HostPrefix: true}, true},
		{"host prefix insecure", newMemStore(), httpsession.Config{HostPrefix: true, InsecureCookie: true}, false},
		{"host prefix domain", newMemStore(), httpsession.Config{HostPrefix: true, CookieDomain: "example.com"}, false},
		{"host prefix path", newMemStore(), httpsession.Config{HostPrefix: true, CookiePath: "/app"}, false},
		{"samesite none insecure", newMemStore(), httpsession.Config{SameSite: http.SameSiteNoneMode, InsecureCookie: true}, false},
		{"samesite out of range", newMemStore(), httpsession.Config{SameSite: 9}, false},
		{"cookie name with space", newMemStore(), httpsession.Config{CookieName: "my session"}, false},
		{"cookie name with =", newMemStore(), httpsession.Config{CookieName: "a=b"}, false},
		{"cookie path with ;", newMemStore(), httpsession.Config{CookiePath: "/;x"}, false},
		{"cookie domain with ;", newMemStore(), httpsession.Config{CookieDomain: "a;b"}, false},
		{"negative lifetime", newMemStore(), httpsession.Config{Lifetime: -time.Hour}, false},
		{"lifetime under a second", newMemStore(), httpsession.Config{Lifetime: time.Millisecond}, false},
		{"negative idle", newMemStore(), httpsession.Config{IdleTimeout: -1}, false},
		{"negative max size", newMemStore(), httpsession.Config{MaxDataSize: -1}, false},
		{"retries -1", newMemStore(), httpsession.Config{Retries: -1}, true},
		{"retries -2", newMemStore(), httpsession.Config{Retries: -2}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := httpsession.New(tt.store, tt.cfg)
			if tt.ok && (m == nil || err != nil) {
				t.Errorf("New(%+v) = %v, %v, want a Manager", tt.cfg, m, err)
			}
			if !tt.ok && (m != nil || !errors.Is(err, httpsession.ErrInvalidConfig)) {
				t.Errorf("New(%+v) = %v, %v, want nil, ErrInvalidConfig", tt.cfg, m, err)
			}
		})
	}
}

// nopBackend is a sqlsession.Backend for Stores that are never used.
type nopBackend struct{}

func (nopBackend) Exec(context.Context, string, ...any) (int64, error) { return 0, errors.New("nop") }
func (nopBackend) QueryRow(context.Context, string, ...any) sqlsession.Row {
	return nopRow{}
}
func (nopBackend) Query(context.Context, string, ...any) (sqlsession.Rows, error) {
	return nil, errors.New("nop")
}

type nopRow struct{}

func (nopRow) Scan(...any) error { return errors.New("nop") }

func TestCookieAttributes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tests := []struct {
			name       string
			cfg        httpsession.Config
			cookieName string
			want       []string // in the Set-Cookie line
			notWant    []string
		}{
			{"defaults", httpsession.Config{}, "session",
				[]string{"Path=/", "HttpOnly", "Secure", "SameSite=Lax", "Max-Age=86400", "Expires=Sun, 02 Jan 2000 00:00:00 GMT"},
				[]string{"Domain"}},
			{"configured", httpsession.Config{CookieName: "sid", CookieDomain: "example.com", CookiePath: "/app", SameSite: http.SameSiteStrictMode, InsecureCookie: true, Lifetime: time.Hour},
				"sid", []string{"Path=/app", "Domain=example.com", "HttpOnly", "SameSite=Strict", "Max-Age=3600"},
				[]string{"Secure"}},
			{"host prefix", httpsession.Config{HostPrefix: true}, "__Host-session",
				[]string{"Path=/", "Secure", "HttpOnly"}, []string{"Domain"}},
			{"browser session", httpsession.Config{BrowserSession: true}, "session",
				[]string{"HttpOnly", "Secure"}, []string{"Expires", "Max-Age"}},
			{"samesite none", httpsession.Config{SameSite: http.SameSiteNoneMode}, "session",
				[]string{"SameSite=None", "Secure"}, nil},
			{"samesite default mode", httpsession.Config{SameSite: http.SameSiteDefaultMode}, "session",
				nil, []string{"SameSite"}},
		}
		for _, tt := range tests {
			m, _ := newManager(t, tt.cfg)
			if got := m.CookieName(); got != tt.cookieName {
				t.Errorf("%s: CookieName() = %q, want %q", tt.name, got, tt.cookieName)
			}
			res := serve(m, putter("user", "ada"), "")
			line := res.header.Get("Set-Cookie")
			if !strings.HasPrefix(line, tt.cookieName+"=") {
				t.Errorf("%s: Set-Cookie = %q, want cookie %q", tt.name, line, tt.cookieName)
			}
			for _, w := range tt.want {
				if !strings.Contains(line, w) {
					t.Errorf("%s: Set-Cookie = %q, want %q in it", tt.name, line, w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(line, w) {
					t.Errorf("%s: Set-Cookie = %q, want no %q in it", tt.name, line, w)
				}
			}
			if got := res.header.Values("Vary"); len(got) != 1 || got[0] != "Cookie" {
				t.Errorf("%s: Vary = %q, want [Cookie]", tt.name, got)
			}
			// The cookie is read back under its name.
			c := res.cookie(tt.cookieName)
			if got := serve(m, reader, c.Name+"="+c.Value); got.body != "ada" {
				t.Errorf("%s: GET with the cookie = %q, want %q", tt.name, got.body, "ada")
			}
		}
	})
}

func TestEmptyVisitor(t *testing.T) {
	handlers := []struct {
		name string
		h    http.HandlerFunc
	}{
		{"untouched", untouched},
		{"reads", reader},
		{"puts and deletes", func(w http.ResponseWriter, r *http.Request) {
			s := httpsession.From(r.Context())
			s.Put("x", 1)
			s.Delete("x")
		}},
		{"sets persistence", func(w http.ResponseWriter, r *http.Request) {
			httpsession.From(r.Context()).SetPersistent(true)
		}},
		{"renews", func(w http.ResponseWriter, r *http.Request) {
			if err := httpsession.From(r.Context()).Renew(); err != nil {
				t.Error(err)
			}
		}},
		{"destroys", func(w http.ResponseWriter, r *http.Request) {
			if err := httpsession.From(r.Context()).Destroy(); err != nil {
				t.Error(err)
			}
		}},
	}
	for _, h := range handlers {
		t.Run(h.name, func(t *testing.T) {
			m, st := newManager(t, httpsession.Config{})
			res := serve(m, h.h, "")
			if res.code != 200 {
				t.Errorf("status = %d, want 200", res.code)
			}
			if c := res.header.Get("Set-Cookie"); c != "" {
				t.Errorf("Set-Cookie = %q, want none", c)
			}
			if n := st.count("Lookup") + st.writes(); n != 0 {
				t.Errorf("Store calls = %d, want 0", n)
			}
		})
	}
}

func TestReadOnlyWritesNothing(t *testing.T) {
	for _, idle := range []time.Duration{0, time.Hour} {
		t.Run(fmt.Sprintf("idle=%v", idle), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m, st := newManager(t, httpsession.Config{IdleTimeout: idle})
				cookie := login(t, m, "ada")
				writes := st.writes()
				for i := range 10 {
					time.Sleep(30 * time.Second) // less than a tenth of IdleTimeout in all
					for _, h := range []http.HandlerFunc{untouched, reader} {
						res := serve(m, h, cookie)
						if res.header.Get("Set-Cookie") != "" {
							t.Errorf("request %d: Set-Cookie = %q, want none", i, res.header.Get("Set-Cookie"))
						}
					}
				}
				if got := st.writes() - writes; got > 0 {
					t.Errorf("20 read-only requests wrote %d times, want 0", got)
				}
				if got := st.count("Lookup"); got != 20 {
					t.Errorf("20 read-only requests made %d Lookups, want 20", got)
				}
			})
		})
	}
}

// TestUntouchedSkipsDecoding checks that a request that does not use its
// session does not decode it: an unreadable row is left alone by such
// requests, and deleted by the first that reads it.
func TestUntouchedSkipsDecoding(t *testing.T) {
	var logs logBuffer
	m, st := newManager(t, httpsession.Config{Logger: logs.logger()})
	tok := sqlsession.NewToken()
	st.put(tok, "\x00not json", time.Now().Add(time.Hour))
	serve(m, untouched, "session="+tok)
	if _, _, ok := st.row(tok); !ok || logs.String() != "" {
		t.Fatalf("an untouched request decoded the row: row kept %v, log %q", ok, logs.String())
	}
	res := serve(m, reader, "session="+tok)
	if res.code != 200 || res.body != "" {
		t.Errorf("GET = %d %q, want 200 \"\"", res.code, res.body)
	}
	if _, _, ok := st.row(tok); ok {
		t.Errorf("the unreadable row is still there")
	}
	if !logs.contains("unreadable session data") {
		t.Errorf("log = %q, want a warning about the unreadable row", logs.String())
	}
}

func TestPutGet(t *testing.T) {
	type user struct {
		Name  string   `json:"name"`
		Roles []string `json:"roles"`
	}
	m, st := newManager(t, httpsession.Config{})
	res := serve(m, func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.From(r.Context())
		for k, v := range map[string]any{"user": user{"ada", []string{"admin"}}, "n": 42, "s": "<b>", "nil": nil} {
			if err := s.Put(k, v); err != nil {
				t.Errorf("Put(%q) = %v", k, err)
			}
		}
		// A value is readable in the request that put it.
		var n int
		if found, err := s.Get("n", &n); !found || err != nil || n != 42 {
			t.Errorf("Get(n) in the same request = %v, %v, %d, want true, nil, 42", found, err, n)
		}
	}, "")
	c := res.cookie("session")
	if c == nil {
		t.Fatal("no cookie")
	}
	if st.count("Save") != 1 {
		t.Errorf("Save calls = %d, want 1", st.count("Save"))
	}
	data, _, _ := st.row(c.Value)
	if !strings.HasPrefix(data, `{"_httpsession":{"created":`) || !strings.Contains(data, `"s":"\u003cb\u003e"`) {
		t.Errorf("row = %s, want the meta key first and JSON values", data)
	}
	serve(m, func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.From(r.Context())
		var u user
		if found, err := s.Get("user", &u); !found || err != nil || u.Name != "ada" || len(u.Roles) != 1 {
			t.Errorf("Get(user) = %v, %v, %+v", found, err, u)
		}
		var str string
		if found, err := s.Get("s", &str); !found || err != nil || str != "<b>" {
			t.Errorf("Get(s) = %v, %v, %q", found, err, str)
		}
		var missing string
		if found, err := s.Get("missing", &missing); found || err != nil {
			t.Errorf("Get(missing) = %v, %v, want false, nil", found, err)
		}
		var wrong int
		if found, err := s.Get("s", &wrong); !found || err == nil {
			t.Errorf("Get(s) into an int = %v, %v, want true and an error", found, err)
		}
		if got, want := strings.Join(s.Keys(), ","), "n,nil,s,user"; got != want {
			t.Errorf("Keys() = %s, want %s", got, want)
		}
		if s.Token() != c.Value {
			t.Errorf("Token() = %q, want the cookie's", s.Token())
		}
	}, "session="+c.Value)
}

func TestPutErrors(t *testing.T) {
	m, _ := newManager(t, httpsession.Config{MaxDataSize: 100})
	serve(m, func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.From(r.Context())
		tests := []struct {
			key  string
			v    any
			want error
		}{
			{httpsession.MetaKey, 1, httpsession.ErrInvalidKey},
			{"\xff", 1, httpsession.ErrInvalidKey},
			{"big", strings.Repeat("x", 200), sqlsession.ErrTooLarge},
		}
		for _, tt := range tests {
			if err := s.Put(tt.key, tt.v); !errors.Is(err, tt.want) {
				t.Errorf("Put(%q) = %v, want %v", tt.key, err, tt.want)
			}
		}
		if err := s.Put("ch", make(chan int)); err == nil {
			t.Errorf("Put(chan) = nil, want an error")
		}
		var v int
		if _, err := s.Get(httpsession.MetaKey, &v); !errors.Is(err, httpsession.ErrInvalidKey) {
			t.Errorf("Get(MetaKey) = %v, want ErrInvalidKey", err)
		}
	}, "")
}

func TestCommitBeforeHeaders(t *testing.T) {
	tests := []struct {
		name string
		h    http.HandlerFunc
	}{
		{"write", func(w http.ResponseWriter, r *http.Request) {
			httpsession.From(r.Context()).Put("k", 1)
			io.WriteString(w, "body")
		}},
		{"write header", func(w http.ResponseWriter, r *http.Request) {
			httpsession.From(r.Context()).Put("k", 1)
			w.WriteHeader(201)
		}},
		{"flush", func(w http.ResponseWriter, r *http.Request) {
			httpsession.From(r.Context()).Put("k", 1)
			w.(http.Flusher).Flush()
		}},
		{"response controller flush", func(w http.ResponseWriter, r *http.Request) {
			httpsession.From(r.Context()).Put("k", 1)
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Errorf("Flush() = %v", err)
			}
		}},
		{"read from", func(w http.ResponseWriter, r *http.Request) {
			httpsession.From(r.Context()).Put("k", 1)
			w.(io.ReaderFrom).ReadFrom(strings.NewReader("body"))
		}},
		{"return", func(w http.ResponseWriter, r *http.Request) {
			httpsession.From(r.Context()).Put("k", 1)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, st := newManager(t, httpsession.Config{})
			var putAfter error
			res := serve(m, func(w http.ResponseWriter, r *http.Request) {
				tt.h(w, r)
				putAfter = httpsession.From(r.Context()).Put("late", 1)
			}, "")
			if res.cookie("session") == nil {
				t.Fatalf("no cookie in the response headers: %v", res.header)
			}
			if st.count("Save") != 1 {
				t.Errorf("Save calls = %d, want 1", st.count("Save"))
			}
			data, _, _ := st.row(res.cookie("session").Value)
			if tt.name != "return" && strings.Contains(data, "late") {
				t.Errorf("row %s holds a key put after the commit", data)
			}
			if tt.name == "return" {
				return // the Put came before the commit at return
			}
			if !errors.Is(putAfter, httpsession.ErrCommitted) {
				t.Errorf("Put after the response started = %v, want ErrCommitted", putAfter)
			}
		})
	}
}

func TestPanicCommitsNothing(t *testing.T) {
	m, st := newManager(t, httpsession.Config{})
	cookie := login(t, m, "ada")
	writes := st.writes()
	for _, c := range []string{"", cookie} {
		func() {
			defer func() {
				if v := recover(); v != "boom" {
					t.Errorf("recover() = %v, want boom", v)
				}
			}()
			serve(m, func(w http.ResponseWriter, r *http.Request) {
				httpsession.From(r.Context()).Put("user", "mallory")
				panic("boom")
			}, c)
		}()
	}
	if got := st.writes() - writes; got != 0 {
		t.Errorf("panicking handlers wrote %d times, want 0", got)
	}
	if res := serve(m, reader, cookie); res.body != "ada" {
		t.Errorf("user after a panicking request = %q, want ada", res.body)
	}
}

func TestStoreFailures(t *testing.T) {
	errDown := errors.New("database is down")
	tests := []struct {
		name   string
		failOp string
		h      http.HandlerFunc
		cookie bool
	}{
		{"load", "Lookup", untouched, true},
		{"save of a new session", "Save", putter("k", 1), false},
		{"compare-and-swap", "SaveIf", putter("k", 1), true},
		{"renew", "Delete", func(w http.ResponseWriter, r *http.Request) {
			if err := httpsession.From(r.Context()).Renew(); err != nil {
				http.Error(w, "renew failed", http.StatusServiceUnavailable)
				return
			}
		}, true},
		{"destroy", "Delete", func(w http.ResponseWriter, r *http.Request) {
			if err := httpsession.From(r.Context()).Destroy(); err != nil {
				http.Error(w, "destroy failed", http.StatusServiceUnavailable)
			}
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs logBuffer
			m, st := newManager(t, httpsession.Config{Logger: logs.logger()})
			cookie := ""
			if tt.cookie {
				cookie = login(t, m, "ada")
			}
			st.hook = func(op, _ string) error {
				if op == tt.failOp {
					return errDown
				}
				return nil
			}
			ran := false
			var writeErr error
			res := serve(m, func(w http.ResponseWriter, r *http.Request) {
				ran = true
				tt.h(w, r)
				_, writeErr = io.WriteString(w, "handler's body")
			}, cookie)
			switch tt.failOp {
			case "Delete": // the handler sees the error and answers
				if res.code != 503 {
					t.Errorf("status = %d, want the handler's 503", res.code)
				}
			default:
				if res.code != 500 || strings.Contains(res.body, "handler") {
					t.Errorf("response = %d %q, want the default ErrorHandler's 500", res.code, res.body)
				}
				if !logs.contains("database is down") {
					t.Errorf("log = %q, want the error", logs.String())
				}
				if tt.failOp == "Lookup" && ran {
					t.Errorf("the handler ran after the session failed to load")
				}
				if tt.failOp != "Lookup" && !errors.Is(writeErr, httpsession.ErrCommitFailed) {
					t.Errorf("handler's Write after a failed commit = %v, want ErrCommitFailed", writeErr)
				}
			}
			if c := res.header.Get("Set-Cookie"); c != "" {
				t.Errorf("Set-Cookie = %q, want none", c)
			}
			st.hook = nil
			if cookie != "" {
				if got := serve(m, reader, cookie); got.body != "ada" {
					t.Errorf("after the failure, the session holds user %q, want ada: a failure is not a logout", got.body)
				}
			}
		})
	}
}

// TestClientGone checks that a load cut short by a client that went away
// is not logged as an error.
func TestClientGone(t *testing.T) {
	var logs logBuffer
	m, st := newManager(t, httpsession.Config{Logger: logs.logger()})
	cookie := login(t, m, "ada")
	st.hook = func(op, _ string) error {
		if op == "Lookup" {
			return fmt.Errorf("sqlsession: find: %w", context.Canceled)
		}
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(ctx, "GET", "https://example.com/", nil)
	req.Header.Set("Cookie", cookie)
	rec := httptest.NewRecorder()
	m.Handler(http.HandlerFunc(untouched)).ServeHTTP(rec, req)
	if rec.Code != 500 || logs.contains("level=ERROR") || !logs.contains("level=DEBUG") {
		t.Errorf("a cancelled load: status %d, log %q, want 500 and a DEBUG line", rec.Code, logs.String())
	}
}

func TestErrorHandler(t *testing.T) {
	errDown := errors.New("database is down")
	var got error
	m, st := newManager(t, httpsession.Config{ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		got = err
		http.Error(w, "try again", http.StatusServiceUnavailable)
	}})
	st.hook = func(op, _ string) error {
		if op == "Save" {
			return errDown
		}
		return nil
	}
	res := serve(m, func(w http.ResponseWriter, r *http.Request) {
		httpsession.From(r.Context()).Put("k", 1)
		w.Header().Set("X-Handler", "yes")
		w.WriteHeader(201)
		io.WriteString(w, "created")
	}, "")
	if res.code != 503 || res.body != "try again\n" {
		t.Errorf("response = %d %q, want the ErrorHandler's 503", res.code, res.body)
	}
	if !errors.Is(got, errDown) {
		t.Errorf("ErrorHandler got %v, want an error wrapping %v", got, errDown)
	}
}

func TestRenew(t *testing.T) {
	m, st := newManager(t, httpsession.Config{})
	old := login(t, m, "ada")
	res := serve(m, func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.From(r.Context())
		if err := s.Renew(); err != nil {
			t.Fatalf("Renew() = %v", err)
		}
		if tok := s.Token(); tok == "" || "session="+tok == old {
			t.Errorf("Token() after Renew = %q, want a new token", tok)
		}
		s.Put("role", "admin")
	}, old)
	c := res.cookie("session")
	if c == nil || "session="+c.Value == old {
		t.Fatalf("Renew: cookie %v, want a new one", c)
	}
	if got := serve(m, reader, "session="+c.Value); got.body != "ada" {
		t.Errorf("user under the new token = %q, want ada", got.body)
	}
	if got := serve(m, reader, old); got.body != "" {
		t.Errorf("user under the old token = %q, want none", got.body)
	}
	if n := st.liveRows(); n != 1 {
		t.Errorf("live rows = %d, want 1", n)
	}
	// A renewed session that ends empty expires the cookie.
	res = serve(m, func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.From(r.Context())
		s.Renew()
		for _, k := range s.Keys() {
			s.Delete(k)
		}
	}, "session="+c.Value)
	if got := res.cookie("session"); got == nil || got.MaxAge >= 0 {
		t.Errorf("cookie of an emptied renewed session = %v, want an expired one", got)
	}
	if n := st.liveRows(); n != 0 {
		t.Errorf("live rows = %d, want 0", n)
	}
}

func TestDestroy(t *testing.T) {
	m, st := newManager(t, httpsession.Config{})
	cookie := login(t, m, "ada")
	res := serve(m, func(w http.ResponseWriter, r *http.Request) {
		if err := httpsession.From(r.Context()).Destroy(); err != nil {
			t.Errorf("Destroy() = %v", err)
		}
	}, cookie)
	c := res.cookie("session")
	if c == nil || c.Value != "" || c.MaxAge >= 0 {
		t.Errorf("cookie after Destroy = %v, want an expired one", c)
	}
	if n := st.liveRows(); n != 0 {
		t.Errorf("live rows after Destroy = %d, want 0", n)
	}
	if got := serve(m, reader, cookie); got.body != "" {
		t.Errorf("user after Destroy = %q, want none", got.body)
	}
	// Destroy, then Put: a new session under a new token.
	cookie = login(t, m, "ada")
	res = serve(m, func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.From(r.Context())
		s.Destroy()
		if len(s.Keys()) != 0 {
			t.Errorf("Keys() after Destroy = %v, want none", s.Keys())
		}
		s.Put("user", "bob")
	}, cookie)
	c = res.cookie("session")
	if c == nil || "session="+c.Value == cookie || c.MaxAge <= 0 {
		t.Fatalf("cookie after Destroy and Put = %v, want a new persistent one", c)
	}
	if got := serve(m, reader, "session="+c.Value); got.body != "bob" {
		t.Errorf("user of the new session = %q, want bob", got.body)
	}
}

// TestMerge commits sessions loaded at the same time, one after the other.
func TestMerge(t *testing.T) {
	ctx := context.Background()
	type step struct {
		put    map[string]any
		delete []string
	}
	tests := []struct {
		name  string
		start map[string]any
		steps []step // loaded together, committed in order
		want  string // the row's values after the meta key
	}{
		{"distinct keys", nil, []step{{put: map[string]any{"a": 1}}, {put: map[string]any{"b": 2}}, {put: map[string]any{"c": 3}}}, `"a":1,"b":2,"c":3,"user":"ada"`},
		{"same key: the later commit wins", nil, []step{{put: map[string]any{"k": "first"}}, {put: map[string]any{"k": "second"}}}, `"k":"second","user":"ada"`},
		{"delete and put", map[string]any{"cart": 3}, []step{{delete: []string{"cart"}}, {put: map[string]any{"x": 1}}}, `"user":"ada","x":1`},
		{"put over a delete", map[string]any{"cart": 3}, []step{{put: map[string]any{"x": 1}}, {delete: []string{"cart"}}}, `"user":"ada","x":1`},
		{"read-only beside a writer", nil, []step{{put: map[string]any{"a": 1}}, {}}, `"a":1,"user":"ada"`},
		{"same change twice", nil, []step{{put: map[string]any{"a": 1}}, {put: map[string]any{"a": 1}}}, `"a":1,"user":"ada"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, st := newManager(t, httpsession.Config{})
			tok := strings.TrimPrefix(login(t, m, "ada"), "session=")
			if tt.start != nil {
				s, _ := m.Load(ctx, tok)
				for k, v := range tt.start {
					s.Put(k, v)
				}
				m.Commit(ctx, s)
			}
			var sessions []*httpsession.Session
			for _, stp := range tt.steps {
				s, err := m.Load(ctx, tok)
				if err != nil {
					t.Fatal(err)
				}
				for k, v := range stp.put {
					s.Put(k, v)
				}
				for _, k := range stp.delete {
					s.Delete(k)
				}
				sessions = append(sessions, s)
			}
			for i, s := range sessions {
				if c, err := m.Commit(ctx, s); c != nil || err != nil {
					t.Errorf("Commit(%d) = %v, %v, want nil, nil", i, c, err)
				}
			}
			data, _, _ := st.row(tok)
			if _, values, _ := strings.Cut(data, "},"); values != tt.want+"}" {
				t.Errorf("row = %s, want values %s", data, tt.want)
			}
		})
	}
}

// TestConcurrentKeys runs 50 requests of one session at once, each
// setting its own key: all 50 keys are kept.
func TestConcurrentKeys(t *testing.T) {
	const n = 50
	m, st := newManager(t, httpsession.Config{})
	cookie := login(t, m, "ada")
	// Every request loads before any commits.
	var loaded sync.WaitGroup
	loaded.Add(n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := serve(m, func(w http.ResponseWriter, r *http.Request) {
				loaded.Done()
				loaded.Wait()
				httpsession.From(r.Context()).Put(fmt.Sprintf("k%02d", i), i)
			}, cookie)
			if res.code != 200 {
				t.Errorf("request %d: %d %q", i, res.code, res.body)
			}
		}()
	}
	wg.Wait()
	serve(m, func(w http.ResponseWriter, r *http.Request) {
		if got := len(httpsession.From(r.Context()).Keys()); got != n+1 {
			t.Errorf("keys after %d concurrent puts = %d, want %d", n, got, n+1)
		}
	}, cookie)
	t.Logf("SaveIf calls: %d, Lookups: %d", st.count("SaveIf"), st.count("Lookup"))
}

// TestLogoutIsFinal commits requests that loaded a session before it was
// destroyed, renewed or expired: none brings it back.
func TestLogoutIsFinal(t *testing.T) {
	ctx := context.Background()
	ends := []struct {
		name string
		end  func(m *httpsession.Manager, tok string) error
	}{
		{"destroy", func(m *httpsession.Manager, tok string) error {
			s, _ := m.Load(ctx, tok)
			if err := s.Destroy(); err != nil {
				return err
			}
			_, err := m.Commit(ctx, s)
			return err
		}},
		{"renew", func(m *httpsession.Manager, tok string) error {
			s, _ := m.Load(ctx, tok)
			if err := s.Renew(); err != nil {
				return err
			}
			_, err := m.Commit(ctx, s)
			return err
		}},
	}
	for _, end := range ends {
		for _, idle := range []time.Duration{0, time.Hour} {
			t.Run(fmt.Sprintf("%s/idle=%v", end.name, idle), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					m, st := newManager(t, httpsession.Config{IdleTimeout: idle})
					tok := strings.TrimPrefix(login(t, m, "ada"), "session=")
					// In flight: a reader, a writer, a renewer and a destroyer.
					reader, _ := m.Load(ctx, tok)
					reader.Get("user", new(string))
					writer, _ := m.Load(ctx, tok)
					writer.Put("cart", 1)
					setter, _ := m.Load(ctx, tok)
					setter.SetPersistent(false)
					time.Sleep(30 * time.Minute) // a touch is due
					if err := end.end(m, tok); err != nil {
						t.Fatal(err)
					}
					rows := st.liveRows()
					for name, s := range map[string]*httpsession.Session{"reader": reader, "writer": writer, "setter": setter} {
						c, err := m.Commit(ctx, s)
						if c != nil || err != nil {
							t.Errorf("%s: Commit() = %v, %v, want nil, nil", name, c, err)
						}
					}
					if _, _, ok := st.row(tok); ok {
						t.Errorf("the ended session is back")
					}
					if got := st.liveRows(); got != rows {
						t.Errorf("live rows = %d after the late commits, want %d", got, rows)
					}
				})
			})
		}
	}
}

func TestIdleTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const idle = 30 * time.Minute
		m, st := newManager(t, httpsession.Config{IdleTimeout: idle, Lifetime: 2 * time.Hour})
		start := time.Now()
		cookie := login(t, m, "ada")
		tok := strings.TrimPrefix(cookie, "session=")
		if _, exp, _ := st.row(tok); !exp.Equal(start.Add(idle)) {
			t.Errorf("expiry of a new session = %v, want now+IdleTimeout", exp.Sub(start))
		}
		// Within a tenth of the idle timeout: nothing is written.
		time.Sleep(idle / 20)
		serve(m, untouched, cookie)
		if n := st.count("Touch"); n != 0 {
			t.Errorf("Touch calls after %v = %d, want 0", idle/20, n)
		}
		// Past it: one Touch, to now+idle.
		time.Sleep(idle / 10)
		serve(m, untouched, cookie)
		serve(m, untouched, cookie)
		if n := st.count("Touch"); n != 1 {
			t.Errorf("Touch calls after %v = %d, want 1", idle/20+idle/10, n)
		}
		if _, exp, _ := st.row(tok); !exp.Equal(time.Now().Add(idle)) {
			t.Errorf("expiry after a touch = now%+v, want now+%v", -time.Until(exp), idle)
		}
		// Active all along, the session still ends with its Lifetime.
		for time.Since(start)+10*time.Minute < 2*time.Hour {
			time.Sleep(10 * time.Minute)
			if got := serve(m, reader, cookie); got.body != "ada" {
				t.Fatalf("after %v of activity: user %q, want ada", time.Since(start), got.body)
			}
		}
		if _, exp, _ := st.row(tok); !exp.Equal(start.Add(2 * time.Hour)) {
			t.Errorf("expiry near the end of the lifetime = start+%v, want start+2h", exp.Sub(start))
		}
		time.Sleep(10 * time.Minute)
		if got := serve(m, reader, cookie); got.body != "" {
			t.Errorf("after the lifetime: user %q, want none", got.body)
		}
		// Idle for longer than IdleTimeout: the session has ended.
		cookie = login(t, m, "bob")
		time.Sleep(idle + time.Second)
		if got := serve(m, reader, cookie); got.body != "" {
			t.Errorf("after %v idle: user %q, want none", idle, got.body)
		}
	})
}

func TestLifetime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, st := newManager(t, httpsession.Config{Lifetime: time.Hour})
		start := time.Now()
		cookie := login(t, m, "ada")
		tok := strings.TrimPrefix(cookie, "session=")
		for range 5 {
			time.Sleep(10 * time.Minute)
			serve(m, putter("n", time.Now().Unix()), cookie)
		}
		if _, exp, _ := st.row(tok); !exp.Equal(start.Add(time.Hour)) {
			t.Errorf("expiry after writes = start+%v, want start+1h: writes keep the deadline", exp.Sub(start))
		}
		// Renew starts the lifetime again.
		res := serve(m, func(w http.ResponseWriter, r *http.Request) { httpsession.From(r.Context()).Renew() }, cookie)
		c := res.cookie("session")
		if _, exp, _ := st.row(c.Value); !exp.Equal(time.Now().Add(time.Hour)) {
			t.Errorf("expiry after Renew = now%+v, want now+1h", -time.Until(exp))
		}
		if c.MaxAge != 3600 {
			t.Errorf("cookie Max-Age after Renew = %d, want 3600", c.MaxAge)
		}
	})
}

func TestSetPersistent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		type step struct {
			persistent bool
			cookie     bool // a Set-Cookie is sent, with the same token
			write      bool
		}
		tests := []struct {
			browserSession bool
			steps          []step
		}{
			{false, []step{{true, true, true}, {false, true, true}, {false, false, false}, {true, true, true}}},
			{true, []step{{false, true, true}, {true, true, true}, {true, false, false}}},
		}
		for _, tt := range tests {
			m, st := newManager(t, httpsession.Config{BrowserSession: tt.browserSession})
			cookie := login(t, m, "ada")
			for i, stp := range tt.steps {
				writes := st.writes()
				res := serve(m, func(w http.ResponseWriter, r *http.Request) {
					if err := httpsession.From(r.Context()).SetPersistent(stp.persistent); err != nil {
						t.Errorf("SetPersistent(%v) = %v", stp.persistent, err)
					}
				}, cookie)
				c := res.cookie("session")
				if (c != nil) != stp.cookie {
					t.Fatalf("BrowserSession=%v, step %d: SetPersistent(%v): cookie %v, want one: %v", tt.browserSession, i, stp.persistent, c, stp.cookie)
				}
				if c != nil && (c.MaxAge > 0 != stp.persistent || "session="+c.Value != cookie) {
					t.Errorf("BrowserSession=%v, step %d: SetPersistent(%v): cookie %v, want persistent %v, same token", tt.browserSession, i, stp.persistent, c, stp.persistent)
				}
				if wrote := st.writes() > writes; wrote != stp.write {
					t.Errorf("BrowserSession=%v, step %d: SetPersistent(%v): wrote %v, want %v", tt.browserSession, i, stp.persistent, wrote, stp.write)
				}
			}
			// A new session that opts out of the default.
			res := serve(m, func(w http.ResponseWriter, r *http.Request) {
				s := httpsession.From(r.Context())
				s.Put("user", "bob")
				s.SetPersistent(tt.browserSession)
			}, "")
			if c := res.cookie("session"); c == nil || c.MaxAge > 0 != tt.browserSession {
				t.Errorf("BrowserSession=%v: new session with SetPersistent(%v): cookie %v", tt.browserSession, tt.browserSession, c)
			}
		}
	})
}

func TestMalformedCookies(t *testing.T) {
	m, st := newManager(t, httpsession.Config{})
	good := login(t, m, "ada")
	tok := strings.TrimPrefix(good, "session=")
	tests := []struct {
		header string
		user   string
		lookup bool
	}{
		{"session=", "", false},
		{"session", "", false},
		{"session=with space", "", false},
		{"session=" + strings.Repeat("a", sqlsession.MaxTokenLength+1), "", false},
		{"session=é", "", false},
		{`session="` + tok, "", false},
		{"session=" + tok + "x", "", true},
		{"other=" + tok, "", false},
		{"Session=" + tok, "", false},
		{`session="` + tok + `"`, "ada", true},
		{"a=b; session=" + tok + "; c=d", "ada", true},
		{"session=; session=" + tok, "ada", true},
		{"session = " + tok, "ada", true},
		{";;; =;session=\t" + tok + "\t", "ada", true},
	}
	for _, tt := range tests {
		before := st.count("Lookup")
		res := serve(m, reader, tt.header)
		if res.code != 200 || res.body != tt.user {
			t.Errorf("Cookie: %q: %d %q, want 200 %q", tt.header, res.code, res.body, tt.user)
		}
		if looked := st.count("Lookup") > before; looked != tt.lookup {
			t.Errorf("Cookie: %q: looked up %v, want %v", tt.header, looked, tt.lookup)
		}
		if c := res.header.Get("Set-Cookie"); c != "" {
			t.Errorf("Cookie: %q: Set-Cookie %q, want none", tt.header, c)
		}
	}
	// A malformed cookie and a Put: a fresh session under a new token.
	res := serve(m, putter("user", "bob"), "session=with space")
	if c := res.cookie("session"); c == nil || !sqlsession.ValidToken(c.Value) || c.Value == tok {
		t.Errorf("cookie = %v, want a new session", c)
	}
}

func TestUnreadableRows(t *testing.T) {
	m, st := newManager(t, httpsession.Config{MaxDataSize: 1000})
	tests := []struct {
		name string
		data string
	}{
		{"not json", "gob\x00\x01"},
		{"array", `[1,2]`},
		{"null", `null`},
		{"string", `"x"`},
		{"truncated", `{"user":"ada"`},
		{"bad meta", `{"_httpsession":"x","user":"ada"}`},
		{"too large", `{"user":"` + strings.Repeat("a", 1000) + `"}`},
	}
	for _, tt := range tests {
		var logs logBuffer
		m2, _ := httpsession.New(st, httpsession.Config{MaxDataSize: 1000, Logger: logs.logger()})
		tok := sqlsession.NewToken()
		st.put(tok, tt.data, time.Now().Add(time.Hour))
		res := serve(m2, reader, "session="+tok)
		if res.code != 200 || res.body != "" {
			t.Errorf("%s: GET = %d %q, want 200 and no user", tt.name, res.code, res.body)
		}
		if _, _, ok := st.row(tok); ok {
			t.Errorf("%s: the row is still there", tt.name)
		}
		if !logs.contains("unreadable") {
			t.Errorf("%s: log %q, want a warning", tt.name, logs.String())
		}
	}
	// Rows of other software that are JSON objects are read.
	tok := sqlsession.NewToken()
	st.put(tok, ` {"user": "ada"} `, time.Now().Add(time.Hour))
	if res := serve(m, reader, "session="+tok); res.body != "ada" {
		t.Errorf("a JSON row without meta: user %q, want ada", res.body)
	}
	st.put(tok, ``, time.Now().Add(time.Hour))
	if res := serve(m, reader, "session="+tok); res.code != 200 || res.body != "" {
		t.Errorf("an empty row: %d %q, want 200 and no user", res.code, res.body)
	}
	if _, _, ok := st.row(tok); !ok {
		t.Errorf("an empty row was deleted; it is an empty session")
	}
}

func TestRetries(t *testing.T) {
	for _, retries := range []int{-1, 3} {
		var logs logBuffer
		m, st := newManager(t, httpsession.Config{Retries: retries, Logger: logs.logger()})
		cookie := login(t, m, "ada")
		tok := strings.TrimPrefix(cookie, "session=")
		// Another writer gets in before every compare-and-swap.
		n := 0
		st.hook = func(op, _ string) error {
			if op == "SaveIf" {
				n++
				st.put(tok, fmt.Sprintf(`{"_httpsession":{"created":1},"other":%d}`, n), time.Now().Add(time.Hour))
			}
			return nil
		}
		res := serve(m, putter("mine", 1), cookie)
		if res.code != 500 {
			t.Errorf("Retries=%d: status %d, want 500 after the tries run out", retries, res.code)
		}
		want := max(retries, 0) + 1
		if n != want {
			t.Errorf("Retries=%d: SaveIf calls = %d, want %d", retries, n, want)
		}
	}
}

func TestNilSession(t *testing.T) {
	s := httpsession.From(context.Background())
	if s != nil {
		t.Fatalf("From(Background) = %v, want nil", s)
	}
	var v any
	for name, err := range map[string]error{
		"Put":           s.Put("k", 1),
		"Renew":         s.Renew(),
		"Destroy":       s.Destroy(),
		"SetPersistent": s.SetPersistent(true),
	} {
		if !errors.Is(err, httpsession.ErrNoSession) {
			t.Errorf("nil %s() = %v, want ErrNoSession", name, err)
		}
	}
	if _, err := s.Get("k", &v); !errors.Is(err, httpsession.ErrNoSession) {
		t.Errorf("nil Get() = %v, want ErrNoSession", err)
	}
	s.Delete("k")
	if s.Keys() != nil || s.Token() != "" {
		t.Errorf("nil Keys(), Token() = %v, %q, want nil, \"\"", s.Keys(), s.Token())
	}
	m, _ := newManager(t, httpsession.Config{})
	if c, err := m.Commit(context.Background(), nil); c != nil || !errors.Is(err, httpsession.ErrNoSession) {
		t.Errorf("Commit(nil) = %v, %v, want nil, ErrNoSession", c, err)
	}
}

func TestLoadCommit(t *testing.T) {
	ctx := context.Background()
	m, st := newManager(t, httpsession.Config{})
	s, err := m.Load(ctx, "")
	if err != nil || s == nil {
		t.Fatalf("Load(\"\") = %v, %v", s, err)
	}
	s.Put("user", "ada")
	c, err := m.Commit(ctx, s)
	if err != nil || c == nil || c.Value != s.Token() {
		t.Fatalf("Commit() = %v, %v, want the cookie of %q", c, err, s.Token())
	}
	if c2, err := m.Commit(ctx, s); c2 != nil || err != nil {
		t.Errorf("second Commit() = %v, %v, want nil, nil", c2, err)
	}
	if err := s.Put("x", 1); !errors.Is(err, httpsession.ErrCommitted) {
		t.Errorf("Put after Commit = %v, want ErrCommitted", err)
	}
	for name, err := range map[string]error{"Renew": s.Renew(), "Destroy": s.Destroy(), "SetPersistent": s.SetPersistent(false)} {
		if !errors.Is(err, httpsession.ErrCommitted) {
			t.Errorf("%s after Commit = %v, want ErrCommitted", name, err)
		}
	}
	ctx2 := httpsession.NewContext(ctx, s)
	if httpsession.From(ctx2) != s {
		t.Errorf("From(NewContext(s)) is not s")
	}
	// The request's cancellation does not cut a commit short.
	cctx, cancel := context.WithCancel(ctx)
	s2, _ := m.Load(cctx, c.Value)
	s2.Put("k", 1)
	st.hook = func(op, _ string) error {
		if op == "SaveIf" {
			cancel()
		}
		return nil
	}
	seen := false
	st.hook = func(op, _ string) error {
		if op == "SaveIf" {
			cancel()
			seen = true
		}
		return nil
	}
	if _, err := m.Commit(cctx, s2); err != nil || !seen {
		t.Errorf("Commit with a cancelled context = %v, want nil", err)
	}
}

// TestOwnerKey reads owners from session data.
func TestOwnerKey(t *testing.T) {
	owner := httpsession.OwnerKey("user")
	tests := []struct {
		data    string
		want    string
		wantErr bool
	}{
		{`{"user":"ada"}`, "ada", false},
		{`{"user":42}`, "42", false},
		{`{"user":12345678901234567890}`, "12345678901234567890", false},
		{`{"user":true}`, "true", false},
		{`{"user":null}`, "", false},
		{`{"user":{"id":1}}`, "", false},
		{`{"other":"x"}`, "", false},
		{``, "", false},
		{`{"_httpsession":{"created":1},"user":"ada"}`, "ada", false},
		{`not json`, "", true},
		{`[1]`, "", true},
	}
	for _, tt := range tests {
		got, err := owner([]byte(tt.data))
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("OwnerKey(user)(%q) = %q, %v, want %q, error %v", tt.data, got, err, tt.want, tt.wantErr)
		}
	}
}
