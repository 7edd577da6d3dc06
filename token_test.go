package sqlsession

import (
	"database/sql"
	"strings"
	"testing"
)

func newTestStore(t testing.TB, opts Options) *Store {
	s, err := New(&sql.DB{}, SQLite, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestNewToken(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		tok := NewToken()
		if len(tok) != 43 || !ValidToken(tok) || seen[tok] {
			t.Fatalf("NewToken() = %q: want 43 valid, unique characters", tok)
		}
		seen[tok] = true
	}
}

func TestKeys(t *testing.T) {
	hashed := newTestStore(t, Options{})
	other := newTestStore(t, Options{})
	plain := newTestStore(t, Options{PlainTokens: true})
	tok := NewToken()

	k, ok := hashed.key(tok)
	if !ok || len(k) != digestLen || strings.Contains(k, tok) {
		t.Fatalf("hashed key(%q) = %q, %v: want a 43-character digest", tok, k, ok)
	}
	if k2, _ := other.key(tok); k2 != k {
		t.Fatalf("two stores hash %q differently: %q, %q", tok, k, k2)
	}
	h := hashed.publicKey(k)
	if got, ok := hashed.key(h); !ok || got != k {
		t.Fatalf("key(handle) = %q, %v, want %q, true", got, ok, k)
	}
	if got, _ := other.key(h); got == k {
		t.Fatal("another store accepted this store's handle")
	}
	if got, _ := hashed.key("~" + k + strings.Repeat("A", macLen)); got == k {
		t.Fatal("a forged handle was accepted")
	}
	if got, ok := plain.key(tok); !ok || got != tok || plain.publicKey(got) != tok {
		t.Fatalf("plain key(%q) = %q, %v, want the token", tok, got, ok)
	}
}

// FuzzKey checks token handling on arbitrary input: no panic, validity
// decides acceptance, distinct tokens get distinct keys, and every listed
// handle maps back to its key.
func FuzzKey(f *testing.F) {
	for _, s := range []string{"", "a", NewToken(), "~", strings.Repeat("~", handleLen), "tok en", "\x00", "ä", strings.Repeat("x", 256), "~" + strings.Repeat("A", 65)} {
		f.Add(s)
	}
	s := newTestStore(f, Options{})
	p := newTestStore(f, Options{PlainTokens: true})
	f.Fuzz(func(t *testing.T, token string) {
		k, ok := s.key(token)
		if ok != ValidToken(token) {
			t.Fatalf("key(%q) ok = %v, ValidToken = %v", token, ok, !ok)
		}
		if !ok {
			return
		}
		if len(k) != digestLen || strings.ContainsAny(k, "~=+/") {
			t.Fatalf("key(%q) = %q, want a base64url digest", token, k)
		}
		if k2, _ := s.key(token + "x"); len(token) < MaxTokenLength && k2 == k {
			t.Fatalf("key(%q) = key(%q)", token, token+"x")
		}
		if back, ok := s.key(s.publicKey(k)); !ok || back != k {
			t.Fatalf("handle of %q maps to %q, want %q", token, back, k)
		}
		if pk, ok := p.key(token); !ok || pk != token {
			t.Fatalf("plain key(%q) = %q, %v", token, pk, ok)
		}
	})
}
