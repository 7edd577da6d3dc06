// Package database opens the database an example keeps its sessions in: a
// SQLite file in the working directory by default, or any DSN that
// [github.com/sqlsession/sqlsession/dsn] reads, given on the command line.
//
// It exists so that every example reads the same -dsn flag; the session
// wiring, the part worth copying, stays in each example's main.go.
package database

import (
	"database/sql"
	"fmt"

	_ "github.com/go-sql-driver/mysql" // registers the "mysql" driver
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver, pure Go

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/dsn"
)

// SQLiteFile is the file, in the working directory, that holds the sessions
// when no DSN is given.
const SQLiteFile = "sessions.db"

// Usage describes the DSNs that [Open] accepts, for a flag's help text.
const Usage = "PostgreSQL URL (postgres://user:pass@127.0.0.1:5432/db), " +
	"MySQL/MariaDB URL or DSN (mysql://user:pass@127.0.0.1:3306/db or user:pass@tcp(127.0.0.1:3306)/db), " +
	"or SQLite file (sqlite://sessions.db); empty: the SQLite file " + SQLiteFile

// Open opens the database named by s and returns the sqlsession dialect
// that goes with it. "" opens [SQLiteFile]; anything else is read by
// [dsn.Parse]: a postgres:// URL (pgx), a mysql:// URL or a
// go-sql-driver DSN (mysql), a sqlite:// URL, file: URI or file path
// (modernc.org/sqlite). SQLite files are opened in WAL mode (readers do not
// wait for the writer) with a busy timeout (a writer waits for another
// instead of failing at once).
//
// Like [sql.Open], it does not connect: the first query does.
func Open(s string) (*sql.DB, sqlsession.Dialect, error) {
	if s == "" {
		s = SQLiteFile
	}
	src, err := dsn.Parse(s)
	if err != nil {
		return nil, sqlsession.Dialect{}, fmt.Errorf("database: %w", err)
	}
	db, err := src.WithPragma("journal_mode", "WAL").Open()
	if err != nil {
		return nil, sqlsession.Dialect{}, fmt.Errorf("database: %w", err)
	}
	return db, src.Dialect, nil
}

// SQLite opens the SQLite database file at path, creating it if needed, as
// [Open] does.
func SQLite(path string) (*sql.DB, error) {
	db, _, err := Open("sqlite://" + path)
	return db, err
}
