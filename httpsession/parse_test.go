package httpsession

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sqlsession/sqlsession"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		data    string
		keys    int
		meta    meta
		hasMeta bool
		ok      bool
	}{
		{``, 0, meta{}, false, true},
		{"  \n", 0, meta{}, false, true},
		{"\v{}", 0, meta{}, false, false},
		{"\u00a0{}", 0, meta{}, false, false},
		{`{}`, 0, meta{}, false, true},
		{`{"a":1,"b":[1,2],"c":{"d":null}}`, 3, meta{}, false, true},
		{`{"_httpsession":{"created":7}}`, 0, meta{created: 7}, true, true},
		{`{"_httpsession":{"created":7,"persist":true},"a":"x"}`, 1, meta{created: 7, persist: 1}, true, true},
		{`{"_httpsession":{"created":7,"persist":false}}`, 0, meta{created: 7, persist: -1}, true, true},
		{`{"a":1,"a":2}`, 1, meta{}, false, true},
		{`null`, 0, meta{}, false, false},
		{`[]`, 0, meta{}, false, false},
		{`"x"`, 0, meta{}, false, false},
		{`{"a":}`, 0, meta{}, false, false},
		{`{"a":1} x`, 0, meta{}, false, false},
		{`{"_httpsession":[]}`, 0, meta{}, false, false},
		{`{"_httpsession":{"created":"x"}}`, 0, meta{}, false, false},
		{"\x00\x01gob", 0, meta{}, false, false},
		{`{"a":"` + strings.Repeat("x", 100) + `"}`, 0, meta{}, false, false}, // over max
	}
	for _, tt := range tests {
		values, m, hasMeta, err := decode([]byte(tt.data), 100)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, errCorrupt)) {
			t.Errorf("decode(%q) error = %v, want ok %v", tt.data, err, tt.ok)
			continue
		}
		if err != nil {
			continue
		}
		if len(values) != tt.keys || m != tt.meta || hasMeta != tt.hasMeta {
			t.Errorf("decode(%q) = %d keys, %+v, %v, want %d, %+v, %v", tt.data, len(values), m, hasMeta, tt.keys, tt.meta, tt.hasMeta)
		}
	}
}

func TestEncode(t *testing.T) {
	values := map[string]json.RawMessage{"b": json.RawMessage(`2`), "a": json.RawMessage(`"x"`), "<&>": json.RawMessage(`null`)}
	tests := []struct {
		m    meta
		want string
	}{
		{meta{created: 5}, `{"_httpsession":{"created":5},"\u003c\u0026\u003e":null,"a":"x","b":2}`},
		{meta{created: 5, persist: 1}, `{"_httpsession":{"created":5,"persist":true},"\u003c\u0026\u003e":null,"a":"x","b":2}`},
		{meta{created: -1, persist: -1}, `{"_httpsession":{"created":-1,"persist":false},"\u003c\u0026\u003e":null,"a":"x","b":2}`},
	}
	for _, tt := range tests {
		if got := string(encode(values, tt.m)); got != tt.want {
			t.Errorf("encode(%+v) = %s, want %s", tt.m, got, tt.want)
		}
	}
	if got := string(encode(nil, meta{})); got != `{"_httpsession":{"created":0}}` {
		t.Errorf("encode(nil) = %s", got)
	}
}

func TestCookieToken(t *testing.T) {
	tok := sqlsession.NewToken()
	tests := []struct {
		lines []string
		want  string
	}{
		{nil, ""},
		{[]string{""}, ""},
		{[]string{"session=" + tok}, tok},
		{[]string{"a=1", "b=2; session=" + tok}, tok},
		{[]string{`session="` + tok + `"`}, tok},
		{[]string{" \tsession \t= \t" + tok + " \t"}, tok},
		{[]string{"session=x y; session=" + tok}, tok},
		{[]string{"session=" + tok + "; session=other"}, tok},
		{[]string{`session="` + tok}, ""},
		{[]string{`session=a,b`}, ""},
		{[]string{`session=a\b`}, ""},
		{[]string{"session"}, ""},
		{[]string{"session=" + strings.Repeat("a", 256)}, ""},
		{[]string{"sessionx=" + tok, "xsession=" + tok}, ""},
		{[]string{"session=\x00"}, ""},
		{[]string{"session=é"}, ""},
	}
	for _, tt := range tests {
		if got := cookieToken(tt.lines, "session"); got != tt.want {
			t.Errorf("cookieToken(%q) = %q, want %q", tt.lines, got, tt.want)
		}
	}
}

// TestCookieTokenAllocs checks that reading the token from a request
// allocates nothing.
func TestCookieTokenAllocs(t *testing.T) {
	lines := []string{"theme=dark; session=" + sqlsession.NewToken() + "; lang=en"}
	if n := testing.AllocsPerRun(100, func() { cookieToken(lines, "session") }); n != 0 {
		t.Errorf("cookieToken allocations = %v, want 0", n)
	}
}

// FuzzCookieToken feeds arbitrary Cookie headers to the parser: it never
// panics, returns only tokens the Store accepts, and agrees with net/http on
// the headers that net/http reads as one valid session cookie.
func FuzzCookieToken(f *testing.F) {
	tok := sqlsession.NewToken()
	for _, s := range []string{
		"", "session=" + tok, `session="` + tok + `"`, "a=b; session=" + tok + "; c=d",
		"session=; session=" + tok, ";;;", "=", "session", "session==", `session="`, `session=""`,
		"session=\x00", "session=é", " session = x ", "session=a,b", "session=a;b",
		"session=" + strings.Repeat("z", 300),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		got := cookieToken([]string{header}, "session")
		if got == "" {
			return
		}
		if !sqlsession.ValidToken(got) || !strings.Contains(header, got) {
			t.Fatalf("cookieToken(%q) = %q: not a valid token from the header", header, got)
		}
		// A cookie that net/http writes is read back the same.
		c := (&http.Cookie{Name: "session", Value: got}).String()
		if back := cookieToken([]string{strings.TrimPrefix(c, "Set-Cookie: ")}, "session"); back != got {
			t.Fatalf("cookieToken(%q) = %q, want %q", c, back, got)
		}
	})
}

// FuzzDecode feeds arbitrary row data to the decoder: it never panics,
// and what it accepts encodes to data that decodes to the same session.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `null`, `[]`, `{"a":1}`, `{"a":{"b":[1,2,{"c":null}]},"d":"\u00e9\n"}`,
		`{"_httpsession":{"created":1712345678,"persist":true},"user":"ada"}`,
		`{"_httpsession":{"created":"x"}}`, `{"_httpsession":null}`, `{"a":1,"a":2}`,
		`{"a":"` + "\xff" + `"}`, `{"\ud800":1}`, "{\"a\":1}\n", `{"a":1e400}`,
		"\x00\x01\x02gob", `{"a":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		values, m, _, err := decode(data, 1<<20)
		if err != nil {
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("decode(%q) = %v, want an error wrapping errCorrupt", data, err)
			}
			return
		}
		enc := encode(values, m)
		values2, m2, hasMeta, err := decode(enc, 1<<20)
		if err != nil || !hasMeta || m2 != m {
			t.Fatalf("decode(encode(decode(%q))) = %v, %+v, %v, want %+v", data, err, m2, hasMeta, m)
		}
		if !maps.EqualFunc(values, values2, func(a, b json.RawMessage) bool { return bytes.Equal(a, b) }) {
			t.Fatalf("decode(encode(decode(%q))) = %v, want %v", data, values2, values)
		}
		if enc2 := encode(values2, m2); !bytes.Equal(enc, enc2) {
			t.Fatalf("encode is not stable: %s, then %s", enc, enc2)
		}
	})
}

// FuzzRawValue checks that reading one key of row data without decoding it
// agrees with the full decoder, and never panics.
func FuzzRawValue(f *testing.F) {
	for _, s := range []string{
		`{}`, ` { "a" : 1 , "b" : [1,{"a":2}] } `, `{"a":"x\"}y","b":{"c":"}"}}`, `{"a":1,"a":2}`,
		`{"\u0061":3}`, `{"_httpsession":{"created":1},"user":"ada"}`, `[1]`, `{"a":}`, `null`,
		`{"a":true,"b":false,"c":null,"d":-1.5e3}`, `{"a\\b":1}`, "{\"a\":\"\xff\"}",
		`{"a":"plain"}`, `{"a":"\u00e9\n"}`, `{"a":"é"}`, `{"a":""}`,
	} {
		f.Add([]byte(s), "a")
	}
	f.Fuzz(func(t *testing.T, data []byte, key string) {
		raw, found, ok := rawValue(data, key, 1<<20)
		values, _, hasMeta, err := decode(data, 1<<20)
		if err != nil {
			// A meta key written with escapes is the one case rawValue
			// does not check.
			if ok && !hasMeta && !bytes.Contains(data, []byte(`\`)) {
				t.Fatalf("rawValue(%q) ok, decode = %v", data, err)
			}
			return
		}
		if skipSpace(data, 0) == len(data) {
			return // empty data: an empty session for decode, not JSON for rawValue
		}
		if !ok {
			t.Fatalf("rawValue(%q) not ok, decode = %d keys", data, len(values))
		}
		if !utf8.ValidString(key) || strings.ContainsRune(key, utf8.RuneError) || key == MetaKey {
			return // decode replaces invalid UTF-8 in keys
		}
		want, wantFound := values[key]
		if found != wantFound || !bytes.Equal(raw, want) {
			t.Fatalf("rawValue(%q, %q) = %q, %v, want %q, %v", data, key, raw, found, want, wantFound)
		}
		if found {
			// unmarshal's fast path agrees with encoding/json.
			var got, want string
			err, wantErr := unmarshal(raw, &got), json.Unmarshal(raw, &want)
			if (err == nil) != (wantErr == nil) || got != want {
				t.Fatalf("unmarshal(%q) = %q, %v, want %q, %v", raw, got, err, want, wantErr)
			}
		}
	})
}

func TestCanonicalMeta(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{`{"created":1712345678}`, true},
		{`{"created":-5,"persist":true}`, true},
		{`{"created":0,"persist":false}`, true},
		{`{"created":123456789012345678}`, true},
		{`{"created":1234567890123456789}`, false}, // may overflow: json.Unmarshal decides
		{`{"created":}`, false},
		{`{"created":1.5}`, false},
		{`{"created":1,"persist":null}`, false},
		{`{"created":1} `, false},
		{`{ "created":1}`, false},
		{`{"created":"1"}`, false},
	}
	for _, tt := range tests {
		if got := canonicalMeta([]byte(tt.in)); got != tt.want {
			t.Errorf("canonicalMeta(%s) = %v, want %v", tt.in, got, tt.want)
		}
		if tt.want {
			var mj metaJSON
			if err := json.Unmarshal([]byte(tt.in), &mj); err != nil {
				t.Errorf("canonicalMeta(%s) = true, but json.Unmarshal = %v", tt.in, err)
			}
		}
	}
	for _, m := range []meta{{created: 1}, {created: -1, persist: 1}, {created: 1 << 40, persist: -1}} {
		enc := encode(nil, m)
		raw, _, _ := rawValue(enc, MetaKey, 1<<20)
		if !canonicalMeta(raw) {
			t.Errorf("canonicalMeta(%s) = false for encode's meta", raw)
		}
	}
}

// FuzzScanValue checks the validating scanner against encoding/json: it
// accepts exactly the documents that json.Valid accepts.
func FuzzScanValue(f *testing.F) {
	for _, s := range []string{
		``, ` `, `{}`, `[]`, `""`, `0`, `-0`, `01`, `1.`, `.5`, `1e`, `1E+2`, `-1.5e-3`, `true`, `tru`, `nul`,
		`{"a":1,}`, `[1,]`, `{"a" 1}`, `{"a":1 "b":2}`, `{1:2}`, `"\u12"`, `"\u12G4"`, `"\x"`, "\"\x01\"",
		"\"\xff\"", `"\/"`, ` [ 1 , { "a" : [ ] } ] `, "\v1", `[` + strings.Repeat("[", 10000) + strings.Repeat("]", 10001),
		strings.Repeat("[", 10000) + strings.Repeat("]", 10000), strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		i := scanValue(data, skipSpace(data, 0), 0)
		got := i >= 0 && skipSpace(data, i) == len(data)
		if want := json.Valid(data); got != want {
			t.Fatalf("scanValue(%q) accepts %v, json.Valid = %v", data, got, want)
		}
	})
}
