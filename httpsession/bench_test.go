package httpsession_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/httpsession"
)

// nopWriter is a ResponseWriter that allocates nothing.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

// BenchmarkHandler measures the Manager's own cost per request, on an
// in-memory Store: a request that does not look at its session, one that
// reads a key, and one that writes a key. allocs/op bounds what the
// Manager adds to every request of an application.
func BenchmarkHandler(b *testing.B) {
	st := newMemStore()
	m, err := httpsession.New(st, httpsession.Config{IdleTimeout: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	tok := sqlsession.NewToken()
	st.put(tok, `{"_httpsession":{"created":`+itoa(time.Now().Unix())+`},"user":"ada"}`, time.Now().Add(time.Hour))
	handlers := []struct {
		name string
		h    http.HandlerFunc
	}{
		{"bare handler", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }},
		{"untouched", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }},
		{"get", func(w http.ResponseWriter, r *http.Request) {
			var user string
			httpsession.From(r.Context()).Get("user", &user)
			io.WriteString(w, user)
		}},
		{"put", func(w http.ResponseWriter, r *http.Request) {
			httpsession.From(r.Context()).Put("n", 1)
			io.WriteString(w, "ok")
		}},
	}
	for _, hh := range handlers {
		b.Run(hh.name, func(b *testing.B) {
			h := http.Handler(hh.h)
			if hh.name != "bare handler" {
				h = m.Handler(hh.h)
			}
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Cookie", "session="+tok)
			w := &nopWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, req)
			}
		})
	}
}

func itoa(n int64) string {
	b := make([]byte, 0, 20)
	if n == 0 {
		return "0"
	}
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}
