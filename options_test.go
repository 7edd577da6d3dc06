package sqlsession

import (
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name    string
		dialect Dialect
		opts    Options
		want    error
	}{
		{"zero options", Postgres, Options{}, nil},
		{"schema and table", SQLServer, Options{Schema: "dbo", Table: "Web_Sessions2"}, nil},
		{"longest table", MySQL, Options{Table: strings.Repeat("t", 40)}, nil},
		{"zero dialect", Dialect{}, Options{}, ErrInvalidOptions},
		{"table too long", MySQL, Options{Table: strings.Repeat("t", 41)}, ErrUnsafeIdentifier},
		{"injection", SQLite, Options{Table: "s; DROP TABLE users"}, ErrUnsafeIdentifier},
		{"quote", Postgres, Options{Table: `s"x`}, ErrUnsafeIdentifier},
		{"backtick", MySQL, Options{Table: "s`x"}, ErrUnsafeIdentifier},
		{"bracket", SQLServer, Options{Table: "s]x"}, ErrUnsafeIdentifier},
		{"dot", Postgres, Options{Table: "public.sessions"}, ErrUnsafeIdentifier},
		{"hyphen", Postgres, Options{Table: "my-sessions"}, ErrUnsafeIdentifier},
		{"leading digit", Postgres, Options{Table: "1sessions"}, ErrUnsafeIdentifier},
		{"non-ascii", Postgres, Options{Table: "sessiöns"}, ErrUnsafeIdentifier},
		{"bad schema", Postgres, Options{Schema: "a b"}, ErrUnsafeIdentifier},
		{"negative lifetime", Postgres, Options{DefaultLifetime: -time.Second}, ErrInvalidOptions},
		{"negative idle", Postgres, Options{IdleTimeout: -time.Second}, ErrInvalidOptions},
		{"negative interval", Postgres, Options{CleanupInterval: -time.Second}, ErrInvalidOptions},
		{"negative every", Postgres, Options{CleanupEvery: -1}, ErrInvalidOptions},
		{"negative batch", Postgres, Options{CleanupBatchSize: -1}, ErrInvalidOptions},
		{"negative max size", Postgres, Options{MaxDataSize: -1}, ErrInvalidOptions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(&sql.DB{}, tt.dialect, tt.opts)
			if !errors.Is(err, tt.want) {
				t.Fatalf("New(%+v) error = %v, want %v", tt.opts, err, tt.want)
			}
			if err == nil {
				s.Close()
			} else if !strings.HasPrefix(err.Error(), "sqlsession: ") {
				t.Fatalf("New() error %q does not start with the package name", err)
			}
		})
	}
	if _, err := New(nil, Postgres, Options{}); !errors.Is(err, ErrInvalidOptions) {
		t.Fatalf("New(nil db) = %v, want ErrInvalidOptions", err)
	}
	if _, err := NewWithBackend(nil, Postgres, Options{}); !errors.Is(err, ErrInvalidOptions) {
		t.Fatalf("NewWithBackend(nil) = %v, want ErrInvalidOptions", err)
	}
}

func TestDefaults(t *testing.T) {
	s, err := New(&sql.DB{}, Postgres, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := s.Options()
	want := Options{Table: "sessions", DefaultLifetime: 24 * time.Hour, MaxDataSize: 4 << 20, CleanupBatchSize: 1000}
	if got.Table != want.Table || got.DefaultLifetime != want.DefaultLifetime || got.MaxDataSize != want.MaxDataSize || got.CleanupBatchSize != want.CleanupBatchSize {
		t.Fatalf("Options() = %+v, want %+v", got, want)
	}
}

func TestLookupDialect(t *testing.T) {
	for _, d := range Dialects {
		got, ok := LookupDialect(d.Name())
		if !ok || got != d {
			t.Fatalf("LookupDialect(%q) = %v, %v, want %v, true", d.Name(), got, ok, d)
		}
	}
	if d, ok := LookupDialect("oracle"); ok || d.Name() != "" {
		t.Fatalf(`LookupDialect("oracle") = %v, %v, want zero, false`, d, ok)
	}
}

// FuzzCheckIdent checks that an accepted name cannot break out of its quotes
// in any dialect.
func FuzzCheckIdent(f *testing.F) {
	for _, s := range []string{"sessions", "", "a b", `a"b`, "a`b", "a]b", "a.b", "a;b", "_x9", "9x", "ä", strings.Repeat("a", 41), "a\x00b", "sessions--"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if checkIdent("table", name) != nil {
			return
		}
		for _, r := range name {
			if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				t.Fatalf("checkIdent(%q) accepted %q", name, r)
			}
		}
		for _, d := range Dialects {
			q := d.d.ident(name)
			if inner := q[1 : len(q)-1]; inner != name {
				t.Fatalf("%s ident(%q) = %q", d, name, q)
			}
		}
	})
}
