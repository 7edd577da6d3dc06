package gorillastore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/sqlsession/sqlsession"
)

// fakeBackend is an in-memory [sqlsession.Backend], so that these tests need
// no database driver. It understands the statements a Store sends for Find,
// Save, Delete and Count, telling them apart by their first word and their
// arguments; the real databases run in the integration tests.
type fakeBackend struct {
	mu   sync.Mutex
	rows map[string]fakeRow
	err  error             // returned by every call when set
	ctxs []context.Context // the contexts of the calls, in order
}

type fakeRow struct {
	data   []byte
	expiry int64 // Unix milliseconds
}

var _ sqlsession.Backend = (*fakeBackend)(nil)

// newFake returns a Store on a fakeBackend, closed when t ends.
func newFake(t testing.TB) (*sqlsession.Store, *fakeBackend) {
	t.Helper()
	f := &fakeBackend{rows: map[string]fakeRow{}}
	db, err := sqlsession.NewWithBackend(f, sqlsession.SQLite, sqlsession.Options{})
	if err != nil {
		t.Fatalf("sqlsession.NewWithBackend() = %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db, f
}

func (f *fakeBackend) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

// len returns the number of stored rows, live or expired.
func (f *fakeBackend) len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.rows)
}

// only returns the one stored row and its key.
func (f *fakeBackend) only(t testing.TB) (string, fakeRow) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.rows) != 1 {
		t.Fatalf("the table holds %d rows, want 1", len(f.rows))
	}
	for k, r := range f.rows {
		return k, r
	}
	panic("unreachable")
}

// set replaces the data and expiry of every stored row.
func (f *fakeBackend) set(data []byte, expiry int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k := range f.rows {
		f.rows[k] = fakeRow{data, expiry}
	}
}

func (f *fakeBackend) lastCtx() context.Context {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.ctxs) == 0 {
		return nil
	}
	return f.ctxs[len(f.ctxs)-1]
}

func (f *fakeBackend) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ctxs = append(f.ctxs, ctx)
	if f.err != nil {
		return 0, f.err
	}
	switch {
	case strings.HasPrefix(query, "INSERT"):
		key, data, expiry := args[0].(string), args[1].([]byte), args[2].(int64)
		f.rows[key] = fakeRow{append([]byte(nil), data...), expiry}
		return 1, nil
	case strings.HasPrefix(query, "DELETE") && len(args) == 1:
		key := args[0].(string)
		if _, ok := f.rows[key]; !ok {
			return 0, nil
		}
		delete(f.rows, key)
		return 1, nil
	}
	return 0, errors.New("fake backend: unexpected statement: " + query)
}

func (f *fakeBackend) QueryRow(ctx context.Context, query string, args ...any) sqlsession.Row {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ctxs = append(f.ctxs, ctx)
	if f.err != nil {
		return fakeScan{err: f.err}
	}
	if !strings.HasPrefix(query, "SELECT") || strings.Contains(query, "COUNT") || len(args) != 2 {
		return fakeScan{err: errors.New("fake backend: unexpected query: " + query)}
	}
	key, now := args[0].(string), args[1].(int64)
	r, ok := f.rows[key]
	if !ok || r.expiry <= now {
		return fakeScan{err: sql.ErrNoRows}
	}
	return fakeScan{data: append([]byte(nil), r.data...)}
}

func (f *fakeBackend) Query(ctx context.Context, query string, args ...any) (sqlsession.Rows, error) {
	return nil, errors.New("fake backend: unexpected query: " + query)
}

type fakeScan struct {
	data []byte
	err  error
}

func (s fakeScan) Scan(dest ...any) error {
	if s.err != nil {
		return s.err
	}
	*dest[0].(*[]byte) = s.data
	return nil
}
