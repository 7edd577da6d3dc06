package scsstore_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/scsstore"
)

// fakeBackend answers the Store's queries without a database: QueryRow finds
// row (or nothing), Query lists list, and every call records its context and
// arguments. The tests against real databases live in a test-only module.
type fakeBackend struct {
	row      []byte  // data QueryRow returns; nil means no row
	list     []entry // rows Query returns
	queryErr error

	mu      sync.Mutex
	ctxs    []context.Context
	args    [][]any
	deletes int // statements that delete one session
}

type entry struct {
	key  string
	data []byte
	exp  int64
}

// isTombstone reports whether query deletes one session, leaving its
// tombstone: an UPDATE that sets the version and matches the key alone.
func isTombstone(query string) bool {
	return strings.HasPrefix(query, "UPDATE ") && strings.Contains(query, `"version" = ?`) && !strings.Contains(query, "+ 1")
}

func (b *fakeBackend) record(ctx context.Context, args []any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ctxs = append(b.ctxs, ctx)
	b.args = append(b.args, args)
}

func (b *fakeBackend) last() (context.Context, []any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.ctxs) == 0 {
		return nil, nil
	}
	return b.ctxs[len(b.ctxs)-1], b.args[len(b.args)-1]
}

func (b *fakeBackend) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	b.record(ctx, args)
	if strings.HasPrefix(query, "DELETE ") || isTombstone(query) {
		b.mu.Lock()
		b.deletes++
		b.mu.Unlock()
	}
	return 1, nil
}

func (b *fakeBackend) QueryRow(ctx context.Context, query string, args ...any) sqlsession.Row {
	b.record(ctx, args)
	return fakeRow{b.row}
}

func (b *fakeBackend) Query(ctx context.Context, query string, args ...any) (sqlsession.Rows, error) {
	b.record(ctx, args)
	if b.queryErr != nil {
		return nil, b.queryErr
	}
	return &fakeRows{list: b.list, i: -1}, nil
}

type fakeRow struct{ data []byte }

// Scan fills the data, and an expiry an hour away when asked for one.
func (r fakeRow) Scan(dest ...any) error {
	if r.data == nil {
		return sql.ErrNoRows
	}
	*dest[0].(*[]byte) = r.data
	if len(dest) > 1 {
		// The expiry arrives as the driver gives it: an int64.
		if err := dest[1].(sql.Scanner).Scan(time.Now().Add(time.Hour).UnixMilli()); err != nil {
			return err
		}
	}
	return nil
}

type fakeRows struct {
	list []entry
	i    int
}

func (r *fakeRows) Next() bool { r.i++; return r.i < len(r.list) }
func (r *fakeRows) Err() error { return nil }
func (r *fakeRows) Close() error {
	return nil
}

func (r *fakeRows) Scan(dest ...any) error {
	e := r.list[r.i]
	*dest[0].(*string) = e.key
	*dest[1].(*[]byte) = e.data
	return dest[2].(sql.Scanner).Scan(e.exp)
}

var _ sqlsession.Backend = (*fakeBackend)(nil)

func newStore(t *testing.T, b *fakeBackend) (*sqlsession.Store, *scsstore.Store) {
	t.Helper()
	s, err := sqlsession.NewWithBackend(b, sqlsession.SQLite, sqlsession.Options{})
	if err != nil {
		t.Fatalf("sqlsession.NewWithBackend() = %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, scsstore.New(s)
}

type ctxKey struct{}

// TestContext checks that the Ctx methods pass their context to the
// database and that the others use context.Background.
func TestContext(t *testing.T) {
	tok := sqlsession.NewToken()
	exp := time.Now().Add(time.Hour)
	tests := []struct {
		name    string
		withCtx bool
		call    func(ctx context.Context, st *scsstore.Store) error
	}{
		{"FindCtx", true, func(ctx context.Context, st *scsstore.Store) error {
			_, _, err := st.FindCtx(ctx, tok)
			return err
		}},
		{"Find", false, func(_ context.Context, st *scsstore.Store) error {
			_, _, err := st.Find(tok)
			return err
		}},
		{"CommitCtx", true, func(ctx context.Context, st *scsstore.Store) error {
			return st.CommitCtx(ctx, tok, []byte("x"), exp)
		}},
		{"Commit", false, func(_ context.Context, st *scsstore.Store) error {
			return st.Commit(tok, []byte("x"), exp)
		}},
		{"DeleteCtx", true, func(ctx context.Context, st *scsstore.Store) error {
			return st.DeleteCtx(ctx, tok)
		}},
		{"Delete", false, func(_ context.Context, st *scsstore.Store) error {
			return st.Delete(tok)
		}},
		{"AllCtx", true, func(ctx context.Context, st *scsstore.Store) error {
			_, err := st.AllCtx(ctx)
			return err
		}},
		{"All", false, func(_ context.Context, st *scsstore.Store) error {
			_, err := st.All()
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := &fakeBackend{}
			_, st := newStore(t, b)
			ctx := context.WithValue(context.Background(), ctxKey{}, "mark")
			if err := tt.call(ctx, st); err != nil {
				t.Fatalf("%s() = %v, want nil", tt.name, err)
			}
			got, _ := b.last()
			if got == nil {
				t.Fatalf("%s() ran no query", tt.name)
			}
			if marked := got.Value(ctxKey{}) != nil; marked != tt.withCtx {
				t.Errorf("%s(): database saw the caller's context = %v, want %v", tt.name, marked, tt.withCtx)
			}
		})
	}
}

func TestFind(t *testing.T) {
	data := scsData(t, map[string]any{"user": "ada"})
	tests := []struct {
		name      string
		row       []byte
		token     string
		wantData  []byte
		wantFound bool
	}{
		{"missing", nil, sqlsession.NewToken(), nil, false},
		{"present", data, sqlsession.NewToken(), data, true},
		{"corrupt row", []byte("not scs data"), sqlsession.NewToken(), nil, false},
		{"empty token", data, "", nil, false},
		{"malformed token", data, "has space", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, st := newStore(t, &fakeBackend{row: tt.row})
			data, found, err := st.Find(tt.token)
			if err != nil || found != tt.wantFound || string(data) != string(tt.wantData) {
				t.Errorf("Find(%q) = %q, %v, %v, want %q, %v, nil", tt.token, data, found, err, tt.wantData, tt.wantFound)
			}
		})
	}
}

func TestCommitErrors(t *testing.T) {
	tests := []struct {
		name  string
		token string
		data  []byte
		want  error
	}{
		{"ok", sqlsession.NewToken(), []byte("x"), nil},
		{"empty token", "", []byte("x"), sqlsession.ErrInvalidToken},
		{"too large", sqlsession.NewToken(), make([]byte, sqlsession.DefaultMaxDataSize+1), sqlsession.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, st := newStore(t, &fakeBackend{})
			if err := st.Commit(tt.token, tt.data, time.Now().Add(time.Hour)); !errors.Is(err, tt.want) {
				t.Errorf("Commit(%q, %d bytes) = %v, want %v", tt.token, len(tt.data), err, tt.want)
			}
		})
	}
}

// digest returns a stored key as the Store writes it for token.
func digest(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestAll(t *testing.T) {
	exp := time.Now().Add(time.Hour).UnixMilli()
	stored := []entry{
		{digest("a"), scsData(t, map[string]any{"k": "a"}), exp},
		{digest("b"), scsData(t, map[string]any{"k": "b"}), exp},
		{digest("c"), []byte("corrupt: left out"), exp},
	}
	b := &fakeBackend{list: stored}
	_, st := newStore(t, b)
	all, err := st.All()
	if err != nil {
		t.Fatalf("All() = %v", err)
	}
	if len(all) != 2 {
		t.Fatalf("All() has %d sessions, want the 2 that decode", len(all))
	}
	for key, data := range all {
		want := -1
		for i, e := range stored {
			if string(e.data) == string(data) {
				want = i
			}
		}
		if want < 0 {
			t.Fatalf("All()[%q] = %q, not a stored session", key, data)
		}
		// A key of All names the row it came from: the query of each
		// method carries that row's stored key.
		for _, call := range []struct {
			name string
			fn   func() error
		}{
			{"FindCtx", func() error { _, _, err := st.FindCtx(context.Background(), key); return err }},
			{"CommitCtx", func() error { return st.CommitCtx(context.Background(), key, data, time.Now().Add(time.Hour)) }},
			{"DeleteCtx", func() error { return st.DeleteCtx(context.Background(), key) }},
		} {
			if err := call.fn(); err != nil {
				t.Fatalf("%s(%q) = %v", call.name, key, err)
			}
			_, args := b.last()
			if len(args) == 0 || !hasArg(args, stored[want].key) {
				t.Errorf("%s(%q) queried %v, want the stored key %q", call.name, key, args, stored[want].key)
			}
		}
	}
}

func hasArg(args []any, want string) bool {
	for _, a := range args {
		if s, ok := a.(string); ok && s == want {
			return true
		}
	}
	return false
}

func TestAllEmpty(t *testing.T) {
	_, st := newStore(t, &fakeBackend{})
	all, err := st.AllCtx(context.Background())
	if all == nil || len(all) != 0 || err != nil {
		t.Errorf("AllCtx() = %#v, %v, want an empty non-nil map, nil", all, err)
	}
}

func TestAllError(t *testing.T) {
	_, st := newStore(t, &fakeBackend{queryErr: io.ErrUnexpectedEOF})
	all, err := st.AllCtx(context.Background())
	if all != nil || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("AllCtx() = %v, %v, want nil, an error wrapping %v", all, err, io.ErrUnexpectedEOF)
	}
}

func TestClosed(t *testing.T) {
	s, st := newStore(t, &fakeBackend{})
	s.Close()
	tok := sqlsession.NewToken()
	if _, _, err := st.Find(tok); !errors.Is(err, sqlsession.ErrClosed) {
		t.Errorf("Find() after Close = %v, want %v", err, sqlsession.ErrClosed)
	}
	if err := st.Commit(tok, nil, time.Now()); !errors.Is(err, sqlsession.ErrClosed) {
		t.Errorf("Commit() after Close = %v, want %v", err, sqlsession.ErrClosed)
	}
	if err := st.Delete(tok); !errors.Is(err, sqlsession.ErrClosed) {
		t.Errorf("Delete() after Close = %v, want %v", err, sqlsession.ErrClosed)
	}
	if all, err := st.All(); all != nil || !errors.Is(err, sqlsession.ErrClosed) {
		t.Errorf("All() after Close = %v, %v, want nil, %v", all, err, sqlsession.ErrClosed)
	}
}

// scsData encodes values as scs's default codec does, with a deadline an
// hour away.
func scsData(t *testing.T, values map[string]any) []byte {
	t.Helper()
	b, err := scs.GobCodec{}.Encode(time.Now().Add(time.Hour), values)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
