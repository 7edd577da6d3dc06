package sqlsession

import (
	"errors"
	"testing"
)

// closingBackend is a Backend that also has a Close method.
type closingBackend struct {
	fakeBackend
	closed int
}

func (c *closingBackend) Close() error { c.closed++; return nil }

type closer struct{ n int }

func (c *closer) Close() error { c.n++; return nil }

// TestOwnership: a Store closes only what NewOwning hands it, once.
func TestOwnership(t *testing.T) {
	b := &closingBackend{}
	s, err := NewWithBackend(b, SQLite, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s.Close()
	if b.closed != 0 {
		t.Fatalf("Close() closed the Backend of NewWithBackend %d times, want 0", b.closed)
	}

	owned := &closer{}
	b2 := &closingBackend{}
	s, err = NewOwning(b2, SQLite, Options{}, owned)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s.Close()
	if owned.n != 1 || b2.closed != 0 {
		t.Fatalf("after Close twice: owned closed %d times, Backend %d, want 1 and 0", owned.n, b2.closed)
	}
	if _, err := NewOwning(b2, SQLite, Options{}, nil); !errors.Is(err, ErrInvalidOptions) {
		t.Fatalf("NewOwning(nil closer) = %v, want ErrInvalidOptions", err)
	}
}
