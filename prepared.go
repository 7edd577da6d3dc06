package sqlsession

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
)

// preparedBackend runs the Store's hot statements as prepared statements
// kept for the Store's life, so that each operation is one round trip on
// drivers that would otherwise prepare, execute and close every time
// (go-sql-driver/mysql without interpolateParams). database/sql prepares
// each statement once per connection, on first use there. One-off
// statements (DDL) run directly. New uses it for MySQL and SQLite.
type preparedBackend struct {
	db    *sql.DB
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
	done  bool
}

func newPreparedBackend(db *sql.DB) *preparedBackend {
	return &preparedBackend{db: db, stmts: map[string]*sql.Stmt{}}
}

var errBackendClosed = errors.New("sqlsession: prepared statements closed")

func (b *preparedBackend) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	b.mu.Lock()
	st, ok := b.stmts[query]
	done := b.done
	b.mu.Unlock()
	if ok {
		return st, nil
	}
	if done {
		return nil, errBackendClosed
	}
	st, err := b.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if prev, ok := b.stmts[query]; ok || b.done {
		st.Close() // another goroutine won, or the Store closed meanwhile
		if !ok {
			return nil, errBackendClosed
		}
		return prev, nil
	}
	b.stmts[query] = st
	return st, nil
}

// hot reports whether a statement is worth keeping prepared.
func hot(query string) bool {
	for _, verb := range []string{"SELECT ", "INSERT ", "UPDATE ", "DELETE "} {
		if strings.HasPrefix(query, verb) {
			return true
		}
	}
	return false
}

func (b *preparedBackend) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	if !hot(query) {
		return sqlBackend{b.db}.Exec(ctx, query, args...)
	}
	st, err := b.stmt(ctx, query)
	if err != nil {
		return 0, err
	}
	res, err := st.ExecContext(ctx, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (b *preparedBackend) QueryRow(ctx context.Context, query string, args ...any) Row {
	st, err := b.stmt(ctx, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

func (b *preparedBackend) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	if !hot(query) {
		return sqlBackend{b.db}.Query(ctx, query, args...)
	}
	st, err := b.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// Pin hands out a plain connection: locks are one-off statements.
func (b *preparedBackend) Pin(ctx context.Context) (Backend, func(), error) {
	return sqlBackend{b.db}.Pin(ctx)
}

// Close closes the prepared statements, never the *sql.DB.
func (b *preparedBackend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done = true
	var errs []error
	for q, st := range b.stmts {
		errs = append(errs, st.Close())
		delete(b.stmts, q)
	}
	return errors.Join(errs...)
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
