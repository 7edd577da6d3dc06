package sqlsessiontest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
)

func mustLookup(t *testing.T, s *sqlsession.Store, token string) sqlsession.Entry {
	t.Helper()
	e, found, err := s.Lookup(ctx(t), token)
	if err != nil || !found {
		t.Fatalf("Lookup() = %v, %v, want found", found, err)
	}
	return e
}

// testSaveIf checks the compare-and-swap write: it succeeds with the version
// read, moves the version on, and refuses a stale version or a missing row.
func testSaveIf(t *testing.T, k *kit) {
	s := k.open(t, sqlsession.Options{})
	c := ctx(t)
	tok := sqlsession.NewToken()
	mustSave(t, s, tok, []byte("v1"), hour())
	e1 := mustLookup(t, s, tok)
	if err := s.SaveIf(c, tok, []byte("v2"), hour(), e1.Version); err != nil {
		t.Fatalf("SaveIf(version read) = %v, want nil", err)
	}
	e2 := mustLookup(t, s, tok)
	if e2.Version == e1.Version || string(e2.Data) != "v2" {
		t.Fatalf("after SaveIf: Lookup() = %q version %d, want \"v2\" and a version other than %d", e2.Data, e2.Version, e1.Version)
	}
	if err := s.SaveIf(c, tok, []byte("stale"), hour(), e1.Version); !errors.Is(err, sqlsession.ErrConflict) {
		t.Fatalf("SaveIf(stale version) = %v, want ErrConflict", err)
	}
	wantData(t, s, tok, []byte("v2"))
	mustSave(t, s, tok, []byte("v3"), hour())
	if e3 := mustLookup(t, s, tok); e3.Version == e2.Version {
		t.Fatalf("Save did not move the version on: %d", e3.Version)
	}
	if err := s.SaveIf(c, tok, []byte("after save"), hour(), e2.Version); !errors.Is(err, sqlsession.ErrConflict) {
		t.Fatalf("SaveIf(version before a Save) = %v, want ErrConflict", err)
	}
	// Never inserts.
	missing := sqlsession.NewToken()
	if err := s.SaveIf(c, missing, []byte("x"), hour(), 0); !errors.Is(err, sqlsession.ErrConflict) {
		t.Fatalf("SaveIf(unknown token) = %v, want ErrConflict", err)
	}
	wantMiss(t, s, missing)
	// Not on an expired row either.
	old := sqlsession.NewToken()
	mustSave(t, s, old, []byte("old"), hour())
	eo := mustLookup(t, s, old)
	// Expire it without a new version: Touch into the past.
	if err := s.Touch(c, old, time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveIf(c, old, []byte("revived"), hour(), eo.Version); !errors.Is(err, sqlsession.ErrConflict) {
		t.Fatalf("SaveIf(expired session) = %v, want ErrConflict", err)
	}
	wantMiss(t, s, old)
	if err := s.SaveIf(c, tok, make([]byte, s.Options().MaxDataSize+1), hour(), 0); !errors.Is(err, sqlsession.ErrTooLarge) {
		t.Fatalf("SaveIf(too large) = %v, want ErrTooLarge", err)
	}
}

// testConcurrentSaveIf runs N writers with the same version: exactly one
// wins, the others get ErrConflict, and the row holds the winner's data.
func testConcurrentSaveIf(t *testing.T, k *kit) {
	s := k.open(t, sqlsession.Options{})
	tok := sqlsession.NewToken()
	mustSave(t, s, tok, []byte("start"), hour())
	e := mustLookup(t, s, tok)
	const writers = 16
	var wg sync.WaitGroup
	var won, lost atomic.Int64
	var winner atomic.Value
	var failed atomic.Value
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data := fmt.Sprint("writer ", w)
			switch err := s.SaveIf(ctx(t), tok, []byte(data), hour(), e.Version); {
			case err == nil:
				won.Add(1)
				winner.Store(data)
			case errors.Is(err, sqlsession.ErrConflict):
				lost.Add(1)
			default:
				failed.Store(err)
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		t.Fatal(err)
	}
	if won.Load() != 1 || lost.Load() != writers-1 {
		t.Fatalf("%d writers with one version: %d won, %d conflicts, want 1 and %d", writers, won.Load(), lost.Load(), writers-1)
	}
	wantData(t, s, tok, []byte(winner.Load().(string)))
}

// testDeletedStaysDeleted checks that no write brings back a deleted
// session while its tombstone lasts, that tombstones are invisible, and that
// cleanup removes them once their grace has passed.
func testDeletedStaysDeleted(t *testing.T, k *kit) {
	s := k.open(t, sqlsession.Options{})
	c := ctx(t)
	tok := sqlsession.NewToken()
	mustSave(t, s, tok, []byte("logged in"), hour())
	e := mustLookup(t, s, tok)
	if err := s.Delete(c, tok); err != nil {
		t.Fatal(err)
	}
	// A request that loaded the session before the logout ends now.
	if err := s.Save(c, tok, []byte("logged in, saved late"), hour()); !errors.Is(err, sqlsession.ErrDeleted) {
		t.Fatalf("Save(deleted token) = %v, want ErrDeleted", err)
	}
	if err := s.SaveIf(c, tok, []byte("saved late"), hour(), e.Version); !errors.Is(err, sqlsession.ErrConflict) {
		t.Fatalf("SaveIf(deleted token) = %v, want ErrConflict", err)
	}
	if err := s.Touch(c, tok, hour()); err != nil {
		t.Fatal(err)
	}
	wantMiss(t, s, tok)
	if _, found, err := s.Lookup(c, tok); found || err != nil {
		t.Fatalf("Lookup(deleted token) = %v, %v, want a miss", found, err)
	}
	if n := mustCount(t, s); n != 0 {
		t.Fatalf("Count() = %d with only a tombstone, want 0", n)
	}
	if got := entries(t, s); len(got) != 0 {
		t.Fatalf("All() yields %d entries with only a tombstone, want 0", len(got))
	}
	if n, err := s.DeleteExpired(c); err != nil || n != 0 {
		t.Fatalf("DeleteExpired() = %d, %v within the grace, want 0, nil", n, err)
	}
	if err := s.Save(c, tok, []byte("again"), hour()); !errors.Is(err, sqlsession.ErrDeleted) {
		t.Fatalf("second Save(deleted token) = %v, want ErrDeleted", err)
	}
	wantMiss(t, s, tok)
	// Saving the same data twice is not a refusal: the version moves on.
	live := sqlsession.NewToken()
	mustSave(t, s, live, []byte("same"), hour())
	mustSave(t, s, live, []byte("same"), hour())
	// Deleting again, and deleting an unknown token, are no errors.
	if err := s.Delete(c, tok); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(c, sqlsession.NewToken()); err != nil {
		t.Fatal(err)
	}

	// A short grace: cleanup removes the tombstone, and then the key is free.
	short := k.open(t, sqlsession.Options{DeleteGrace: 200 * time.Millisecond})
	tok2 := sqlsession.NewToken()
	mustSave(t, short, tok2, []byte("x"), hour())
	if err := short.Delete(c, tok2); err != nil {
		t.Fatal(err)
	}
	if err := short.Save(c, tok2, []byte("refused"), hour()); !errors.Is(err, sqlsession.ErrDeleted) {
		t.Fatalf("Save(deleted token) = %v, want ErrDeleted", err)
	}
	wantMiss(t, short, tok2)
	time.Sleep(300 * time.Millisecond)
	if n, err := short.DeleteExpired(c); err != nil || n != 1 {
		t.Fatalf("DeleteExpired() = %d, %v after the grace, want 1 (the tombstone), nil", n, err)
	}
	mustSave(t, short, tok2, []byte("new life"), hour())
	wantData(t, short, tok2, []byte("new life"))

	// Without tombstones a late save re-creates the row, as documented.
	none := k.open(t, sqlsession.Options{DeleteGrace: -1})
	tok3 := sqlsession.NewToken()
	mustSave(t, none, tok3, []byte("x"), hour())
	if err := none.Delete(c, tok3); err != nil {
		t.Fatal(err)
	}
	mustSave(t, none, tok3, []byte("back"), hour())
	wantData(t, none, tok3, []byte("back"))
}

// testExpiryRange checks that an expiry the table cannot hold is an error,
// never a session stored dead.
func testExpiryRange(t *testing.T, k *kit) {
	s := k.open(t, sqlsession.Options{})
	c := ctx(t)
	tok := sqlsession.NewToken()
	for _, exp := range []time.Time{time.Unix(1<<62, 0), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if err := s.Save(c, tok, []byte("x"), exp); !errors.Is(err, sqlsession.ErrInvalidExpiry) {
			t.Errorf("Save(expiry %v) = %v, want ErrInvalidExpiry", exp, err)
		}
	}
	far := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	mustSave(t, s, tok, []byte("far"), far)
	if e := mustLookup(t, s, tok); !e.Expiry.Equal(far) {
		t.Fatalf("Lookup().Expiry = %v, want %v", e.Expiry, far)
	}
	if err := s.Touch(c, tok, time.Unix(1<<62, 0)); !errors.Is(err, sqlsession.ErrInvalidExpiry) {
		t.Fatalf("Touch(expiry out of range) = %v, want ErrInvalidExpiry", err)
	}
}
