// Package dbtest holds sqlsession's integration tests and the helpers that
// the other test modules share: the databases to run against and a factory
// of Stores on fresh tables.
//
// SQLite (modernc.org/sqlite, pure Go) always runs. PostgreSQL and
// MySQL/MariaDB run when SQLSESSION_TEST_POSTGRES_DSN and
// SQLSESSION_TEST_MYSQL_DSN are set; with SQLSESSION_TEST_STRICT=1, as in CI,
// an unset or unreachable server fails the test instead of skipping it.
// scripts/test starts the servers and sets all three.
package dbtest

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // MySQL and MariaDB
	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL, driver "pgx"
	_ "github.com/lib/pq"              // PostgreSQL, driver "postgres"
	_ "modernc.org/sqlite"             // SQLite, pure Go

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/internal/testenv"
	"github.com/sqlsession/sqlsession/sqlsessiontest"
)

// Target is one database reached through one driver.
type Target struct {
	Name    string
	Dialect sqlsession.Dialect
	// Open returns a pool for this test and the schema its tables go in
	// ("" for the connection's default). Both are dropped when t ends.
	Open func(t *testing.T) (db *sql.DB, schema string)
}

// SQLiteDSN is the modernc.org/sqlite DSN for a file that serves concurrent
// writers: a busy timeout instead of "database is locked", WAL so readers run
// beside the writer, and immediate transactions.
func SQLiteDSN(path string) string {
	return "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
}

var (
	sqlite = Target{"sqlite", sqlsession.SQLite, func(t *testing.T) (*sql.DB, string) {
		db, err := sql.Open("sqlite", SQLiteDSN(filepath.Join(t.TempDir(), "sessions.db")))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db, ""
	}}
	pgx = Target{"postgres-pgx", sqlsession.Postgres, func(t *testing.T) (*sql.DB, string) {
		return postgresSchema(t, pool(testenv.Open(t, "pgx", testenv.PostgresDSN)))
	}}
	libpq = Target{"postgres-libpq", sqlsession.Postgres, func(t *testing.T) (*sql.DB, string) {
		return postgresSchema(t, pool(testenv.Open(t, "postgres", testenv.PostgresDSN)))
	}}
	mysql = Target{"mysql", sqlsession.MySQL, func(t *testing.T) (*sql.DB, string) {
		return pool(testenv.Open(t, "mysql", testenv.MySQLDSN)), ""
	}}
)

// Drivers lists every database × driver pair: the core's conformance matrix.
var Drivers = []Target{sqlite, pgx, libpq, mysql}

// Servers lists one target per database (SQLite, PostgreSQL through pgx,
// MySQL/MariaDB): enough for tests of the layers above the Store.
var Servers = []Target{sqlite, pgx, mysql}

// pool bounds a test's connections, as an application would, so that tests
// running side by side stay well under the servers' connection limits.
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

// postgresSchema makes a schema for this test and drops it afterwards, so
// that the tests also cover Options.Schema.
func postgresSchema(t *testing.T, db *sql.DB) (*sql.DB, string) {
	schema := testenv.Name("sqlsession")
	if _, err := db.Exec(`CREATE SCHEMA "` + schema + `"`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Exec(`DROP SCHEMA "` + schema + `" CASCADE`) })
	return db, schema
}

// Factory returns a NewStore that puts each test's tables in db (and schema)
// and drops them when the test ends.
func Factory(db *sql.DB, d sqlsession.Dialect, schema string) sqlsessiontest.NewStore {
	return func(t *testing.T, opts sqlsession.Options) *sqlsession.Store {
		if opts.Table == "" {
			opts.Table = testenv.Name("t")
			opts.Schema = schema
			t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + QuotedTable(d, schema, opts.Table)) })
		}
		s, err := sqlsession.New(db, d, opts)
		if err != nil {
			t.Fatalf("sqlsession.New() = %v", err)
		}
		return s
	}
}

// Store returns a Store on a fresh table of db with its table created. It is
// closed and its table dropped when t ends.
func Store(t *testing.T, db *sql.DB, d sqlsession.Dialect, schema string, opts sqlsession.Options) *sqlsession.Store {
	t.Helper()
	s := Factory(db, d, schema)(t, opts)
	t.Cleanup(func() { s.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.CreateTable(ctx); err != nil {
		t.Fatalf("CreateTable() = %v", err)
	}
	return s
}

// QuotedTable returns the quoted, schema-qualified table name, for tests that
// read the table behind the Store's back.
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
