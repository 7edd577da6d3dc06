package fiberstore_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/fiberstore"
)

// The tests here need no database: a stub Backend stands behind the Store.
// internal/e2e/fiber runs the same Storage against real databases and
// fiber's session middleware.

// stub is a sqlsession.Backend that records how often it is called and
// answers every query with err (a row query with row, when err is nil).
type stub struct {
	mu    sync.Mutex
	calls int
	ctxs  []context.Context
	err   error
	row   []byte
}

func (b *stub) record(ctx context.Context) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	b.ctxs = append(b.ctxs, ctx)
}

func (b *stub) Calls() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls
}

func (b *stub) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	b.record(ctx)
	return 1, b.err
}

func (b *stub) QueryRow(ctx context.Context, query string, args ...any) sqlsession.Row {
	b.record(ctx)
	return stubRow{b.err, b.row}
}

func (b *stub) Query(ctx context.Context, query string, args ...any) (sqlsession.Rows, error) {
	b.record(ctx)
	return nil, b.err
}

type stubRow struct {
	err  error
	data []byte
}

func (r stubRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	if r.data == nil {
		return fmt.Errorf("stub: %w", sql.ErrNoRows)
	}
	*dest[0].(*[]byte) = bytes.Clone(r.data)
	return nil
}

func newStorage(t *testing.T, b *stub) *fiberstore.Storage {
	t.Helper()
	s, err := sqlsession.NewWithBackend(b, sqlsession.SQLite, sqlsession.Options{})
	if err != nil {
		t.Fatalf("sqlsession.NewWithBackend() = %v", err)
	}
	st := fiberstore.New(s)
	t.Cleanup(func() { st.Close() })
	return st
}

func TestSetIgnoresEmpty(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		key  string
		val  []byte
	}{
		{"empty key", "", []byte("v")},
		{"nil value", "k", nil},
		{"empty value", "k", []byte{}},
		{"both empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &stub{}
			st := newStorage(t, b)
			if err := st.Set(tt.key, tt.val, time.Hour); err != nil {
				t.Errorf("Set(%q, %q, 1h) = %v, want nil", tt.key, tt.val, err)
			}
			if n := b.Calls(); n != 0 {
				t.Errorf("Set(%q, %q, 1h) ran %d queries, want 0", tt.key, tt.val, n)
			}
		})
	}
}

func TestInvalidKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		key  string
	}{
		{"space", "a b"},
		{"tab", "a\tb"},
		{"newline", "a\nb"},
		{"NUL", "a\x00b"},
		{"DEL", "a\x7fb"},
		{"non-ASCII", "sessión"},
		{"invalid UTF-8", "a\xffb"},
		{"too long", strings.Repeat("k", sqlsession.MaxTokenLength+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &stub{row: []byte("never returned")}
			st := newStorage(t, b)
			err := st.Set(tt.key, []byte("v"), time.Hour)
			if !errors.Is(err, sqlsession.ErrInvalidToken) {
				t.Errorf("Set(%q) = %v, want an error wrapping sqlsession.ErrInvalidToken", tt.key, err)
			} else if !strings.HasPrefix(err.Error(), "fiberstore: ") {
				t.Errorf("Set(%q) = %q, want the prefix %q", tt.key, err, "fiberstore: ")
			}
			if got, err := st.Get(tt.key); got != nil || err != nil {
				t.Errorf("Get(%q) = %q, %v, want nil, nil", tt.key, got, err)
			}
			if err := st.Delete(tt.key); err != nil {
				t.Errorf("Delete(%q) = %v, want nil", tt.key, err)
			}
			if n := b.Calls(); n != 0 {
				t.Errorf("Set, Get and Delete of %q ran %d queries, want 0", tt.key, n)
			}
		})
	}
}

func TestGet(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	tests := []struct {
		name    string
		b       *stub
		want    []byte
		wantErr error
	}{
		{"found", &stub{row: []byte("data")}, []byte("data"), nil},
		{"missing", &stub{}, nil, nil},
		{"database error", &stub{err: boom}, nil, boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newStorage(t, tt.b)
			got, err := st.Get("key")
			if !bytes.Equal(got, tt.want) || (got == nil) != (tt.want == nil) || !errors.Is(err, tt.wantErr) {
				t.Errorf("Get(key) = %q, %v, want %q, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestErrorsWrapped(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	st := newStorage(t, &stub{err: boom})
	ops := []struct {
		name string
		fn   func() error
	}{
		{"Get", func() error { _, err := st.Get("key"); return err }},
		{"Set", func() error { return st.Set("key", []byte("v"), time.Hour) }},
		{"Delete", func() error { return st.Delete("key") }},
		{"Reset", st.Reset},
	}
	for _, op := range ops {
		err := op.fn()
		if !errors.Is(err, boom) || !strings.HasPrefix(fmt.Sprint(err), "fiberstore: ") {
			t.Errorf("%s() = %v, want a fiberstore: error wrapping %v", op.name, err, boom)
		}
	}
}

type ctxKey struct{}

func TestContextPassedThrough(t *testing.T) {
	t.Parallel()
	b := &stub{row: []byte("v")}
	st := newStorage(t, b)
	ctx := context.WithValue(context.Background(), ctxKey{}, "mine")
	st.GetWithContext(ctx, "key")
	st.SetWithContext(ctx, "key", []byte("v"), time.Hour)
	st.DeleteWithContext(ctx, "key")
	st.ResetWithContext(ctx)
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.ctxs) != 4 {
		t.Fatalf("4 ...WithContext calls ran %d queries, want 4", len(b.ctxs))
	}
	for i, c := range b.ctxs {
		if c.Value(ctxKey{}) != "mine" {
			t.Errorf("query %d ran without the caller's context", i)
		}
	}
}

func TestZeroStorage(t *testing.T) {
	t.Parallel()
	var st fiberstore.Storage
	ops := []struct {
		name string
		fn   func() error
	}{
		{"Get", func() error { _, err := st.Get("key"); return err }},
		{"Set", func() error { return st.Set("key", []byte("v"), 0) }},
		{"Delete", func() error { return st.Delete("key") }},
		{"Reset", st.Reset},
		{"Close", st.Close},
	}
	for _, op := range ops {
		if err := op.fn(); !errors.Is(err, sqlsession.ErrInvalidOptions) {
			t.Errorf("zero Storage: %s() = %v, want an error wrapping sqlsession.ErrInvalidOptions", op.name, err)
		}
	}
	if got, _ := fiberstore.New(nil).Get("key"); got != nil {
		t.Errorf("New(nil).Get(key) = %q, want nil", got)
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	st := newStorage(t, &stub{row: []byte("v")})
	for i := range 2 {
		if err := st.Close(); err != nil {
			t.Fatalf("Close() #%d = %v, want nil", i+1, err)
		}
	}
	if _, err := st.Get("key"); !errors.Is(err, sqlsession.ErrClosed) {
		t.Errorf("Get(key) after Close = %v, want an error wrapping sqlsession.ErrClosed", err)
	}
	if err := st.Set("key", []byte("v"), 0); !errors.Is(err, sqlsession.ErrClosed) {
		t.Errorf("Set(key) after Close = %v, want an error wrapping sqlsession.ErrClosed", err)
	}
}
