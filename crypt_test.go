package sqlsession

import (
	"bytes"
	"errors"
	"testing"
)

func mustCrypter(t testing.TB, keys ...[]byte) *crypter {
	c, err := newCrypter(keys)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCrypter(t *testing.T) {
	k1, k2 := NewKey(), NewKey()
	old := mustCrypter(t, k1)
	rotated := mustCrypter(t, k2, k1)
	onlyNew := mustCrypter(t, k2)
	plain := []byte("user=ada; cart=3")
	sealed := old.seal("row-a", plain)
	if bytes.Contains(sealed, plain) || len(sealed) != len(plain)+EncryptionOverhead {
		t.Fatalf("seal() = %d bytes holding the plain text or of the wrong size", len(sealed))
	}
	if again := old.seal("row-a", plain); bytes.Equal(again, sealed) {
		t.Fatal("two seals of the same data are equal: nonce reused")
	}
	resealed := rotated.seal("row-a", plain)
	tests := []struct {
		name    string
		c       *crypter
		row     string
		sealed  []byte
		want    []byte
		wantErr error
	}{
		{"same key", old, "row-a", sealed, plain, nil},
		{"rotated reads old", rotated, "row-a", sealed, plain, nil},
		{"rotated writes new", onlyNew, "row-a", resealed, plain, nil},
		{"old key lacks new", old, "row-a", resealed, nil, errUnknownKey},
		{"moved to another row", old, "row-b", sealed, nil, errCorrupt},
		{"truncated", old, "row-a", sealed[:len(sealed)-1], nil, errCorrupt},
		{"header only", old, "row-a", sealed[:envelopeHeader], nil, errCorrupt},
		{"empty", old, "row-a", []byte{}, nil, errCorrupt},
		{"plain text", old, "row-a", plain, nil, errCorrupt},
		{"flipped bit", old, "row-a", flip(sealed, len(sealed)-5), nil, errCorrupt},
		{"wrong version", old, "row-a", flip(sealed, 0), nil, errCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.c.open(tt.row, tt.sealed)
			if !errors.Is(err, tt.wantErr) || !bytes.Equal(got, tt.want) {
				t.Fatalf("open() = %q, %v, want %q, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
	if got, err := old.open("r", old.seal("r", nil)); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("open(seal(nil)) = %#v, %v, want empty, nil", got, err)
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x01
	return c
}

func TestCrypterKeys(t *testing.T) {
	k := NewKey()
	tests := []struct {
		name string
		keys [][]byte
		ok   bool
	}{
		{"one", [][]byte{k}, true},
		{"two", [][]byte{k, NewKey()}, true},
		{"short", [][]byte{k[:16]}, false},
		{"long", [][]byte{append(k, 0)}, false},
		{"repeated", [][]byte{k, bytes.Clone(k)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewWithBackend(&fakeBackend{}, Postgres, Options{Keys: tt.keys})
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalidOptions)) {
				t.Fatalf("NewWithBackend(Keys: %s) error = %v, want ok %v", tt.name, err, tt.ok)
			}
		})
	}
}

// FuzzOpen feeds arbitrary bytes to decryption, as a corrupt or forged row
// would: it never panics, and only a genuine seal opens. Sealing any data
// opens back to it.
func FuzzOpen(f *testing.F) {
	c := mustCrypter(f, bytes.Repeat([]byte{7}, 32))
	f.Add([]byte{}, []byte("x"))
	f.Add([]byte{1, 0, 0, 0, 0}, []byte{})
	f.Add(c.seal("row", []byte("hello")), []byte("hello"))
	f.Add(bytes.Repeat([]byte{1}, 64), bytes.Repeat([]byte{0}, 100))
	f.Fuzz(func(t *testing.T, sealed, plain []byte) {
		if got, err := c.open("row", sealed); err == nil && got == nil {
			t.Fatal("open() = nil, nil")
		}
		got, err := c.open("row", c.seal("row", plain))
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("open(seal(%q)) = %q, %v", plain, got, err)
		}
		if _, err := c.open("other", c.seal("row", plain)); !errors.Is(err, errCorrupt) {
			t.Fatalf("open() on another row = %v, want errCorrupt", err)
		}
	})
}
