package scsstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/scsstore"
)

// newSliding returns a Store on b whose sqlsession Store slides expiry.
func newSliding(t *testing.T, b *fakeBackend, idle time.Duration) *scsstore.Store {
	t.Helper()
	s, err := sqlsession.NewWithBackend(b, sqlsession.SQLite, sqlsession.Options{IdleTimeout: idle})
	if err != nil {
		t.Fatalf("sqlsession.NewWithBackend() = %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return scsstore.New(s)
}

// TestCommitCapsExpiry: with sliding expiry a commit keeps the session for
// the idle window, not for scs's whole Lifetime.
func TestCommitCapsExpiry(t *testing.T) {
	for _, tc := range []struct {
		name   string
		idle   time.Duration
		expiry time.Duration // from now, as scs passes it
		want   time.Duration // stored, from now
	}{
		{"no sliding", 0, 24 * time.Hour, 24 * time.Hour},
		{"capped", 30 * time.Minute, 24 * time.Hour, 30 * time.Minute},
		{"deadline first", 30 * time.Minute, 10 * time.Minute, 10 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &fakeBackend{}
			st := newSliding(t, b, tc.idle)
			start := time.Now()
			if err := st.CommitCtx(context.Background(), sqlsession.NewToken(), []byte("x"), start.Add(tc.expiry)); err != nil {
				t.Fatalf("CommitCtx() = %v", err)
			}
			_, args := b.last()
			got := time.UnixMilli(args[2].(int64)).Sub(start)
			if d := got - tc.want; d < -time.Second || d > time.Second {
				t.Errorf("CommitCtx(expiry in %v) stored an expiry %v away, want %v", tc.expiry, got, tc.want)
			}
		})
	}
}

// TestFindDeadline: with sliding expiry, a session past its scs deadline
// is not found, and is deleted.
func TestFindDeadline(t *testing.T) {
	now := time.Now()
	gobData := func(deadline time.Time) []byte {
		return withDeadline(t, scs.GobCodec{}, map[string]any{"user": "alice"}, deadline)
	}
	for _, tc := range []struct {
		name      string
		idle      time.Duration
		codec     scs.Codec
		data      []byte
		wantFound bool
	}{
		{"gob, live", time.Hour, nil, gobData(now.Add(time.Hour)), true},
		{"gob, past", time.Hour, nil, gobData(now.Add(-time.Second)), false},
		{"gob, past, no sliding", 0, nil, gobData(now.Add(-time.Second)), true},
		{"json, live", time.Hour, jsonCodec{}, withDeadline(t, jsonCodec{}, map[string]any{"u": 1}, now.Add(time.Hour)), true},
		{"json, past", time.Hour, jsonCodec{}, withDeadline(t, jsonCodec{}, map[string]any{"u": 1}, now.Add(-time.Second)), false},
		{"undecodable", time.Hour, nil, []byte("not gob"), false},
		{"undecodable, no sliding", 0, nil, []byte("not gob"), false},
		{"wrong codec", 0, jsonCodec{}, gobData(now.Add(time.Hour)), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &fakeBackend{row: tc.data}
			st := newSliding(t, b, tc.idle)
			st.Codec = tc.codec
			_, found, err := st.FindCtx(context.Background(), sqlsession.NewToken())
			if err != nil || found != tc.wantFound {
				t.Errorf("FindCtx() = found %v, %v; want %v, nil", found, err, tc.wantFound)
			}
			b.mu.Lock()
			defer b.mu.Unlock()
			deleted := b.deletes > 0
			if deleted == tc.wantFound {
				t.Errorf("FindCtx() deleted the row: %v, want %v", deleted, !tc.wantFound)
			}
		})
	}
}

// TestAllSkipsPastDeadline: Iterate does not see sessions past their
// deadline either.
func TestAllSkipsPastDeadline(t *testing.T) {
	now := time.Now()
	exp := now.Add(time.Hour).UnixMilli()
	b := &fakeBackend{list: []entry{
		{"a", withDeadline(t, scs.GobCodec{}, map[string]any{"n": 1}, now.Add(time.Hour)), exp},
		{"b", withDeadline(t, scs.GobCodec{}, map[string]any{"n": 2}, now.Add(-time.Hour)), exp},
	}}
	st := newSliding(t, b, time.Hour)
	m, err := st.AllCtx(context.Background())
	if err != nil || len(m) != 1 {
		t.Fatalf("AllCtx() = %d sessions, %v; want 1, nil", len(m), err)
	}
	for _, data := range m {
		if n, err := scsstore.Value("n")(data); n != "1" || err != nil {
			t.Errorf("AllCtx() kept the session with n = %q (%v), want the live one, n = 1", n, err)
		}
	}
}

// withDeadline encodes values with codec as scs does for a session whose
// deadline is deadline.
func withDeadline(t *testing.T, codec scs.Codec, values map[string]any, deadline time.Time) []byte {
	t.Helper()
	b, err := codec.Encode(deadline, values)
	if err != nil {
		t.Fatalf("Encode() = %v", err)
	}
	return b
}
