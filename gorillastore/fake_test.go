package gorillastore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"

	"github.com/sqlsession/sqlsession"
)

// fakeBackend is an in-memory [sqlsession.Backend], so that these tests need
// no database driver. It understands the statements a Store sends for Find,
// Lookup, Save, SaveIf, Touch and Delete (which leaves a tombstone that Save
// does not re-create), telling them apart by their first word, their text and their
// arguments; the real databases run in the integration tests.
type fakeBackend struct {
	mu     sync.Mutex
	rows   map[string]fakeRow
	err    error           // returned by every call when set
	last   context.Context // the context of the last call
	saves  int             // INSERT statements run
	writes int             // INSERT, UPDATE and DELETE statements run
}

type fakeRow struct {
	data    []byte
	expiry  int64 // Unix milliseconds
	version int64 // negative: a tombstone
}

var _ sqlsession.Backend = (*fakeBackend)(nil)

// newFake returns a Store on a fakeBackend, closed when t ends.
func newFake(t testing.TB) (*sqlsession.Store, *fakeBackend) {
	t.Helper()
	return newFakeWith(t, sqlsession.Options{})
}

// newFakeWith is newFake with opts.
func newFakeWith(t testing.TB, opts sqlsession.Options) (*sqlsession.Store, *fakeBackend) {
	t.Helper()
	f := &fakeBackend{rows: map[string]fakeRow{}}
	db, err := sqlsession.NewWithBackend(f, sqlsession.SQLite, opts)
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

// len returns the number of stored sessions, live or expired, leaving out
// the tombstones of deleted ones.
func (f *fakeBackend) len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.rows {
		if r.version >= 0 {
			n++
		}
	}
	return n
}

// only returns the one stored session and its key.
func (f *fakeBackend) only(t testing.TB) (string, fakeRow) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	var keys []string
	for k, r := range f.rows {
		if r.version >= 0 {
			keys = append(keys, k)
		}
	}
	if len(keys) != 1 {
		t.Fatalf("the table holds %d sessions, want 1", len(keys))
	}
	return keys[0], f.rows[keys[0]]
}

// set replaces the data and expiry of every stored session.
func (f *fakeBackend) set(data []byte, expiry int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, r := range f.rows {
		if r.version >= 0 {
			f.rows[k] = fakeRow{data, expiry, r.version + 1}
		}
	}
}

// snapshot returns a copy of the rows, tombstones included.
func (f *fakeBackend) snapshot() map[string]fakeRow {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.rows)
}

func (r fakeRow) equal(o fakeRow) bool {
	return bytes.Equal(r.data, o.data) && r.expiry == o.expiry && r.version == o.version
}

// counts returns the number of saves and of all writes so far.
func (f *fakeBackend) counts() (saves, writes int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.saves, f.writes
}

func (f *fakeBackend) lastCtx() context.Context {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

func (f *fakeBackend) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last = ctx
	if f.err != nil {
		return 0, f.err
	}
	f.writes++
	switch {
	case strings.HasPrefix(query, "INSERT"):
		f.saves++
		key, data, expiry := args[0].(string), args[1].([]byte), args[2].(int64)
		r, ok := f.rows[key]
		if ok && r.version < 0 {
			return 0, nil // deleted: not re-created
		}
		f.rows[key] = fakeRow{append([]byte(nil), data...), expiry, r.version + 1}
		return 1, nil
	case strings.HasPrefix(query, "UPDATE") && strings.Contains(query, `"data" = ?`) && !strings.Contains(query, "+ 1"):
		// A delete that leaves a tombstone: ..., version, key.
		version, key := args[len(args)-2].(int64), args[len(args)-1].(string)
		if _, ok := f.rows[key]; !ok {
			return 0, nil
		}
		f.rows[key] = fakeRow{nil, 0, version}
		return 1, nil
	case strings.HasPrefix(query, "UPDATE") && strings.Contains(query, `"version" + 1`):
		// SaveIf: data, expiry, then (after any hook values) key, version, now.
		data, expiry := args[0].([]byte), args[1].(int64)
		n := len(args)
		key, version, now := args[n-3].(string), args[n-2].(int64), args[n-1].(int64)
		r, ok := f.rows[key]
		if !ok || r.version != version || r.expiry <= now {
			return 0, nil
		}
		f.rows[key] = fakeRow{append([]byte(nil), data...), expiry, version + 1}
		return 1, nil
	case strings.HasPrefix(query, "UPDATE") && len(args) == 3:
		expiry, key, now := args[0].(int64), args[1].(string), args[2].(int64)
		r, ok := f.rows[key]
		if !ok || r.expiry <= now {
			return 0, nil
		}
		f.rows[key] = fakeRow{r.data, expiry, r.version}
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
	f.last = ctx
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
	return fakeScan{data: append([]byte(nil), r.data...), expiry: r.expiry, version: r.version}
}

func (f *fakeBackend) Query(ctx context.Context, query string, args ...any) (sqlsession.Rows, error) {
	return nil, errors.New("fake backend: unexpected query: " + query)
}

type fakeScan struct {
	data    []byte
	expiry  int64
	version int64
	err     error
}

// Scan fills data, and the expiry and version when asked for them (Lookup).
func (s fakeScan) Scan(dest ...any) error {
	if s.err != nil {
		return s.err
	}
	for i, v := range []any{s.data, s.expiry, s.version}[:len(dest)] {
		switch d := dest[i].(type) {
		case *[]byte:
			*d = v.([]byte)
		case *int64:
			*d = v.(int64)
		case sql.Scanner:
			if err := d.Scan(v); err != nil {
				return err
			}
		default:
			return fmt.Errorf("fake backend: cannot scan into %T", dest[i])
		}
	}
	return nil
}
