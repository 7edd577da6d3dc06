package gorillastore

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/sessions"

	"github.com/sqlsession/sqlsession"
)

// clock is a settable time source for Store.now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// request loads the session of a request carrying cookie and returns it
// with the request, as a handler sees them.
func request(t *testing.T, st *Store, cookie *http.Cookie) (*http.Request, *sessions.Session) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if cookie != nil {
		r.AddCookie(cookie)
	}
	s, err := st.Get(r, cookieName)
	if err != nil {
		t.Fatalf("Get() = %v", err)
	}
	return r, s
}

// saveCookie saves s and returns the cookie the response sets.
func saveCookie(t *testing.T, st *Store, r *http.Request, s *sessions.Session) *http.Cookie {
	t.Helper()
	c := saveMaybe(t, st, r, s)
	if c == nil {
		t.Fatal("Save() set no cookie")
	}
	return c
}

// saveMaybe saves s and returns the cookie the response sets, nil if none.
func saveMaybe(t *testing.T, st *Store, r *http.Request, s *sessions.Session) *http.Cookie {
	t.Helper()
	w := httptest.NewRecorder()
	if err := st.Save(r, w, s); err != nil {
		t.Fatalf("Save() = %v", err)
	}
	cookies := w.Result().Cookies()
	if len(cookies) == 0 {
		return nil
	}
	return cookies[len(cookies)-1]
}

// TestUnchangedSkipsWrites reads and saves a session on every request, as
// gorilla applications do: only changes and an expiry near its end write,
// and only they set the cookie.
func TestUnchangedSkipsWrites(t *testing.T) {
	for _, tc := range []struct {
		name string
		ser  Serializer
	}{
		{"gob", nil},
		{"json", JSONSerializer{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, f := newFake(t)
			clk := &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
			st := New(db, hashKey)
			st.Serializer = tc.ser
			st.now = clk.now
			st.MaxAge(3600)
			// Many keys, so that a map-order encoding would differ.
			values := map[any]any{}
			for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
				values[k] = k + k
			}
			cookie := save(t, st, values)
			saves0, writes0 := f.counts()

			const n = 100
			for i := range n {
				clk.add(time.Second)
				r, s := request(t, st, cookie)
				if s.IsNew {
					t.Fatalf("request %d: Get() = a new session, want the saved one", i)
				}
				if c := saveMaybe(t, st, r, s); c != nil {
					t.Fatalf("request %d: Save(unchanged) set cookie %v, want none", i, c)
				}
			}
			if saves, writes := f.counts(); writes != writes0 || saves != saves0 {
				t.Errorf("%d unchanged Saves wrote %d times, want 0", n, writes-writes0)
			}

			// A change writes once.
			r, s := request(t, st, cookie)
			s.Values["a"] = "changed"
			cookie = saveCookie(t, st, r, s)
			if saves, _ := f.counts(); saves != saves0+1 {
				t.Errorf("Save(changed) ran %d saves, want 1", saves-saves0)
			}
			if _, s := request(t, st, cookie); s.Values["a"] != "changed" {
				t.Errorf("Values[a] after the change = %v, want changed", s.Values["a"])
			}

			// After a tenth of the lifetime, one touch moves the expiry,
			// and the data stays as it was; the touch renews the cookie.
			saves1, writes1 := f.counts()
			clk.add(6*time.Minute + time.Second)
			for i := range 3 {
				r, s := request(t, st, cookie)
				c := saveMaybe(t, st, r, s)
				switch {
				case i == 0 && (c == nil || c.MaxAge != 3600 || c.Value == ""):
					t.Fatalf("Save(unchanged, expiry due) set cookie %v, want the signed token with MaxAge 3600", c)
				case i > 0 && c != nil:
					t.Errorf("Save(unchanged) after the touch set cookie %v, want none", c)
				}
			}
			saves, writes := f.counts()
			if saves != saves1 || writes != writes1+1 {
				t.Errorf("Saves after a tenth of MaxAge: %d saves, %d writes; want 0 saves, 1 touch", saves-saves1, writes-writes1)
			}
			_, row := f.only(t)
			if want := clk.now().Add(time.Hour).UnixMilli(); row.expiry != want {
				t.Errorf("expiry after the touch = %v, want %v", time.UnixMilli(row.expiry), time.UnixMilli(want))
			}
		})
	}
}

// TestTouchFraction covers the knob: a larger fraction touches less often,
// a negative one writes on every Save.
func TestTouchFraction(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fraction float64
		step     time.Duration
		want     int // writes of 10 requests, one step apart
	}{
		{"default, within a tenth", 0, time.Second, 0},
		{"default, a tenth each", 0, 361 * time.Second, 10},
		{"half, a tenth each", 0.5, 361 * time.Second, 2},
		{"above one", 7, 361 * time.Second, 0},
		{"negative", -1, time.Second, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, f := newFake(t)
			clk := &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
			st := New(db, hashKey)
			st.now = clk.now
			st.MaxAge(3600)
			st.TouchFraction = tc.fraction
			cookie := save(t, st, map[any]any{"user": "alice"})
			_, writes0 := f.counts()
			for range 10 {
				clk.add(tc.step)
				if tc.fraction > 1 && clk.now().Sub(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) > 50*time.Minute {
					break // the session would expire untouched
				}
				r, s := request(t, st, cookie)
				if s.IsNew {
					t.Fatal("Get() = a new session, want the saved one")
				}
				if c := saveMaybe(t, st, r, s); c != nil {
					cookie = c
				}
			}
			if _, writes := f.counts(); writes-writes0 != tc.want {
				t.Errorf("TouchFraction %v: 10 Saves %v apart wrote %d times, want %d", tc.fraction, tc.step, writes-writes0, tc.want)
			}
		})
	}
}

// TestSaveTwiceInARequest saves a changed session twice: the second Save
// knows what the first one wrote.
func TestSaveTwiceInARequest(t *testing.T) {
	db, f := newFake(t)
	st := New(db, hashKey)
	r, s := request(t, st, nil)
	s.Values["user"] = "alice"
	saveCookie(t, st, r, s)
	saveMaybe(t, st, r, s)
	if saves, writes := f.counts(); saves != 1 || writes != 1 {
		t.Errorf("two Saves of one new session: %d saves, %d writes; want 1, 1", saves, writes)
	}
	s.Values["user"] = "bob"
	saveCookie(t, st, r, s)
	if saves, _ := f.counts(); saves != 2 {
		t.Errorf("Save after a change: %d saves in all, want 2", saves)
	}
}

// TestNoResurrection revokes a session while a request holds it: saving it
// unchanged must not bring it back, nor hand its token to the browser.
func TestNoResurrection(t *testing.T) {
	for _, tc := range []struct {
		name string
		wait time.Duration // before the Save: 0 skips, past a tenth touches
	}{
		{"skip", 0},
		{"touch", 10 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, f := newFake(t)
			clk := &clock{t: time.Now()}
			st := New(db, hashKey)
			st.now = clk.now
			st.MaxAge(3600)
			cookie := save(t, st, map[any]any{"user": "alice"})
			r, s := request(t, st, cookie)
			key, _ := f.only(t)
			f.mu.Lock()
			delete(f.rows, key) // log out everywhere, from another process
			f.mu.Unlock()
			clk.add(tc.wait)
			if c := saveMaybe(t, st, r, s); c != nil {
				t.Errorf("Save(revoked session, unchanged) set cookie %v, want none", c)
			}
			if n := f.len(); n != 0 {
				t.Errorf("the table holds %d rows after saving a revoked session unchanged, want 0", n)
			}
		})
	}
}

// TestOverlappingRequests lets another request renew, change or log out a
// session while a first one holds it loaded and unchanged; the first then
// saves: it writes nothing, sets no cookie, and the other request's work
// stands.
func TestOverlappingRequests(t *testing.T) {
	for _, tc := range []struct {
		name  string
		other func(t *testing.T, st *Store, cookie *http.Cookie) (live bool)
	}{
		{"renewed", func(t *testing.T, st *Store, cookie *http.Cookie) bool {
			r, s := request(t, st, cookie)
			if err := st.Regenerate(r, httptest.NewRecorder(), s); err != nil {
				t.Fatalf("Regenerate() = %v", err)
			}
			return false
		}},
		{"changed", func(t *testing.T, st *Store, cookie *http.Cookie) bool {
			r, s := request(t, st, cookie)
			s.Values["user"] = "bob"
			saveCookie(t, st, r, s)
			return true
		}},
		{"logged out", func(t *testing.T, st *Store, cookie *http.Cookie) bool {
			r, s := request(t, st, cookie)
			s.Options.MaxAge = -1
			saveCookie(t, st, r, s)
			return false
		}},
	} {
		for _, wait := range []time.Duration{0, 10 * time.Minute} {
			t.Run(fmt.Sprintf("%s, %v later", tc.name, wait), func(t *testing.T) {
				db, f := newFake(t)
				clk := &clock{t: time.Now()}
				st := New(db, hashKey)
				st.now = clk.now
				st.MaxAge(3600)
				cookie := save(t, st, map[any]any{"user": "alice"})
				r, s := request(t, st, cookie) // the slow request
				live := tc.other(t, st, cookie)
				saves0, _ := f.counts()
				rows0 := f.snapshot()
				clk.add(wait) // 0: unchanged and fresh; 10m: expiry due
				if c := saveMaybe(t, st, r, s); c != nil {
					t.Errorf("Save() of the slow request set cookie %v, want none", c)
				}
				if saves, _ := f.counts(); saves != saves0 || !maps.EqualFunc(f.snapshot(), rows0, fakeRow.equal) {
					t.Errorf("Save() of the slow request changed the table (%d saves), want no change", saves-saves0)
				}
				if _, again := request(t, st, cookie); again.IsNew == live {
					t.Errorf("the old cookie after the slow request: new session %t, want %t", again.IsNew, !live)
				}
				if live {
					if _, again := request(t, st, cookie); again.Values["user"] != "bob" {
						t.Errorf("Values[user] after the slow request = %v, want bob", again.Values["user"])
					}
				}
			})
		}
	}
}

// TestNoVersionColumn runs on a table without a version column: an
// unchanged session still sets no cookie, and a due expiry is moved with
// a touch, which renews the cookie.
func TestNoVersionColumn(t *testing.T) {
	db, f := newFakeWith(t, sqlsession.Options{Layout: sqlsession.Layout{Version: sqlsession.NoColumn}})
	clk := &clock{t: time.Now()}
	st := New(db, hashKey)
	st.now = clk.now
	st.MaxAge(3600)
	cookie := save(t, st, map[any]any{"user": "alice"})
	r, s := request(t, st, cookie)
	if c := saveMaybe(t, st, r, s); c != nil {
		t.Errorf("Save(unchanged) set cookie %v, want none", c)
	}
	saves0, writes0 := f.counts()
	clk.add(10 * time.Minute)
	r, s = request(t, st, cookie)
	if c := saveMaybe(t, st, r, s); c == nil || c.MaxAge != 3600 {
		t.Errorf("Save(unchanged, expiry due) set cookie %v, want the signed token with MaxAge 3600", c)
	}
	if saves, writes := f.counts(); saves != saves0 || writes != writes0+1 {
		t.Errorf("Save(unchanged, expiry due): %d saves, %d writes; want 0, 1 (a touch)", saves-saves0, writes-writes0)
	}
	if _, row := f.only(t); row.expiry != clk.now().Add(time.Hour).UnixMilli() {
		t.Errorf("expiry after the touch = %v, want now+1h", time.UnixMilli(row.expiry))
	}
}

// TestRegenerateWrites moves an unchanged session to a new token: that is
// a write.
func TestRegenerateWrites(t *testing.T) {
	db, f := newFake(t)
	st := New(db, hashKey)
	cookie := save(t, st, map[any]any{"user": "alice"})
	r, s := request(t, st, cookie)
	old := s.ID
	if err := st.Regenerate(r, httptest.NewRecorder(), s); err != nil {
		t.Fatalf("Regenerate() = %v", err)
	}
	if s.ID == old {
		t.Fatal("Regenerate() kept the token")
	}
	if saves, _ := f.counts(); saves != 2 {
		t.Errorf("Regenerate of an unchanged session: %d saves in all, want 2", saves)
	}
	if _, row := f.only(t); row.data == nil {
		t.Error("no row under the new token")
	}
}

// TestRememberedSessionsGo checks that the Store forgets sessions the
// program no longer holds: its memory follows the live sessions.
func TestRememberedSessionsGo(t *testing.T) {
	db, f := newFake(t)
	st := New(db, hashKey)
	cookie := save(t, st, map[any]any{"user": "alice"})
	for range 100 {
		request(t, st, cookie) // loaded, never saved
	}
	f.mu.Lock()
	f.last = nil // it holds the last request's session
	f.mu.Unlock()
	remembered := func() int {
		st.mu.Lock()
		defer st.mu.Unlock()
		return len(st.loaded)
	}
	for i := 0; i < 100 && remembered() > 0; i++ {
		runtime.GC()
		time.Sleep(time.Millisecond) // cleanups run on their own goroutine
	}
	if n := remembered(); n != 0 {
		t.Errorf("the Store remembers %d sessions after they were collected, want 0", n)
	}
}

// TestConcurrentSaves loads and saves one session from many goroutines,
// under -race: every Save succeeds and the values survive.
func TestConcurrentSaves(t *testing.T) {
	db, _ := newFake(t)
	st := New(db, hashKey)
	cookie := save(t, st, map[any]any{"user": "alice"})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for range 20 {
				r := httptest.NewRequest(http.MethodGet, "/", nil)
				r.AddCookie(cookie)
				s, err := st.Get(r, cookieName)
				if err != nil {
					t.Errorf("Get() = %v", err)
					return
				}
				if i%4 == 0 {
					s.Values["n"] = i
				}
				if err := st.Save(r, httptest.NewRecorder(), s); err != nil {
					t.Errorf("Save() = %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if s, err := load(st, cookie); err != nil || s.Values["user"] != "alice" {
		t.Errorf("New() after concurrent Saves = %v, %v; want alice's session", s.Values, err)
	}
}
