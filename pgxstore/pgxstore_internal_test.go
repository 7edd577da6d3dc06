package pgxstore

import (
	"io"
	"testing"
)

// Only the pool that Open made is handed to the Store to close.
var _ io.Closer = ownedPool{}

func TestBackendOwnership(t *testing.T) {
	if _, ok := any(backend{}).(io.Closer); ok {
		t.Fatal("backend implements io.Closer, though the Store never closes a Backend: a sign of confused ownership")
	}
}
