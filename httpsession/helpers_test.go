package httpsession_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/sqlsession/sqlsession/httpsession"
)

// newManager returns a Manager on a new memStore.
func newManager(t *testing.T, cfg httpsession.Config) (*httpsession.Manager, *memStore) {
	t.Helper()
	st := newMemStore()
	m, err := httpsession.New(st, cfg)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	return m, st
}

// result is one response.
type result struct {
	code   int
	body   string
	header http.Header
}

// cookie returns the Set-Cookie of name in res, nil when there is none.
func (r result) cookie(name string) *http.Cookie {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// serve sends one request with the given Cookie header ("" for none)
// through m.Handler(h), in process.
func serve(m *httpsession.Manager, h http.HandlerFunc, cookie string) result {
	req := httptest.NewRequest("GET", "https://example.com/", nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	rec := httptest.NewRecorder()
	m.Handler(h).ServeHTTP(rec, req)
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	return result{res.StatusCode, string(body), res.Header}
}

// logBuffer is a slog.Logger writing text to a buffer safe for concurrent
// use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (l *logBuffer) contains(s string) bool { return strings.Contains(l.String(), s) }
