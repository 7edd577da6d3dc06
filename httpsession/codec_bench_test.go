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

// BenchmarkCookieCodecs measures what each cookie codec adds to a request
// that reads one key of its session, on an in-memory Store: the default
// plain cookie, express-session's signed cookie (an HMAC-SHA256 per
// secret) and Koa's (an HMAC-SHA1 per key), with one secret and with three
// (the cookie signed by the last, the worst case of a rotation).
func BenchmarkCookieCodecs(b *testing.B) {
	exp := time.Now().Add(time.Hour)
	row := `{"cookie":{"originalMaxAge":86400000,"expires":"2030-01-01T00:00:00.000Z","httpOnly":true,"path":"/","maxAge":86400000},"user":"ada"}`
	for _, tt := range []struct {
		name  string
		codec httpsession.CookieCodec
		plain bool
	}{
		{"plain", nil, true},
		{"express/1 secret", httpsession.ExpressCookie{Secrets: []string{expressSecret}}, false},
		{"express/3 secrets", httpsession.ExpressCookie{Secrets: []string{"a", "b", expressSecret}}, false},
		{"koa/1 key", httpsession.KoaCookie{Keys: []string{"key one"}}, false},
		{"koa/3 keys", httpsession.KoaCookie{Keys: []string{"a", "b", "key one"}}, false},
	} {
		b.Run(tt.name, func(b *testing.B) {
			st := newMemStore()
			m, err := httpsession.New(st, httpsession.Config{Cookie: tt.codec})
			if err != nil {
				b.Fatal(err)
			}
			sid := nodeSID
			if tt.plain {
				sid = sqlsession.NewToken()
				st.put(sid, `{"_httpsession":{"created":`+itoa(time.Now().Unix())+`},"user":"ada"}`, exp)
			} else {
				st.put(sid, row, exp)
			}
			// The request's Cookie header, as the codec writes it.
			rec := httptest.NewRecorder()
			m.SetCookie(rec.Header(), &http.Cookie{Name: m.CookieName(), Value: sid})
			req := httptest.NewRequest("GET", "/", nil)
			for _, c := range (&http.Response{Header: rec.Header()}).Cookies() {
				req.AddCookie(c)
			}
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var user string
				if ok, _ := httpsession.From(r.Context()).Get("user", &user); !ok {
					b.Fatal("no session")
				}
				io.WriteString(w, user)
			}))
			w := &nopWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, req)
			}
		})
	}
}
