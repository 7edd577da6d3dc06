package gormstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/sqlsession/sqlsession"
	"gorm.io/gorm"
)

// New returns a [sqlsession.Store] that runs its SQL through db, in the
// dialect of db's dialector: "postgres", "mysql", "sqlite" or "sqlserver"
// (see [sqlsession.LookupDialect]). It validates opts and does no I/O.
//
// The statements go through GORM's raw callbacks on db's connection pool, so
// db's logger, callbacks, PrepareStmt, DefaultContextTimeout and transaction
// apply: a Store made from the tx of [gorm.DB.Transaction] reads and writes
// inside that transaction. The Store never closes db.
func New(db *gorm.DB, opts sqlsession.Options) (*sqlsession.Store, error) {
	b, d, err := backendOf(db)
	if err != nil {
		return nil, err
	}
	return sqlsession.NewWithBackend(b, d, opts)
}

// Backend returns the [sqlsession.Backend] that [New] uses, for
// [sqlsession.Options.Replica]: a *gorm.DB on a read replica then serves
// Find. It never closes db.
func Backend(db *gorm.DB) (sqlsession.Backend, error) {
	b, _, err := backendOf(db)
	if err != nil {
		return nil, err
	}
	return b, nil
}

func backendOf(db *gorm.DB) (backend, sqlsession.Dialect, error) {
	if db == nil {
		return backend{}, sqlsession.Dialect{}, fmt.Errorf("gormstore: %w: nil *gorm.DB", sqlsession.ErrInvalidOptions)
	}
	if db.Error != nil {
		return backend{}, sqlsession.Dialect{}, fmt.Errorf("gormstore: the *gorm.DB holds an error: %w", db.Error)
	}
	if db.Dialector == nil {
		return backend{}, sqlsession.Dialect{}, fmt.Errorf("gormstore: %w: *gorm.DB without a dialector", sqlsession.ErrInvalidOptions)
	}
	name := db.Dialector.Name()
	d, ok := sqlsession.LookupDialect(name)
	if !ok {
		return backend{}, sqlsession.Dialect{}, fmt.Errorf("gormstore: %w: no sqlsession dialect for GORM dialector %q (want postgres, mysql, sqlite or sqlserver)", sqlsession.ErrInvalidOptions, name)
	}
	// A fresh session: no conditions of a chain the caller may have passed,
	// the caller's pool, transaction, logger and callbacks.
	return backend{db.Session(&gorm.Session{NewDB: true})}, d, nil
}

// backend runs the Store's SQL through GORM. The Store never closes it.
type backend struct{ db *gorm.DB }

var (
	_ sqlsession.Backend = backend{}
	_ sqlsession.Pinner  = backend{}
)

// stmt returns a GORM statement holding query and args as they are. GORM's
// Raw and Exec would parse the SQL text: they replace every "?" with the
// dialector's bind variable (expanding a []byte that follows "(" into one
// variable per byte) and treat "@name" as a named argument, which drops the
// @p1 parameters of the SQL Server dialect. Setting the statement's SQL and
// Vars directly keeps the core's SQL byte for byte; everything after that,
// callbacks, logger and connection pool, is GORM's as usual.
func (b backend) stmt(ctx context.Context, query string, args []any) *gorm.DB {
	tx := b.db.Session(&gorm.Session{NewDB: true, Context: ctx}).Raw("")
	tx.Statement.SQL.WriteString(query)
	tx.Statement.Vars = append(tx.Statement.Vars, args...)
	return tx
}

func (b backend) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tx := b.stmt(ctx, query, args)
	tx = tx.Callback().Raw().Execute(tx)
	if tx.Error != nil {
		return 0, tx.Error
	}
	return tx.RowsAffected, nil
}

func (b backend) Query(ctx context.Context, query string, args ...any) (sqlsession.Rows, error) {
	rows, err := b.stmt(ctx, query, args).Rows()
	if err != nil {
		return nil, err
	}
	if rows == nil {
		return nil, errNoRows
	}
	return rows, nil
}

// errNoRows reports a GORM row query that returned neither rows nor an
// error, as in DryRun mode.
var errNoRows = errors.New("gormstore: GORM returned no rows and no error (DryRun mode?)")

// QueryRow runs the query through GORM's Rows, which reports errors that
// Row would hide in a nil *sql.Row.
func (b backend) QueryRow(ctx context.Context, query string, args ...any) sqlsession.Row {
	rows, err := b.Query(ctx, query, args...)
	return &row{rows, err}
}

// row is the first row of a result; Scan closes the rows.
type row struct {
	rows sqlsession.Rows
	err  error
}

func (r *row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	return r.rows.Close()
}

// Pin implements [sqlsession.Pinner] with a transaction on one connection of
// db's pool, as [gorm.DB.Connection] pins one; release rolls it back (the
// sweep lock writes nothing) and returns the connection. A db in a
// transaction already is used as it is.
func (b backend) Pin(ctx context.Context) (sqlsession.Backend, func(), error) {
	if _, ok := b.db.Statement.ConnPool.(gorm.TxCommitter); ok {
		return b, func() {}, nil
	}
	var conn *sql.Conn
	begin, ok := b.db.Statement.ConnPool.(*sql.Conn)
	if !ok {
		sqlDB, err := b.db.DB()
		if err != nil {
			return nil, nil, err
		}
		if conn, err = sqlDB.Conn(ctx); err != nil {
			return nil, nil, err
		}
		begin = conn
	}
	// The transaction must outlive a sweep that runs out of time, until
	// release: database/sql would roll it back when ctx ends, before the
	// unlock (see the core's sqlBackend.Pin).
	tx, err := begin.BeginTx(context.WithoutCancel(ctx), nil)
	if err != nil {
		if conn != nil {
			conn.Close()
		}
		return nil, nil, err
	}
	pinned := b.db.Session(&gorm.Session{NewDB: true, Context: ctx})
	pinned.Statement.ConnPool = tx
	return backend{pinned}, func() {
		tx.Rollback()
		if conn != nil {
			conn.Close()
		}
	}, nil
}
