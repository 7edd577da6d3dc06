package database

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/internal/testenv"
)

// TestOpen opens each kind of DSN the examples take and keeps a session in
// it. The servers come from the test environment's DSNs (see testenv).
func TestOpen(t *testing.T) {
	tests := []struct {
		name    string
		dsn     func(t *testing.T) string
		dialect sqlsession.Dialect
	}{
		{"sqlite", func(t *testing.T) string { t.Chdir(t.TempDir()); return "" }, sqlsession.SQLite},
		{"postgres", func(t *testing.T) string { return testenv.DSN(t, testenv.PostgresDSN) }, sqlsession.Postgres},
		{"mysql", func(t *testing.T) string { return testenv.DSN(t, testenv.MySQLDSN) }, sqlsession.MySQL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn := tt.dsn(t)
			db, dialect, err := Open(dsn)
			if err != nil {
				t.Fatalf("Open(%s DSN) = %v", tt.name, err)
			}
			t.Cleanup(func() { db.Close() })
			if dialect != tt.dialect {
				t.Errorf("Open(%s DSN) dialect = %v, want %v", tt.name, dialect, tt.dialect)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := db.PingContext(ctx); err != nil {
				testenv.Unavailable(t, "%s server unreachable: %v", tt.name, err)
			}

			table := testenv.Name("sqlsession_ex")
			store, err := sqlsession.New(db, dialect, sqlsession.Options{Table: table})
			if err != nil {
				t.Fatalf("sqlsession.New() = %v", err)
			}
			defer store.Close()
			t.Cleanup(func() { db.Exec("DROP TABLE " + table) })
			if err := store.CreateTable(ctx); err != nil {
				t.Fatalf("CreateTable() = %v", err)
			}
			token := sqlsession.NewToken()
			if err := store.Save(ctx, token, []byte("data"), time.Now().Add(time.Hour)); err != nil {
				t.Fatalf("Save() = %v", err)
			}
			if data, found, err := store.Find(ctx, token); string(data) != "data" || !found || err != nil {
				t.Errorf("Find() = %q, %v, %v, want %q, true, nil", data, found, err, "data")
			}
			if dsn == "" {
				if _, err := os.Stat(SQLiteFile); err != nil {
					t.Errorf("Open(\"\") made no %s in the working directory: %v", SQLiteFile, err)
				}
			}
		})
	}
}

// TestOpenBadDSN checks that a DSN of no known kind is an error, not a
// connection attempt.
func TestOpenBadDSN(t *testing.T) {
	for _, dsn := range []string{"not a dsn", "mysql://root@localhost/db"} {
		if db, _, err := Open(dsn); err == nil {
			db.Close()
			t.Errorf("Open(%q) = nil error, want an error", dsn)
		}
	}
}
