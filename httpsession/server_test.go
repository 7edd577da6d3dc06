package httpsession_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession/httpsession"
)

// TestServer runs handlers that use the connection in the ways a server
// offers, over a real HTTP server.
func TestServer(t *testing.T) {
	tests := []struct {
		name  string
		h     http.HandlerFunc
		check func(t *testing.T, res *http.Response, body string, hints []http.Header)
	}{
		{"streaming", func(w http.ResponseWriter, r *http.Request) {
			httpsession.From(r.Context()).Put("user", "ada")
			rc := http.NewResponseController(w)
			for i := range 3 {
				io.WriteString(w, strings.Repeat("x", i+1)+"\n")
				if err := rc.Flush(); err != nil {
					t.Errorf("Flush() = %v", err)
				}
			}
		}, func(t *testing.T, res *http.Response, body string, _ []http.Header) {
			if body != "x\nxx\nxxx\n" || len(res.TransferEncoding) == 0 {
				t.Errorf("body %q, transfer encoding %v, want a chunked stream", body, res.TransferEncoding)
			}
		}},
		{"deadlines through Unwrap", func(w http.ResponseWriter, r *http.Request) {
			rc := http.NewResponseController(w)
			if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
				t.Errorf("SetWriteDeadline() = %v, want nil", err)
			}
			if err := rc.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
				t.Errorf("SetReadDeadline() = %v, want nil", err)
			}
			httpsession.From(r.Context()).Put("user", "ada")
			io.WriteString(w, "ok")
		}, nil},
		{"early hints", func(w http.ResponseWriter, r *http.Request) {
			s := httpsession.From(r.Context())
			w.Header().Set("Link", "</style.css>; rel=preload; as=style")
			w.WriteHeader(http.StatusEarlyHints)
			if err := s.Put("user", "ada"); err != nil {
				t.Errorf("Put after 103 = %v, want nil: 1xx headers do not commit", err)
			}
			io.WriteString(w, "ok")
		}, func(t *testing.T, res *http.Response, _ string, hints []http.Header) {
			if len(hints) != 1 || hints[0].Get("Link") == "" || hints[0].Get("Set-Cookie") != "" {
				t.Errorf("1xx headers = %v, want one 103 with Link and without Set-Cookie", hints)
			}
		}},
		{"hijack", func(w http.ResponseWriter, r *http.Request) {
			httpsession.From(r.Context()).Put("user", "ada")
			cookie := w.Header().Get("Set-Cookie")
			if cookie != "" {
				t.Errorf("Set-Cookie before Hijack = %q", cookie)
			}
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Errorf("Hijack() = %v", err)
				return
			}
			defer conn.Close()
			// The commit ran: the cookie is in the header map, for the
			// hijacker to send.
			buf.WriteString("HTTP/1.1 200 OK\r\nSet-Cookie: " + w.Header().Get("Set-Cookie") + "\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
			buf.Flush()
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, st := newManager(t, httpsession.Config{})
			srv := httptest.NewTLSServer(m.Handler(tt.h))
			defer srv.Close()
			var hints []http.Header
			req, _ := http.NewRequest("GET", srv.URL, nil)
			req = req.WithContext(httptraceContext(req, &hints))
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			var token string
			for _, c := range res.Cookies() {
				if c.Name == "session" {
					token = c.Value
				}
			}
			if data, _, ok := st.row(token); !ok || !strings.Contains(data, `"user":"ada"`) {
				t.Errorf("row of the response's cookie %q = %q, %v, want the session", token, data, ok)
			}
			if tt.check != nil {
				tt.check(t, res, string(body), hints)
			}
		})
	}
}

// TestWriteAfterReturn writes through the middleware's ResponseWriter after
// Handler returned, as echo's error handler does through
// echo.WrapMiddleware: the writes reach the client, after the commit.
func TestWriteAfterReturn(t *testing.T) {
	m, st := newManager(t, httpsession.Config{})
	var inner http.ResponseWriter
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpsession.From(r.Context()).Put("user", "ada")
		inner = w
	}))
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		inner.WriteHeader(418)
		io.WriteString(inner, "late body")
	}))
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 418 || string(body) != "late body" || len(res.Cookies()) != 1 {
		t.Errorf("response = %d %q, cookies %v, want 418 \"late body\" and the cookie", res.StatusCode, body, res.Cookies())
	}
	if st.count("Save") != 1 {
		t.Errorf("Save calls = %d, want 1", st.count("Save"))
	}
}

// TestHijackRaw checks the hijacked connection over plain HTTP, reading the
// raw response.
func TestHijackRaw(t *testing.T) {
	m, _ := newManager(t, httpsession.Config{InsecureCookie: true})
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpsession.From(r.Context()).Put("user", "ada")
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("Hijack() = %v", err)
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 101 Switching Protocols\r\nSet-Cookie: " + w.Header().Get("Set-Cookie") + "\r\n\r\n")
		buf.Flush()
	})))
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 101 || len(res.Cookies()) != 1 {
		t.Errorf("response = %d, cookies %v, want 101 with the cookie", res.StatusCode, res.Cookies())
	}
}

// httptraceContext returns req's context with a trace that appends the
// headers of 1xx responses to hints.
func httptraceContext(req *http.Request, hints *[]http.Header) context.Context {
	return httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			*hints = append(*hints, http.Header(h).Clone())
			return nil
		},
	})
}
