package fibere2e_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	fiberv2 "github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v3"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/fiberstore"
	"github.com/sqlsession/sqlsession/internal/dbtest"
)

// The Storage satisfies fiber v3's interface and, being a superset of it,
// fiber v2's.
var (
	_ fiber.Storage   = (*fiberstore.Storage)(nil)
	_ fiberv2.Storage = (*fiberstore.Storage)(nil)
)

// tokenModes runs fn with hashed tokens (the default) and plain ones, where
// the keys reach the table as given.
var tokenModes = []struct {
	name string
	opts sqlsession.Options
}{
	{"hashed", sqlsession.Options{}},
	{"plain", sqlsession.Options{PlainTokens: true}},
}

func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// TestRoundTrip stores, reads and deletes values under keys fiber's
// middleware and applications use.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		key  string
		val  []byte
	}{
		{"session token", sqlsession.NewToken(), []byte("session data")},
		{"uuid", "0b7e3a9c-5f1d-4c2e-9a8b-1d2c3e4f5a6b", []byte("v")},
		{"IPv4 limiter key", "203.0.113.7", []byte{1}},
		{"IPv6 limiter key", "2001:db8::1", []byte{2}},
		{"host and port", "[::1]:8080", []byte{3}},
		{"punctuation", `!"#$%&'()*+,-./:;<=>?@[\]^_{|}~` + "`", []byte("p")},
		{"SQL quotes", `';DROP/**/TABLE/**/sessions;--"`, []byte("q")},
		{"one character", "k", []byte("one")},
		{"longest key", strings.Repeat("k", sqlsession.MaxTokenLength), []byte("long")},
		{"handle look-alike", "~" + strings.Repeat("A", 65), []byte("h")},
		{"every byte value", "binary", allBytes()},
		{"NULs", "nuls", []byte{0, 0, 0}},
		{"invalid UTF-8", "utf8", []byte{0xff, 0xfe, 0xc3}},
		{"1 MiB", "big", randomBytes(1 << 20)},
	}
	dbtest.Each(t, dbtest.Servers, func(t *testing.T, tg dbtest.Target, db *sql.DB, schema string) {
		t.Parallel()
		for _, mode := range tokenModes {
			t.Run(mode.name, func(t *testing.T) {
				e := newEnv(t, tg, db, schema, mode.opts)
				for _, tt := range tests {
					t.Run(tt.name, func(t *testing.T) {
						e.set(t, tt.key, tt.val, time.Hour)
						if got := e.get(t, tt.key); !bytes.Equal(got, tt.val) {
							t.Fatalf("Get(%q) = %d bytes, want the %d stored", tt.key, len(got), len(tt.val))
						}
						if err := e.st.DeleteWithContext(testCtx(t), tt.key); err != nil {
							t.Fatalf("Delete(%q) = %v", tt.key, err)
						}
						if got := e.get(t, tt.key); got != nil {
							t.Errorf("Get(%q) after Delete = %q, want nil", tt.key, got)
						}
					})
				}
			})
		}
	})
}

// TestContract checks the rest of fiber's Storage contract, one fresh table
// per case.
func TestContract(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		fn   func(t *testing.T, e *env)
	}{
		{"missing key is nil, nil", func(t *testing.T, e *env) {
			got, err := e.st.Get("never-set")
			if got != nil || err != nil {
				t.Errorf("Get(never-set) = %q, %v, want nil, nil", got, err)
			}
		}},
		{"set replaces", func(t *testing.T, e *env) {
			e.set(t, "k", []byte("one"), time.Hour)
			e.set(t, "k", []byte("two"), time.Hour)
			if got := e.get(t, "k"); string(got) != "two" {
				t.Errorf("Get(k) = %q, want %q", got, "two")
			}
			if n := e.count(t); n != 1 {
				t.Errorf("Count() = %d, want 1", n)
			}
		}},
		{"keys are case-sensitive", func(t *testing.T, e *env) {
			e.set(t, "Key", []byte("upper"), time.Hour)
			e.set(t, "key", []byte("lower"), time.Hour)
			for key, want := range map[string]string{"Key": "upper", "key": "lower"} {
				if got := e.get(t, key); string(got) != want {
					t.Errorf("Get(%q) = %q, want %q", key, got, want)
				}
			}
		}},
		{"empty key or value stores nothing", func(t *testing.T, e *env) {
			e.set(t, "k", []byte("kept"), time.Hour)
			for _, c := range []struct {
				key string
				val []byte
			}{{"", []byte("v")}, {"k", nil}, {"k", []byte{}}} {
				if err := e.st.Set(c.key, c.val, time.Hour); err != nil {
					t.Errorf("Set(%q, %q) = %v, want nil", c.key, c.val, err)
				}
			}
			if got := e.get(t, "k"); string(got) != "kept" {
				t.Errorf("Get(k) = %q, want %q", got, "kept")
			}
			if n := e.count(t); n != 1 {
				t.Errorf("Count() = %d, want 1", n)
			}
		}},
		{"invalid keys", func(t *testing.T, e *env) {
			for _, key := range []string{"a b", "tab\t", "sessión", "a\x00b", strings.Repeat("k", sqlsession.MaxTokenLength+1)} {
				if err := e.st.Set(key, []byte("v"), time.Hour); !errors.Is(err, sqlsession.ErrInvalidToken) {
					t.Errorf("Set(%q) = %v, want an error wrapping sqlsession.ErrInvalidToken", key, err)
				}
				if got, err := e.st.Get(key); got != nil || err != nil {
					t.Errorf("Get(%q) = %q, %v, want nil, nil", key, got, err)
				}
				if err := e.st.Delete(key); err != nil {
					t.Errorf("Delete(%q) = %v, want nil", key, err)
				}
			}
			if n := e.count(t); n != 0 {
				t.Errorf("Count() = %d, want 0", n)
			}
		}},
		{"delete of a missing key", func(t *testing.T, e *env) {
			if err := e.st.Delete("never-set"); err != nil {
				t.Errorf("Delete(never-set) = %v, want nil", err)
			}
		}},
		{"reset", func(t *testing.T, e *env) {
			keys := []string{"a", "b", "c"}
			for _, k := range keys {
				e.set(t, k, []byte(k), time.Hour)
			}
			e.set(t, "forever", []byte("v"), 0)
			if err := e.st.ResetWithContext(testCtx(t)); err != nil {
				t.Fatalf("Reset() = %v", err)
			}
			for _, k := range append(keys, "forever") {
				if got := e.get(t, k); got != nil {
					t.Errorf("Get(%q) after Reset = %q, want nil", k, got)
				}
			}
			if err := e.st.Reset(); err != nil {
				t.Errorf("Reset() of an empty table = %v", err)
			}
		}},
		{"values are copies", func(t *testing.T, e *env) {
			val := []byte("value")
			e.set(t, "k", val, time.Hour)
			val[0] = 'X'
			got := e.get(t, "k")
			got[1] = 'Y'
			if got := e.get(t, "k"); string(got) != "value" {
				t.Errorf("Get(k) = %q, want %q", got, "value")
			}
		}},
		{"stored expiry", func(t *testing.T, e *env) {
			start := time.Now()
			e.set(t, "hour", []byte("v"), time.Hour)
			e.set(t, "forever", []byte("v"), 0)
			var exp []time.Time
			for entry, err := range e.s.All(testCtx(t)) {
				if err != nil {
					t.Fatalf("All() = %v", err)
				}
				exp = append(exp, entry.Expiry)
			}
			var hour, forever int
			for _, x := range exp {
				switch {
				case x.Year() == 9999:
					forever++
				case x.After(start.Add(time.Hour-time.Minute)) && x.Before(time.Now().Add(time.Hour+time.Minute)):
					hour++
				default:
					t.Errorf("stored expiry %v, want now+1h or year 9999", x)
				}
			}
			if hour != 1 || forever != 1 {
				t.Errorf("expiries: %d of now+1h and %d of year 9999, want 1 and 1", hour, forever)
			}
		}},
		{"negative exp gets DefaultLifetime", func(t *testing.T, e *env) {
			start := time.Now()
			e.set(t, "k", []byte("v"), -time.Second)
			if got := e.get(t, "k"); string(got) != "v" {
				t.Errorf("Get(k) stored with exp -1s = %q, want %q", got, "v")
			}
			entry, found, err := e.s.Lookup(testCtx(t), "k")
			life := e.s.Options().DefaultLifetime
			// The table keeps milliseconds.
			if !found || err != nil || entry.Expiry.Before(start.Add(life-time.Millisecond)) || entry.Expiry.After(time.Now().Add(life)) {
				t.Errorf("Lookup(k) stored with exp -1s = expiry %v, %t, %v; want now+%v (DefaultLifetime), true, nil",
					entry.Expiry, found, err, life)
			}
		}},
		{"expiry honoured", func(t *testing.T, e *env) {
			const exp = time.Second
			start := time.Now()
			e.set(t, "brief", []byte("v"), exp)
			e.set(t, "long", []byte("v"), time.Hour)
			if got := e.get(t, "brief"); got == nil && time.Since(start) < exp {
				t.Fatalf("Get(brief) right after Set = nil, want the value")
			}
			time.Sleep(time.Until(start.Add(exp + 100*time.Millisecond)))
			if got := e.get(t, "brief"); got != nil {
				t.Errorf("Get(brief) after its %v = %q, want nil", exp, got)
			}
			if got := e.get(t, "long"); got == nil {
				t.Errorf("Get(long) = nil, want the value")
			}
		}},
		{"cancelled context", func(t *testing.T, e *env) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if _, err := e.st.GetWithContext(ctx, "k"); !errors.Is(err, context.Canceled) {
				t.Errorf("GetWithContext(cancelled, k) = %v, want an error wrapping context.Canceled", err)
			}
			if err := e.st.SetWithContext(ctx, "k", []byte("v"), 0); !errors.Is(err, context.Canceled) {
				t.Errorf("SetWithContext(cancelled, k) = %v, want an error wrapping context.Canceled", err)
			}
		}},
		{"close leaves the database open", func(t *testing.T, e *env) {
			e.set(t, "k", []byte("v"), time.Hour)
			for i := range 2 {
				if err := e.st.Close(); err != nil {
					t.Fatalf("Close() #%d = %v", i+1, err)
				}
			}
			if _, err := e.st.Get("k"); !errors.Is(err, sqlsession.ErrClosed) {
				t.Errorf("Get(k) after Close = %v, want an error wrapping sqlsession.ErrClosed", err)
			}
			if err := e.db.PingContext(testCtx(t)); err != nil {
				t.Errorf("db.Ping() after Close = %v, want nil", err)
			}
		}},
	}
	dbtest.Each(t, dbtest.Servers, func(t *testing.T, tg dbtest.Target, db *sql.DB, schema string) {
		t.Parallel()
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.fn(t, newEnv(t, tg, db, schema, sqlsession.Options{}))
			})
		}
	})
}
