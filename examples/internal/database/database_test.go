package database

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/dsn"
	"github.com/sqlsession/sqlsession/internal/testenv"
)

// mysqlURL rewrites the test environment's go-sql-driver DSN as a mysql://
// URL, the other form Open accepts.
func mysqlURL(t *testing.T) string {
	cfg, err := mysql.ParseDSN(testenv.DSN(t, testenv.MySQLDSN))
	if err != nil {
		t.Fatal(err)
	}
	u := &url.URL{Scheme: "mysql", User: url.UserPassword(cfg.User, cfg.Passwd), Host: cfg.Addr, Path: "/" + cfg.DBName}
	return u.String()
}

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
		{"mysql url", mysqlURL, sqlsession.MySQL},
		{"sqlite url", func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "s.db") }, sqlsession.SQLite},
		{"sqlite file", func(t *testing.T) string { return filepath.Join(t.TempDir(), "s.db") }, sqlsession.SQLite},
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

// TestOpenBadDSN checks that a DSN of no known kind, or for a driver the
// examples do not link, is an error, not a connection attempt.
func TestOpenBadDSN(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"redis://127.0.0.1:6379", dsn.ErrUnsupported},
		{"root@localhost:3306/db", dsn.ErrInvalid},
		{"sqlserver://sa@127.0.0.1?database=db", dsn.ErrDriverMissing},
	}
	for _, tt := range tests {
		db, _, err := Open(tt.in)
		if err == nil {
			db.Close()
		}
		if !errors.Is(err, tt.want) {
			t.Errorf("Open(%q) = %v, want %v", tt.in, err, tt.want)
		}
	}
}
