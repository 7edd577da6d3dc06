package pgxstore

import (
	"io"
	"testing"
)

// The Store closes a Backend that implements io.Closer: only the backend of
// a pool that Open made may be one.
var _ io.Closer = ownedPool{}

func TestBackendOwnership(t *testing.T) {
	if _, ok := any(backend{}).(io.Closer); ok {
		t.Fatal("backend implements io.Closer: Store.Close would close the pool given to New")
	}
	if _, ok := any(ownedPool{}).(io.Closer); !ok {
		t.Fatal("ownedPool does not implement io.Closer: Store.Close would leak the pool Open made")
	}
}
