// Package database opens the database an example keeps its sessions in: a
// SQLite file in the working directory by default, or PostgreSQL or
// MySQL/MariaDB from a DSN given on the command line.
//
// It exists so that every example reads the same -dsn flag; the session
// wiring, the part worth copying, stays in each example's main.go.
package database

import (
	"database/sql"
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver, pure Go

	"github.com/sqlsession/sqlsession"
)

// SQLiteFile is the file, in the working directory, that holds the sessions
// when no DSN is given.
const SQLiteFile = "sessions.db"

// Usage describes the DSNs that [Open] accepts, for a flag's help text.
const Usage = "PostgreSQL URL (postgres://user:pass@127.0.0.1:5432/db) or " +
	"MySQL/MariaDB DSN (user:pass@tcp(127.0.0.1:3306)/db); empty: the SQLite file " + SQLiteFile

// Open opens the database named by dsn and returns the sqlsession dialect
// that goes with it:
//
//   - "" opens [SQLiteFile] with modernc.org/sqlite ([sqlsession.SQLite]);
//   - a postgres:// or postgresql:// URL opens PostgreSQL with pgx's
//     database/sql driver ([sqlsession.Postgres]);
//   - anything else must be a go-sql-driver/mysql DSN ([sqlsession.MySQL]).
//
// Like [sql.Open], it does not connect: the first query does.
func Open(dsn string) (*sql.DB, sqlsession.Dialect, error) {
	switch {
	case dsn == "":
		db, err := SQLite(SQLiteFile)
		return db, sqlsession.SQLite, err
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, sqlsession.Dialect{}, fmt.Errorf("database: %w", err)
		}
		return db, sqlsession.Postgres, nil
	default:
		if _, err := mysql.ParseDSN(dsn); err != nil {
			return nil, sqlsession.Dialect{}, fmt.Errorf("database: neither a postgres:// URL nor a MySQL DSN: %w", err)
		}
		db, err := sql.Open("mysql", dsn)
		if err != nil {
			return nil, sqlsession.Dialect{}, fmt.Errorf("database: %w", err)
		}
		return db, sqlsession.MySQL, nil
	}
}

// SQLite opens the SQLite database file at path, creating it if needed, in
// WAL mode (readers do not wait for the writer) with a busy timeout of five
// seconds (a writer waits for another instead of failing at once).
func SQLite(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	return db, nil
}
