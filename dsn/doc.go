// Package dsn turns one database connection string into the arguments of
// [database/sql.Open] and the [sqlsession.Dialect] that goes with them, so
// that a program can take a single -dsn flag or environment variable for
// any database sqlsession supports.
//
// # Quick start
//
//	import (
//		_ "github.com/go-sql-driver/mysql" // the drivers the program links
//		_ "github.com/jackc/pgx/v5/stdlib"
//		_ "modernc.org/sqlite"
//
//		"github.com/sqlsession/sqlsession"
//		"github.com/sqlsession/sqlsession/dsn"
//	)
//
//	src, err := dsn.Parse(os.Getenv("DATABASE_URL"))
//	if err != nil {
//		log.Fatal(err) // never shows the password
//	}
//	db, err := src.Open() // sql.Open(src.Driver, src.DSN)
//	if err != nil {
//		log.Fatal(err)
//	}
//	store, err := sqlsession.New(db, src.Dialect, sqlsession.Options{})
//
// # Accepted forms
//
// Both the URL form and each driver's own form are accepted, whichever one
// a reader has at hand:
//
//	postgres://user:pass@host:5432/db?sslmode=disable   pgx (also postgresql://, several hosts)
//	host=db user=app dbname=app                          pgx (libpq key/value form)
//	mysql://user:pass@host:3306/db?tls=true              mysql, rewritten to the driver's form
//	mysql://user@host/db?socket=/run/mysqld/mysqld.sock  mysql, over a Unix socket
//	user:pass@tcp(host:3306)/db                          mysql, go-sql-driver's own form, kept as is
//	sqlserver://user:pass@host:1433?database=db          sqlserver
//	sqlite://sessions.db, sqlite:///var/lib/app/s.db     sqlite (modernc.org/sqlite)
//	file:sessions.db?mode=ro, sessions.db, /abs/s.db     sqlite
//
// The driver names are those of the drivers sqlsession is tested with:
// "pgx" ([github.com/jackc/pgx/v5/stdlib]), "mysql"
// ([github.com/go-sql-driver/mysql]), "sqlserver"
// ([github.com/microsoft/go-mssqldb]) and "sqlite" ([modernc.org/sqlite],
// pure Go). This package imports none of them: a program links the ones it
// wants with blank imports, and [Source.Open] says which import is missing.
//
// # SQLite
//
// A SQLite source gets a busy timeout of five seconds (a writer waits for
// another instead of failing with "database is locked") unless the DSN sets
// one; [Source.WithPragma] adds others, such as journal_mode(WAL).
//
// # Errors
//
// Errors never hold the password: they name the part that is wrong, and
// [Source.Redacted] (also [Source.String]) is the DSN for messages and logs.
// Parse does no I/O; the first query of the [database/sql.DB] connects.
package dsn
