package scsstore_test

import (
	"context"
	"encoding/gob"
	"encoding/json"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"

	"github.com/sqlsession/sqlsession/scsstore"
)

type userID int64

type email struct{ User, Host string }

func (e email) String() string { return e.User + "@" + e.Host }

type point struct{ X, Y int }

func init() {
	// As an application using scs does for its own types.
	gob.Register(userID(0))
	gob.Register(email{})
	gob.Register(point{})
	gob.Register(map[string]int{})
}

// encoded returns session data that a real scs.SessionManager with codec
// (nil: the default) stored for the given values.
func encoded(t *testing.T, codec scs.Codec, values map[string]any) []byte {
	t.Helper()
	ms := memstore.NewWithCleanupInterval(0)
	sm := scs.New()
	sm.Store = ms
	if codec != nil {
		sm.Codec = codec
	}
	ctx, err := sm.Load(context.Background(), "")
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	for k, v := range values {
		sm.Put(ctx, k, v)
	}
	token, _, err := sm.Commit(ctx)
	if err != nil {
		t.Fatalf("Commit() = %v", err)
	}
	data, found, err := ms.Find(token)
	if !found || err != nil {
		t.Fatalf("memstore Find() = %v, %v", found, err)
	}
	return data
}

func TestValue(t *testing.T) {
	data := encoded(t, nil, map[string]any{
		"string":   "alice",
		"int":      42,
		"int64":    int64(-7),
		"uint8":    uint8(255),
		"bool":     true,
		"float":    1.5,
		"named":    userID(99),
		"stringer": email{"bob", "example.com"},
		"struct":   point{1, 2},
		"bytes":    []byte("raw"),
		"slice":    []string{"a"},
		"map":      map[string]int{"a": 1},
		"empty":    "",
	})
	tests := []struct {
		key  string
		want string
	}{
		{"string", "alice"},
		{"int", "42"},
		{"int64", "-7"},
		{"uint8", "255"},
		{"bool", "true"},
		{"float", "1.5"},
		{"named", "99"},
		{"stringer", "bob@example.com"},
		{"struct", ""},
		{"bytes", ""},
		{"slice", ""},
		{"map", ""},
		{"empty", ""},
		{"missing", ""},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got, err := scsstore.Value(tt.key)(data)
			if got != tt.want || err != nil {
				t.Errorf("Value(%q)(data) = %q, %v, want %q, nil", tt.key, got, err, tt.want)
			}
		})
	}
}

func TestValueData(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		want    string
		wantErr bool
	}{
		{"nil", nil, "", false},
		{"empty", []byte{}, "", false},
		{"garbage", []byte("not gob at all"), "", true},
		{"truncated", encoded(t, nil, map[string]any{"user": "alice"})[:20], "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := scsstore.Value("user")(tt.data)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("Value(%q)(%q) = %q, %v, want %q, error %v", "user", tt.data, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// jsonCodec is an scs.Codec other than the default.
type jsonCodec struct{}

type jsonSession struct {
	Deadline time.Time
	Values   map[string]any
}

func (jsonCodec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	return json.Marshal(jsonSession{deadline, values})
}

func (jsonCodec) Decode(b []byte) (time.Time, map[string]any, error) {
	var s jsonSession
	err := json.Unmarshal(b, &s)
	return s.Deadline, s.Values, err
}

func TestValueWith(t *testing.T) {
	data := encoded(t, jsonCodec{}, map[string]any{"user": "alice", "id": 42})
	tests := []struct {
		codec scs.Codec
		key   string
		want  string
	}{
		{jsonCodec{}, "user", "alice"},
		{jsonCodec{}, "id", "42"},
		{jsonCodec{}, "missing", ""},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got, err := scsstore.ValueWith(tt.codec, tt.key)(data)
			if got != tt.want || err != nil {
				t.Errorf("ValueWith(%T, %q)(data) = %q, %v, want %q, nil", tt.codec, tt.key, got, err, tt.want)
			}
		})
	}
	// The default codec cannot read JSON, and says so.
	if got, err := scsstore.ValueWith(nil, "user")(data); err == nil {
		t.Errorf("ValueWith(nil, %q)(json data) = %q, nil, want an error", "user", got)
	}
}

func TestValueWithNilIsGob(t *testing.T) {
	data := encoded(t, nil, map[string]any{"user": "alice"})
	got, err := scsstore.ValueWith(nil, "user")(data)
	if got != "alice" || err != nil {
		t.Errorf("ValueWith(nil, %q)(gob data) = %q, %v, want %q, nil", "user", got, err, "alice")
	}
}

func FuzzValue(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("garbage"))
	data, _ := scs.GobCodec{}.Encode(time.Unix(0, 0), map[string]any{"user": "alice", "n": 1})
	f.Add(data)
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := scsstore.Value("user")(b)
		if err != nil && got != "" {
			t.Errorf("Value(%q)(%q) = %q, %v, want \"\" with an error", "user", b, got, err)
		}
	})
}
