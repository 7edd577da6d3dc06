package fiberstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/fiberstore"
)

// TestSetDeletedKey sets a key that was deleted after a Get, as a request
// of fiber's session middleware that outlives a log-out does. With the
// Store's default DeleteGrace the Set stores nothing and returns nil (fiber's
// contract has no ErrDeleted); with a negative DeleteGrace, for cache or
// limiter middleware, the Set stores the value again.
func TestSetDeletedKey(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		grace time.Duration
		live  bool
	}{
		{"default grace", 0, false},
		{"negative grace", -1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &table{rows: map[string]tableRow{}}
			s, err := sqlsession.NewWithBackend(b, sqlsession.SQLite, sqlsession.Options{DeleteGrace: tc.grace})
			if err != nil {
				t.Fatalf("sqlsession.NewWithBackend() = %v", err)
			}
			st := fiberstore.New(s)
			t.Cleanup(func() { st.Close() })
			val := encode(t, map[any]any{"user": "alice"})
			if err := st.SetWithContext(ctx, key, val, time.Hour); err != nil {
				t.Fatal(err)
			}
			for _, changed := range []bool{false, true} {
				if _, err := st.GetWithContext(ctx, key); err != nil {
					t.Fatal(err)
				}
				if err := st.DeleteWithContext(ctx, key); err != nil {
					t.Fatal(err)
				}
				v := val
				if changed {
					v = encode(t, map[any]any{"user": "alice", "late": 1})
				}
				if err := st.SetWithContext(ctx, key, v, time.Hour); err != nil {
					t.Errorf("Set(changed %t) of a deleted key = %v, want nil", changed, err)
				}
				got, err := st.GetWithContext(ctx, key)
				if err != nil || (got != nil) != tc.live {
					t.Errorf("Get() after Set(changed %t) of a deleted key = %q, %v; want a value: %t", changed, got, err, tc.live)
				}
			}
		})
	}
}
