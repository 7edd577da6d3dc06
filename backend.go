package sqlsession

import (
	"context"
	"database/sql"
)

// Backend is the small execution seam between a [Store] and a database. The
// core implements it for database/sql ([SQLBackend]); other modules implement
// it for a pgx pool or a GORM handle and get a [Store] with the same behaviour
// through [NewWithBackend].
//
// Queries arrive as SQL text of the Store's [Dialect] with their arguments:
// string, []byte and int64 values. A Backend must be safe for concurrent use.
//
// [Store.Close] never closes a Backend; a module that opens its own pool
// for a Store hands it over with [NewOwning].
type Backend interface {
	// Exec runs a statement and returns the number of rows it affected.
	Exec(ctx context.Context, query string, args ...any) (rowsAffected int64, err error)
	// QueryRow runs a query expected to return at most one row. The returned
	// Row's Scan reports a missing row with an error that wraps [sql.ErrNoRows].
	QueryRow(ctx context.Context, query string, args ...any) Row
	// Query runs a query and returns its rows, which the caller closes.
	Query(ctx context.Context, query string, args ...any) (Rows, error)
}

// Pinner is implemented by a [Backend] that can run several statements on
// one connection of its pool, inside one transaction. Background cleanup uses
// it to hold a lock (a PostgreSQL transaction-level advisory lock, MySQL
// GET_LOCK, a SQL Server applock) so that instances sharing a database sweep
// one at a time. release ends the transaction (nothing is written in it) and
// returns the connection to the pool. Holding a transaction keeps the lock on
// one server connection even behind a transaction-pooling proxy such as
// PgBouncer. The database/sql backend of [New] implements it.
type Pinner interface {
	Pin(ctx context.Context) (b Backend, release func(), err error)
}

// Row is one result row of [Backend.QueryRow]. [*sql.Row] implements it.
type Row interface {
	Scan(dest ...any) error
}

// Rows is the result of [Backend.Query]. [*sql.Rows] implements it.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// SQLConn is what [SQLBackend] needs of database/sql: [*sql.DB], [*sql.Conn]
// and [*sql.Tx] all implement it.
type SQLConn interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// SQLBackend returns a [Backend] running queries on c. It never closes c.
func SQLBackend(c SQLConn) Backend { return sqlBackend{c} }

type sqlBackend struct{ c SQLConn }

// Pin implements [Pinner]: a transaction on one connection of a [*sql.DB] or
// on a [*sql.Conn]; a [*sql.Tx] is used as it is.
func (b sqlBackend) Pin(ctx context.Context) (Backend, func(), error) {
	var conn *sql.Conn
	switch c := b.c.(type) {
	case *sql.DB:
		var err error
		if conn, err = c.Conn(ctx); err != nil {
			return nil, nil, err
		}
	case *sql.Conn:
		tx, err := c.BeginTx(context.WithoutCancel(ctx), nil)
		if err != nil {
			return nil, nil, err
		}
		return sqlBackend{tx}, func() { tx.Rollback() }, nil
	default:
		return b, func() {}, nil
	}
	// database/sql rolls a transaction back when its ctx ends: the lock's
	// transaction must outlive a sweep that runs out of time, until release,
	// or the unlock would find it gone (and a MySQL connection would go back
	// to the pool still holding GET_LOCK).
	tx, err := conn.BeginTx(context.WithoutCancel(ctx), nil)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return sqlBackend{tx}, func() { tx.Rollback(); conn.Close() }, nil
}

func (b sqlBackend) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := b.c.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (b sqlBackend) QueryRow(ctx context.Context, query string, args ...any) Row {
	return b.c.QueryRowContext(ctx, query, args...)
}

func (b sqlBackend) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	rows, err := b.c.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}
