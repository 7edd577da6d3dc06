package fibere2e_test

import (
	"context"
	"database/sql"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/fiberstore"
	"github.com/sqlsession/sqlsession/internal/dbtest"
)

// env is one test's database: the sqlsession Store on a fresh table and the
// fiber Storage on it.
type env struct {
	db *sql.DB
	s  *sqlsession.Store
	st *fiberstore.Storage
}

func newEnv(t *testing.T, tg dbtest.Target, db *sql.DB, schema string, opts sqlsession.Options) *env {
	t.Helper()
	s := dbtest.Store(t, db, tg.Dialect, schema, opts)
	return &env{db: db, s: s, st: fiberstore.New(s)}
}

// testCtx returns a context that ends with t, bounded so that a hung
// database fails the test instead of the whole run.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// get returns what the Storage holds under key, failing t on an error.
func (e *env) get(t *testing.T, key string) []byte {
	t.Helper()
	v, err := e.st.GetWithContext(testCtx(t), key)
	if err != nil {
		t.Fatalf("GetWithContext(%q) = %v", key, err)
	}
	return v
}

// set stores val under key, failing t on an error.
func (e *env) set(t *testing.T, key string, val []byte, exp time.Duration) {
	t.Helper()
	if err := e.st.SetWithContext(testCtx(t), key, val, exp); err != nil {
		t.Fatalf("SetWithContext(%q, %d bytes, %v) = %v", key, len(val), exp, err)
	}
}

// count returns the number of live entries.
func (e *env) count(t *testing.T) int64 {
	t.Helper()
	n, err := e.s.Count(testCtx(t))
	if err != nil {
		t.Fatalf("Count() = %v", err)
	}
	return n
}

// serve runs a fiber app (v2 or v3, through listen) on a loopback listener
// and returns its base URL. The app is shut down, and serve waits for listen
// to return, when t ends.
func serve(t *testing.T, listen func(net.Listener) error, shutdown func(time.Duration) error) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("net.Listen() = %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- listen(ln) }()
	t.Cleanup(func() {
		if err := shutdown(10 * time.Second); err != nil {
			t.Errorf("app.ShutdownWithTimeout() = %v", err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("app.Listener() = %v", err)
			}
		case <-time.After(15 * time.Second):
			// A shutdown that came before the server started serving
			// leaves it running: closing the listener stops it.
			ln.Close()
			<-done
		}
	})
	return "http://" + ln.Addr().String()
}

// client is a browser: an http.Client with a cookie jar, whose connections
// are closed when the test ends.
type client struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func newClient(t *testing.T, base string) *client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatalf("cookiejar.New() = %v", err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	return &client{t: t, base: base, hc: &http.Client{Jar: jar, Transport: tr, Timeout: time.Minute}}
}

// do sends a request with an optional raw Cookie header and returns the
// status and body.
func (c *client) do(method, path, cookie string) (int, string, error) {
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.base+path, nil)
	if err != nil {
		return 0, "", err
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// view is what the test apps' handlers answer: the session's id and values.
type view struct {
	ID, User, N string
}

// must sends a request that must succeed with 200 and returns the answer.
func (c *client) must(method, path string) view {
	c.t.Helper()
	return c.mustCookie(method, path, "")
}

func (c *client) mustCookie(method, path, cookie string) view {
	c.t.Helper()
	status, body, err := c.do(method, path, cookie)
	if err != nil || status != http.StatusOK {
		c.t.Fatalf("%s %s = %d %q, %v, want 200", method, path, status, body, err)
	}
	return parseView(c.t, body)
}

func parseView(t *testing.T, body string) view {
	t.Helper()
	q, err := url.ParseQuery(body)
	if err != nil {
		t.Fatalf("answer %q: %v", body, err)
	}
	return view{ID: q.Get("id"), User: q.Get("user"), N: q.Get("n")}
}

// answer encodes a view as the test apps send it.
func answer(id string, user, n any) string {
	q := url.Values{"id": {id}}
	if s, ok := user.(string); ok {
		q.Set("user", s)
	}
	if s, ok := n.(string); ok {
		q.Set("n", s)
	}
	return q.Encode()
}

// cookie returns the value of the jar's session cookie, "" if there is none.
func (c *client) cookie(name string) string {
	u, err := url.Parse(c.base)
	if err != nil {
		c.t.Fatal(err)
	}
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// tamper changes the last character of a session id.
func tamper(id string) string {
	if id == "" {
		return "x"
	}
	last := "A"
	if strings.HasSuffix(id, "A") {
		last = "B"
	}
	return id[:len(id)-1] + last
}
