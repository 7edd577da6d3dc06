package fiberstore_test

import (
	"bytes"
	"context"
	"encoding/gob"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/session"

	"github.com/sqlsession/sqlsession/fiberstore"
)

// memStorage is a fiber.Storage on a map: it captures the bytes that fiber's
// session middleware writes, so that Value is tested on fiber's real
// encoding.
type memStorage struct {
	mu sync.Mutex
	m  map[string][]byte
}

var _ fiber.Storage = (*memStorage)(nil)

func (s *memStorage) GetWithContext(_ context.Context, key string) ([]byte, error) {
	return s.Get(key)
}

func (s *memStorage) Get(key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.m[key]), nil
}

func (s *memStorage) SetWithContext(_ context.Context, key string, val []byte, exp time.Duration) error {
	return s.Set(key, val, exp)
}

func (s *memStorage) Set(key string, val []byte, _ time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string][]byte{}
	}
	s.m[key] = bytes.Clone(val)
	return nil
}

func (s *memStorage) DeleteWithContext(_ context.Context, key string) error { return s.Delete(key) }

func (s *memStorage) Delete(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

func (s *memStorage) ResetWithContext(context.Context) error { return s.Reset() }

func (s *memStorage) Reset() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.m)
	return nil
}

func (s *memStorage) Close() error { return nil }

// fiberData returns the session data that fiber v3's session middleware
// stores for a session holding values, with cfg's options.
func fiberData(t testing.TB, cfg session.Config, values map[string]any) []byte {
	t.Helper()
	mem := &memStorage{}
	cfg.Storage = mem
	app := fiber.New()
	app.Use(session.New(cfg))
	app.Get("/", func(c fiber.Ctx) error {
		sess := session.FromContext(c)
		for k, v := range values {
			sess.Set(k, v)
		}
		return c.SendStatus(fiber.StatusNoContent)
	})
	resp, err := app.Test(httptest.NewRequest(http.MethodGet, "/", nil), fiber.TestConfig{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("GET / = %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != fiber.StatusNoContent {
		t.Fatalf("GET / = %s, want 204", resp.Status)
	}
	mem.mu.Lock()
	defer mem.mu.Unlock()
	if len(mem.m) != 1 {
		t.Fatalf("session middleware stored %d sessions, want 1", len(mem.m))
	}
	for _, data := range mem.m {
		return data
	}
	panic("unreachable")
}

func TestValueOnFiberData(t *testing.T) {
	t.Parallel()
	values := map[string]any{
		"user_id":  "alice",
		"empty":    "",
		"int":      42,
		"int64":    int64(-7),
		"uint8":    uint8(255),
		"float":    1.5,
		"admin":    true,
		"stringer": userID(7),
		"tags":     []string{"a"},
	}
	configs := []struct {
		name string
		cfg  session.Config
	}{
		{"defaults", session.Config{}},
		// AbsoluteTimeout adds a value whose key has a type of fiber's own.
		{"absolute timeout", session.Config{AbsoluteTimeout: time.Hour}},
	}
	tests := []struct {
		key  string
		want string
	}{
		{"user_id", "alice"},
		{"empty", ""},
		{"int", "42"},
		{"int64", "-7"},
		{"uint8", "255"},
		{"float", "1.5"},
		{"admin", "true"},
		{"stringer", "user-7"},
		{"tags", ""},
		{"missing", ""},
	}
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			data := fiberData(t, c.cfg, values)
			for _, tt := range tests {
				if got, err := fiberstore.Value(tt.key)(data); got != tt.want || err != nil {
					t.Errorf("Value(%q)(data) = %q, %v, want %q, nil", tt.key, got, err, tt.want)
				}
			}
		})
	}
}

func gobOf(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(v); err != nil {
		t.Fatalf("gob encode %T: %v", v, err)
	}
	return buf.Bytes()
}

type unregistered struct{ A int }

// userID is an application's type, which it registers for fiber's sessions
// (session.Store.RegisterType calls gob.Register).
type userID int

func (u userID) String() string { return fmt.Sprintf("user-%d", int(u)) }

func init() { gob.Register(userID(0)) }

func TestValueData(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		data    []byte
		want    string
		wantErr bool
	}{
		{"nil", nil, "", false},
		{"empty", []byte{}, "", false},
		{"empty session", gobOf(t, map[any]any{}), "", false},
		// fiber v2 encodes map[string]any.
		{"fiber v2 layout", gobOf(t, map[string]any{"user_id": "bob"}), "bob", false},
		{"garbage", []byte("not gob at all"), "", true},
		{"truncated", gobOf(t, map[any]any{"user_id": "alice"})[:10], "", true},
		{"wrong type", gobOf(t, []string{"user_id"}), "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fiberstore.Value("user_id")(tt.data)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("Value(user_id)(%q) = %q, %v, want %q, error %t", tt.data, got, err, tt.want, tt.wantErr)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "fiberstore: ") {
				t.Errorf("Value(user_id)(%q) error = %q, want the prefix %q", tt.data, err, "fiberstore: ")
			}
		})
	}
}

func TestValueUnregisteredType(t *testing.T) {
	t.Parallel()
	// Data written by a process that registered a type this one has not:
	// gob writes each value's registered name, so renaming the name in the
	// bytes (keeping its length) makes such data.
	gob.RegisterName("fiberstore_test.elsewhere", unregistered{})
	data := gobOf(t, map[any]any{"user_id": "carol", "x": unregistered{1}})
	data = bytes.ReplaceAll(data, []byte("fiberstore_test.elsewhere"), []byte("fiberstore_test.nowhere!!"))
	_, err := fiberstore.Value("user_id")(data)
	if err == nil || !strings.Contains(err.Error(), "not registered") {
		t.Errorf("Value(user_id) of data with an unregistered type = %v, want an error saying it is not registered", err)
	}
}

func FuzzValue(f *testing.F) {
	f.Add(fiberData(f, session.Config{}, map[string]any{"user_id": "alice", "n": 1}), "alice")
	f.Add(fiberData(f, session.Config{AbsoluteTimeout: time.Hour}, map[string]any{"user_id": "bob"}), "")
	f.Add(gobOf(f, map[string]any{"user_id": "carol"}), "\x00\xff")
	f.Add([]byte("garbage"), "é")
	f.Fuzz(func(t *testing.T, data []byte, s string) {
		// Any bytes: an answer or an error, never a panic.
		fiberstore.Value("user_id")(data)
		// Round trip: a string fiber v3 would store is read back as is.
		enc := gobOf(t, map[any]any{"user_id": s, s: "other"})
		got, err := fiberstore.Value("user_id")(enc)
		if err != nil || (got != s && s != "user_id") {
			t.Errorf("Value(user_id)(gob of %q) = %q, %v, want %q, nil", s, got, err, s)
		}
	})
}
