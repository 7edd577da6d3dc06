package httpsession

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/sqlsession/sqlsession"
)

// FuzzExpressToken feeds arbitrary Cookie headers to ExpressCookie: it
// never panics, returns only valid tokens whose signature is in the
// header, and a cookie it writes for a token reads back as that token.
func FuzzExpressToken(f *testing.F) {
	e := ExpressCookie{Secrets: []string{"keyboard cat", "old"}}
	for _, s := range []string{
		"", "connect.sid=s%3AXq3DtaXg0PJ4-nVQmN3Lk7oRZ0a1HjFc.Vx5egabVj5aw4UmBx9FQVuWctS8qHFL7XOSQabypF1s",
		"connect.sid=s%3Asid1AAAAAAAAAAAAAAAAAAAAAAAAAAAA.fvVBQCkADacZ40it1QjIz8wK%2F%2B1QBOEa0iq8PaMJYrE",
		"connect.sid=s:a.b.c", "connect.sid=s%3A.", "connect.sid=s%3", "connect.sid=%E9", "connect.sid=s%3A%00.x",
		`connect.sid="s%3Aa.b"`, "connect.sid=; connect.sid=s%3Aa.b", "connect.sid=s%3A" + strings.Repeat("a", 300) + ".x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		got := e.Token([]string{header}, "connect.sid")
		if got != "" && !sqlsession.ValidToken(got) {
			t.Fatalf("Token(%q) = %q: not a valid token", header, got)
		}
		// Any valid token round-trips through the cookie the codec writes.
		sid := header
		if !sqlsession.ValidToken(sid) {
			return
		}
		c := e.Cookies(&http.Cookie{Name: "connect.sid", Value: sid})[0]
		line := strings.TrimPrefix(c.String(), "Set-Cookie: ")
		if back := e.Token([]string{line}, "connect.sid"); back != sid {
			t.Fatalf("Token(Cookies(%q) = %q) = %q", sid, line, back)
		}
	})
}

// FuzzKoaToken feeds arbitrary Cookie headers to KoaCookie, as
// FuzzExpressToken does to ExpressCookie.
func FuzzKoaToken(f *testing.F) {
	k := KoaCookie{Keys: []string{"key one", "key two"}}
	k256 := KoaCookie{Keys: []string{"key one"}, Hash: sha256.New}
	for _, s := range []string{
		"", "koa.sid=Xq3DtaXg0PJ4-nVQmN3Lk7oRZ0a1HjFc; koa.sid.sig=5k_yM0Ruf-UdafrlqgUF-OS2B_4",
		"koa.sid.sig=5k_yM0Ruf-UdafrlqgUF-OS2B_4; koa.sid=Xq3DtaXg0PJ4-nVQmN3Lk7oRZ0a1HjFc",
		"koa.sid=; koa.sid.sig=", `koa.sid="x"; koa.sid.sig="y"`, "koa.sid=x", "koa.sid.sig=x", "koa.sid=a=b; koa.sid.sig=c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		for _, codec := range []KoaCookie{k, k256} {
			got := codec.Token([]string{header}, "koa.sid")
			if got != "" && (!sqlsession.ValidToken(got) || !strings.Contains(header, got)) {
				t.Fatalf("Token(%q) = %q: not a valid token from the header", header, got)
			}
			sid := header
			if !sqlsession.ValidToken(sid) || strings.ContainsAny(sid, `;",\`) {
				continue // not a value net/http writes unquoted
			}
			var lines []string
			for _, c := range codec.Cookies(&http.Cookie{Name: "koa.sid", Value: sid}) {
				lines = append(lines, strings.TrimPrefix(c.String(), "Set-Cookie: "))
			}
			if back := codec.Token([]string{strings.Join(lines, "; ")}, "koa.sid"); back != sid {
				t.Fatalf("Token(Cookies(%q) = %q) = %q", sid, lines, back)
			}
		}
	})
}

// FuzzEncodeNode feeds arbitrary row data to the Node.js format: a row
// that decodes is written back with the same keys and values, and with no
// key changed, byte for byte as the keys were (whitespace between them
// aside), in their order; setField keeps the object valid.
func FuzzEncodeNode(f *testing.F) {
	for _, s := range []string{
		`{"cookie":{"originalMaxAge":86400000,"expires":"2030-01-01T00:00:00.000Z","httpOnly":true,"path":"/"},"user":"ada"}`,
		`{"b":1,"a":{"x" : [1, 2]},"b":2}`, `{}`, ` { "\u0063ookie" : null } `, `{"_httpsession":{"created":1},"z":"é"}`,
		`[]`, `{"a":}`, `{"cookie":"not an object"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		values, _, _, err := decode([]byte(data), 1<<20)
		if err != nil {
			return
		}
		out := encodeNode([]byte(data), maps.Clone(values))
		back, _, hasMeta, err := decode(out, 1<<20)
		if err != nil || hasMeta {
			t.Fatalf("encodeNode(%q) = %q: decode %v, meta %v", data, out, err, hasMeta)
		}
		if !maps.EqualFunc(values, back, func(a, b json.RawMessage) bool { return bytes.Equal(a, b) }) {
			t.Fatalf("encodeNode(%q) = %q: values changed", data, out)
		}
		obj := setField(out, NodeCookieKey, []byte(`{"maxAge":1}`))
		if !json.Valid(obj) {
			t.Fatalf("setField(%q) = %q: not JSON", out, obj)
		}
		if v, ok := field(obj, NodeCookieKey); !ok || string(v) != `{"maxAge":1}` {
			t.Fatalf("setField(%q) = %q: cookie %q", out, obj, v)
		}
	})
}
