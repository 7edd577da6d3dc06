package sqlsessiontest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
)

// sibling opens another Store on s's table with the given keys, as another
// instance or a reader of the raw table would. Without keys it sees the
// stored bytes.
func (k *kit) sibling(t *testing.T, s *sqlsession.Store, keys ...[]byte) *sqlsession.Store {
	t.Helper()
	o := s.Options()
	sib := k.store(t, sqlsession.Options{Table: o.Table, Schema: o.Schema, Keys: keys})
	t.Cleanup(func() { sib.Close() })
	return sib
}

func testEncryptionHidesData(t *testing.T, k *kit) {
	if k.layout.JSON {
		k.refusesKeys(t)
		return
	}
	key := sqlsession.NewKey()
	s := k.open(t, sqlsession.Options{Keys: [][]byte{key}})
	raw := k.sibling(t, s)
	marker := []byte("MARKER-7f3a9c-secret-user-data")
	tok := sqlsession.NewToken()
	mustSave(t, s, tok, bytes.Repeat(marker, 3), hour())
	wantData(t, s, tok, bytes.Repeat(marker, 3))
	for e, err := range raw.All(ctx(t)) {
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(e.Data, marker) || bytes.Contains(e.Data, marker[:8]) {
			t.Fatalf("stored data holds the plain text: %q", e.Data)
		}
		if len(e.Data) != 3*len(marker)+sqlsession.EncryptionOverhead {
			t.Fatalf("stored data is %d bytes, want %d", len(e.Data), 3*len(marker)+sqlsession.EncryptionOverhead)
		}
	}
	for e, err := range s.All(ctx(t)) {
		if err != nil || !bytes.Equal(e.Data, bytes.Repeat(marker, 3)) {
			t.Fatalf("All() with the key = %q, %v, want the plain text", e.Data, err)
		}
	}
}

// testEncryptionRowSwap copies one row's sealed data onto another row: it
// must not open there, and the bad row is removed.
func testEncryptionRowSwap(t *testing.T, k *kit) {
	if k.layout.JSON {
		k.refusesKeys(t)
		return
	}
	s := k.open(t, sqlsession.Options{Keys: [][]byte{sqlsession.NewKey()}})
	raw := k.sibling(t, s)
	admin, user := sqlsession.NewToken(), sqlsession.NewToken()
	mustSave(t, s, admin, []byte("role=admin"), hour())
	mustSave(t, s, user, []byte("role=user"), hour())
	sealed, found := mustFind(t, raw, admin)
	if !found {
		t.Fatal("raw Find(admin) missed")
	}
	mustSave(t, raw, user, sealed, hour())
	wantMiss(t, s, user)
	wantMiss(t, raw, user) // deleted as corrupt
	wantData(t, s, admin, []byte("role=admin"))
}

func testEncryptionKeyRotation(t *testing.T, k *kit) {
	if k.layout.JSON {
		k.refusesKeys(t)
		return
	}
	k1, k2 := sqlsession.NewKey(), sqlsession.NewKey()
	old := k.open(t, sqlsession.Options{Keys: [][]byte{k1}})
	rotating := k.sibling(t, old, k2, k1)
	newOnly := k.sibling(t, old, k2)
	raw := k.sibling(t, old)
	a, b := sqlsession.NewToken(), sqlsession.NewToken()
	mustSave(t, old, a, []byte("a"), hour())
	mustSave(t, old, b, []byte("b"), hour())
	wantData(t, rotating, a, []byte("a")) // old sessions stay readable
	mustSave(t, rotating, a, []byte("a2"), hour())
	wantData(t, newOnly, a, []byte("a2")) // re-sealed with the new key
	// An instance without the new key misses it but leaves it alone.
	wantMiss(t, old, a)
	if _, found := mustFind(t, raw, a); !found {
		t.Fatal("a session sealed with a newer key was deleted by an instance lacking it")
	}
	wantData(t, rotating, b, []byte("b"))
}

func testCorruptRows(t *testing.T, k *kit) {
	if k.layout.JSON {
		k.refusesKeys(t)
		return
	}
	s := k.open(t, sqlsession.Options{Keys: [][]byte{sqlsession.NewKey()}})
	raw := k.sibling(t, s)
	good := sqlsession.NewToken()
	mustSave(t, s, good, []byte("fine"), hour())
	sealed, _ := mustFind(t, raw, good)
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", []byte{}},
		{"plain text", []byte(`{"user":"ada"}`)},
		{"truncated", sealed[:len(sealed)-3]},
		{"garbage", bytes.Repeat([]byte{0xee}, 100)},
		{"wrong version", append([]byte{2}, sealed[1:]...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := sqlsession.NewToken()
			mustSave(t, raw, tok, tt.data, time.Now().Add(time.Hour))
			wantMiss(t, s, tok)   // a miss, not an error: the user signs in again
			wantMiss(t, raw, tok) // and the row is gone
		})
	}
	wantData(t, s, good, []byte("fine"))
}

// refusesKeys checks that a Store with a JSON layout refuses encryption,
// whose sealed bytes are not text, and accepts the same options without it.
func (k *kit) refusesKeys(t *testing.T) {
	t.Helper()
	opts := sqlsession.Options{Layout: k.layout, PlainTokens: k.plain}
	s, err := sqlsession.NewWithBackend(noBackend{}, sqlsession.SQLite, opts)
	if err != nil {
		t.Fatalf("NewWithBackend(JSON layout) = %v, want nil", err)
	}
	s.Close()
	opts.Keys = [][]byte{sqlsession.NewKey()}
	if _, err := sqlsession.NewWithBackend(noBackend{}, sqlsession.SQLite, opts); !errors.Is(err, sqlsession.ErrInvalidOptions) {
		t.Fatalf("NewWithBackend(JSON layout, Keys) = %v, want ErrInvalidOptions", err)
	}
}

// noBackend is a Backend that is never reached: New does no I/O.
type noBackend struct{}

var errNoBackend = errors.New("sqlsessiontest: no backend")

func (noBackend) Exec(context.Context, string, ...any) (int64, error) { return 0, errNoBackend }
func (noBackend) QueryRow(context.Context, string, ...any) sqlsession.Row {
	return errRow{}
}
func (noBackend) Query(context.Context, string, ...any) (sqlsession.Rows, error) {
	return nil, errNoBackend
}

type errRow struct{}

func (errRow) Scan(...any) error { return errNoBackend }
