// Package testdb gives the command's tests their databases: SQLite always,
// PostgreSQL and MySQL/MariaDB from the test environment's DSNs (see
// internal/testenv of the core module), each with a fresh schema or table
// that is dropped when the test ends.
//
// It lives in the command's module, not in the repository's test-only
// integration module, so that the command requires no test-only module:
// `go install` of the command resolves only what it links. It needs no
// driver that the command does not link already.
package testdb

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // MySQL and MariaDB
	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL, driver "pgx"
	_ "modernc.org/sqlite"             // SQLite, pure Go

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/internal/testenv"
)

// Target is one test database.
type Target struct {
	Name    string
	Dialect sqlsession.Dialect
	// Open returns a pool for this test and the schema its tables go in
	// ("" for the connection's default). Both are dropped when t ends.
	Open func(t *testing.T) (db *sql.DB, schema string)
}

// Servers lists one target per database: SQLite, PostgreSQL through pgx,
// MySQL/MariaDB.
var Servers = []Target{
	{"sqlite", sqlsession.SQLite, func(t *testing.T) (*sql.DB, string) {
		path := filepath.Join(t.TempDir(), "sessions.db")
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db, ""
	}},
	{"postgres-pgx", sqlsession.Postgres, func(t *testing.T) (*sql.DB, string) {
		db := pool(testenv.Open(t, "pgx", testenv.PostgresDSN))
		// A schema of its own, so that the tests also cover --schema.
		schema := testenv.Name("sqlsession")
		if _, err := db.Exec(`CREATE SCHEMA "` + schema + `"`); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Exec(`DROP SCHEMA "` + schema + `" CASCADE`) })
		return db, schema
	}},
	{"mysql", sqlsession.MySQL, func(t *testing.T) (*sql.DB, string) {
		return pool(testenv.Open(t, "mysql", testenv.MySQLDSN)), ""
	}},
}

// pool bounds a test's connections, so that tests running side by side stay
// well under the servers' connection limits.
func pool(db *sql.DB) *sql.DB {
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	return db
}

// Each runs fn as a subtest for every target in targets.
func Each(t *testing.T, targets []Target, fn func(t *testing.T, tg Target, db *sql.DB, schema string)) {
	for _, tg := range targets {
		t.Run(tg.Name, func(t *testing.T) {
			db, schema := tg.Open(t)
			fn(t, tg, db, schema)
		})
	}
}

// Store returns a Store on a fresh table of db (in schema) with its table
// created. It is closed and its table dropped when t ends.
func Store(t *testing.T, db *sql.DB, d sqlsession.Dialect, schema string, opts sqlsession.Options) *sqlsession.Store {
	t.Helper()
	opts.Table, opts.Schema = testenv.Name("t"), schema
	t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + QuotedTable(d, schema, opts.Table)) })
	s, err := sqlsession.New(db, d, opts)
	if err != nil {
		t.Fatalf("sqlsession.New() = %v", err)
	}
	t.Cleanup(func() { s.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.CreateTable(ctx); err != nil {
		t.Fatalf("CreateTable() = %v", err)
	}
	return s
}

// QuotedTable returns the quoted, schema-qualified table name, for tests
// that read the table behind the Store's back.
func QuotedTable(d sqlsession.Dialect, schema, table string) string {
	q := func(s string) string {
		if d == sqlsession.MySQL {
			return "`" + s + "`"
		}
		return `"` + s + `"`
	}
	if schema != "" {
		return q(schema) + "." + q(table)
	}
	return q(table)
}
