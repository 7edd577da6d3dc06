package gorillastore

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sqlsession/sqlsession"
)

// TestChangedAfterDeletion lets another request log out, renew or revoke a
// session while a first one holds it loaded; the first then changes it and
// saves. The sqlsession Store refuses the deleted token (ErrDeleted): Save
// writes no row, sets no cookie, returns nil and leaves the session new
// and empty; saving it again does nothing, and Regenerate starts a new one.
func TestChangedAfterDeletion(t *testing.T) {
	for _, tc := range []struct {
		name  string
		other func(t *testing.T, st *Store, cookie *http.Cookie)
	}{
		{"logged out", func(t *testing.T, st *Store, cookie *http.Cookie) {
			r, s := request(t, st, cookie)
			s.Options.MaxAge = -1
			saveCookie(t, st, r, s)
		}},
		{"renewed", func(t *testing.T, st *Store, cookie *http.Cookie) {
			r, s := request(t, st, cookie)
			if err := st.Regenerate(r, httptest.NewRecorder(), s); err != nil {
				t.Fatalf("Regenerate() = %v", err)
			}
		}},
		{"revoked", func(t *testing.T, st *Store, cookie *http.Cookie) {
			_, s := request(t, st, cookie)
			if err := st.db.Delete(context.Background(), s.ID); err != nil {
				t.Fatalf("sqlsession Delete() = %v", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, f := newFake(t)
			st := New(db, hashKey)
			cookie := save(t, st, map[any]any{"user": "alice"})
			r, s := request(t, st, cookie) // the slow request
			old := s.ID
			tc.other(t, st, cookie)
			rows := f.len()

			s.Values["late"] = "1"
			if c := saveMaybe(t, st, r, s); c != nil {
				t.Errorf("Save(changed, token deleted meanwhile) set cookie %v, want none", c)
			}
			if !s.IsNew || s.ID != "" || len(s.Values) != 0 {
				t.Errorf("after Save: IsNew %t, ID %q, %d values; want a new, empty session", s.IsNew, s.ID, len(s.Values))
			}
			if n := f.len(); n != rows {
				t.Errorf("Save(changed, token deleted meanwhile): %d sessions, want %d", n, rows)
			}
			if _, again := request(t, st, cookie); !again.IsNew {
				t.Errorf("the old cookie after the slow request names a session (%v), want none", again.Values)
			}

			// Saving it again in the same request does nothing.
			s.Values["later"] = "2"
			saves, _ := f.counts()
			if c := saveMaybe(t, st, r, s); c != nil {
				t.Errorf("second Save of the deleted session set cookie %v, want none", c)
			}
			if n, _ := f.counts(); n != saves {
				t.Errorf("second Save of the deleted session ran %d saves, want 0", n-saves)
			}

			// Regenerate starts a new session with a new token.
			w := httptest.NewRecorder()
			if err := st.Regenerate(r, w, s); err != nil {
				t.Fatalf("Regenerate() = %v", err)
			}
			if s.ID == "" || s.ID == old || len(w.Result().Cookies()) != 1 {
				t.Fatalf("Regenerate() of the deleted session: ID %q, %d cookies; want a new token and its cookie", s.ID, len(w.Result().Cookies()))
			}
			if _, fresh := request(t, st, w.Result().Cookies()[0]); fresh.IsNew || fresh.Values["later"] != "2" {
				t.Errorf("the session Regenerate saved = %v, new %t; want later=2", fresh.Values, fresh.IsNew)
			}
		})
	}
}

// TestSaveDeletedNoTombstones runs with DeleteGrace -1: the Store keeps no
// tombstones, so a changed session saved after its log-out comes back, as
// sqlsession documents. It shows what the tombstones prevent.
func TestSaveDeletedNoTombstones(t *testing.T) {
	db, f := newFakeWith(t, sqlsession.Options{DeleteGrace: -1})
	st := New(db, hashKey)
	cookie := save(t, st, map[any]any{"user": "alice"})
	r, s := request(t, st, cookie)
	if err := st.db.Delete(context.Background(), s.ID); err != nil {
		t.Fatalf("sqlsession Delete() = %v", err)
	}
	s.Values["late"] = "1"
	if c := saveMaybe(t, st, r, s); c == nil {
		t.Error("Save(changed) without tombstones set no cookie, want the old token's")
	}
	if n := f.len(); n != 1 {
		t.Errorf("Save(changed) without tombstones: %d sessions, want 1 (the session is back)", n)
	}
}
