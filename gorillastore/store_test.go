package gorillastore

import (
	"context"
	"encoding/gob"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/sqlsession/sqlsession"
)

var (
	hashKey  = []byte("0123456789abcdef0123456789abcdef")
	blockKey = []byte("fedcba9876543210")
	otherKey = []byte("another key, 32 bytes long......")
)

const cookieName = "session"

type account struct {
	Name  string
	Roles []string
}

func init() { gob.Register(account{}) }

// save saves a new session with values through st and returns its cookie.
func save(t testing.TB, st *Store, values map[any]any) *http.Cookie {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	session, err := st.New(r, cookieName)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	for k, v := range values {
		session.Values[k] = v
	}
	w := httptest.NewRecorder()
	if err := st.Save(r, w, session); err != nil {
		t.Fatalf("Save() = %v", err)
	}
	return lastCookie(t, w)
}

func lastCookie(t testing.TB, w *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	cookies := w.Result().Cookies()
	if len(cookies) == 0 {
		t.Fatal("the response sets no cookie")
	}
	return cookies[len(cookies)-1]
}

// load reads the session of a request carrying cookie.
func load(st *Store, cookie *http.Cookie) (*sessions.Session, error) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if cookie != nil {
		r.Header.Set("Cookie", cookie.Name+"="+cookie.Value)
	}
	return st.New(r, cookieName)
}

func TestNewDefaults(t *testing.T) {
	db, _ := newFake(t)
	st := New(db, hashKey)
	want := sessions.Options{Path: "/", MaxAge: 86400 * 30, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode}
	if st.Options == nil || *st.Options != want {
		t.Errorf("New().Options = %+v, want %+v", st.Options, want)
	}
	if len(st.Codecs) != 1 {
		t.Errorf("len(New(db, key).Codecs) = %d, want 1", len(st.Codecs))
	}
	if st.Serializer != nil {
		t.Errorf("New().Serializer = %T, want nil (gob)", st.Serializer)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys [][]byte
		ser  Serializer
		in   map[any]any
		want map[any]any // nil: in
	}{
		{name: "gob", keys: [][]byte{hashKey}, in: map[any]any{
			"user": account{"alice", []string{"admin"}}, "n": 3, 7: []byte("seven"), "_flash": []any{"hi"},
		}},
		{name: "gob encrypted", keys: [][]byte{hashKey, blockKey}, in: map[any]any{"user": "bob"}},
		{name: "json", keys: [][]byte{hashKey}, ser: JSONSerializer{},
			in:   map[any]any{"user": "carol", "n": 3, "tags": []string{"a"}},
			want: map[any]any{"user": "carol", "n": 3.0, "tags": []any{"a"}}},
		{name: "empty", keys: [][]byte{hashKey}, in: map[any]any{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, f := newFake(t)
			st := New(db, tc.keys...)
			st.Serializer = tc.ser
			cookie := save(t, st, tc.in)
			session, err := load(st, cookie)
			if err != nil {
				t.Fatalf("New() = %v", err)
			}
			want := tc.want
			if want == nil {
				want = tc.in
			}
			if session.IsNew || !reflect.DeepEqual(session.Values, want) {
				t.Errorf("New() = IsNew %v, Values %v, want false, %v", session.IsNew, session.Values, want)
			}
			if !sqlsession.ValidToken(session.ID) || len(session.ID) != 43 {
				t.Errorf("New().ID = %q, want a 43-character token", session.ID)
			}
			if strings.Contains(cookie.Value, session.ID) {
				t.Errorf("cookie %q holds the token %q in clear", cookie.Value, session.ID)
			}
			key, _ := f.only(t)
			if key == session.ID {
				t.Errorf("stored key = the token %q, want its digest", key)
			}
		})
	}
}

// TestCookieCarriesOnlyToken saves 64 KB of values: the cookie stays small.
func TestCookieCarriesOnlyToken(t *testing.T) {
	db, _ := newFake(t)
	st := New(db, hashKey)
	big := strings.Repeat("0123456789abcdef", 4096)
	cookie := save(t, st, map[any]any{"big": big})
	if n := len(cookie.Value); n > 300 {
		t.Errorf("len(cookie) = %d, want at most 300: only the signed token", n)
	}
	session, err := load(st, cookie)
	if err != nil || session.Values["big"] != big {
		t.Fatalf("New() = %d bytes, %v, want the 64 KB value back", len(session.Values["big"].(string)), err)
	}
}

// TestFreshSession covers every cookie that must give a new, empty session
// and no error.
func TestFreshSession(t *testing.T) {
	db, f := newFake(t)
	st := New(db, hashKey)
	valid := save(t, st, map[any]any{"user": "alice"})
	sign := func(keys [][]byte, name string, v any) *http.Cookie {
		s, err := securecookie.EncodeMulti(name, v, securecookie.CodecsFromPairs(keys...)...)
		if err != nil {
			t.Fatal(err)
		}
		return &http.Cookie{Name: cookieName, Value: s}
	}
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	for _, tc := range []struct {
		name   string
		cookie *http.Cookie
	}{
		{"no cookie", nil},
		{"empty", &http.Cookie{Name: cookieName, Value: ""}},
		{"garbage", &http.Cookie{Name: cookieName, Value: "not-a-cookie"}},
		{"tampered first byte", &http.Cookie{Name: cookieName, Value: flip(valid.Value, 0)}},
		{"tampered middle", &http.Cookie{Name: cookieName, Value: flip(valid.Value, len(valid.Value)/2)}},
		{"truncated", &http.Cookie{Name: cookieName, Value: valid.Value[:len(valid.Value)-4]}},
		{"other key", sign([][]byte{otherKey}, cookieName, sqlsession.NewToken())},
		{"other cookie name", sign([][]byte{hashKey}, "other", sqlsession.NewToken())},
		{"unknown token", sign([][]byte{hashKey}, cookieName, sqlsession.NewToken())},
		{"invalid token", sign([][]byte{hashKey}, cookieName, "has space")},
		{"empty token", sign([][]byte{hashKey}, cookieName, "")},
		{"not a string", sign([][]byte{hashKey}, cookieName, 42)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			session, err := load(st, tc.cookie)
			if err != nil || !session.IsNew || session.ID != "" || len(session.Values) != 0 {
				t.Errorf("New() = IsNew %v, ID %q, Values %v, err %v; want a new empty session, nil",
					session.IsNew, session.ID, session.Values, err)
			}
		})
	}

	// The same cookie, once the row has expired or its data is corrupt.
	for _, tc := range []struct {
		name   string
		data   []byte
		expiry int64
	}{
		{"expired", []byte{}, 1},
		{"corrupt data", []byte("\x07garbage"), time.Now().Add(time.Hour).UnixMilli()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.set(tc.data, tc.expiry)
			session, err := load(st, valid)
			if err != nil || !session.IsNew || session.ID != "" || len(session.Values) != 0 {
				t.Errorf("New() = IsNew %v, ID %q, Values %v, err %v; want a new empty session, nil",
					session.IsNew, session.ID, session.Values, err)
			}
		})
	}
}

func TestDatabaseErrors(t *testing.T) {
	db, f := newFake(t)
	st := New(db, hashKey)
	cookie := save(t, st, map[any]any{"user": "alice"})
	boom := errors.New("connection refused")
	f.fail(boom)

	session, err := load(st, cookie)
	if !errors.Is(err, boom) || session == nil || !session.IsNew {
		t.Errorf("New() = %v, %v; want a new session and an error wrapping %v", session, err, boom)
	}
	session.Values["x"] = 1
	if err := st.Save(httptest.NewRequest(http.MethodGet, "/", nil), httptest.NewRecorder(), session); !errors.Is(err, boom) {
		t.Errorf("Save() = %v, want an error wrapping %v", err, boom)
	}
	session.ID = sqlsession.NewToken()
	session.Options.MaxAge = -1
	if err := st.Save(httptest.NewRequest(http.MethodGet, "/", nil), httptest.NewRecorder(), session); !errors.Is(err, boom) {
		t.Errorf("Save(MaxAge -1) = %v, want an error wrapping %v", err, boom)
	}
}

type ctxKey struct{}

// TestRequestContext checks that the database sees the request's context.
func TestRequestContext(t *testing.T) {
	db, f := newFake(t)
	st := New(db, hashKey)
	cookie := save(t, st, map[any]any{"user": "alice"})
	ctx := context.WithValue(context.Background(), ctxKey{}, "marked")
	for _, op := range []string{"load", "save", "delete"} {
		r := httptest.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
		r.AddCookie(cookie)
		session, err := st.New(r, cookieName)
		if err != nil {
			t.Fatal(err)
		}
		switch op {
		case "save":
			err = st.Save(r, httptest.NewRecorder(), session)
		case "delete":
			session.Options.MaxAge = -1
			err = st.Save(r, httptest.NewRecorder(), session)
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := f.lastCtx(); got == nil || got.Value(ctxKey{}) != "marked" {
			t.Errorf("%s: the backend ran under a context without the request's values", op)
		}
	}
}

func TestSaveMaxAge(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		maxAge     int
		wantExpiry time.Time
		wantRow    bool
		wantCookie int // the cookie's MaxAge as net/http parses it
	}{
		{"positive", 3600, now.Add(time.Hour), true, 3600},
		{"huge", 1 << 62, now.Add(time.Duration(maxAgeLimit) * time.Second), true, 1 << 62},
		{"browser session", 0, now.Add(sqlsession.DefaultLifetime), true, 0},
		{"delete", -1, time.Time{}, false, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, f := newFake(t)
			st := New(db, hashKey)
			st.now = func() time.Time { return now }
			// A live session first, so that "delete" has a row to remove.
			cookie := save(t, st, map[any]any{"user": "alice"})
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.AddCookie(cookie)
			session, err := st.New(r, cookieName)
			if err != nil || session.IsNew {
				t.Fatalf("New() = IsNew %v, %v; want the saved session", session.IsNew, err)
			}
			session.Options.MaxAge = tc.maxAge
			w := httptest.NewRecorder()
			if err := st.Save(r, w, session); err != nil {
				t.Fatalf("Save() = %v", err)
			}
			c := lastCookie(t, w)
			if c.MaxAge != tc.wantCookie {
				t.Errorf("cookie MaxAge = %d, want %d", c.MaxAge, tc.wantCookie)
			}
			if !tc.wantRow {
				if n := f.len(); n != 0 {
					t.Errorf("the table holds %d rows after Save(MaxAge %d), want 0", n, tc.maxAge)
				}
				if c.Value != "" {
					t.Errorf("deleting cookie value = %q, want empty", c.Value)
				}
				return
			}
			_, row := f.only(t)
			if got := time.UnixMilli(row.expiry); !got.Equal(tc.wantExpiry.Truncate(time.Millisecond)) {
				t.Errorf("expiry = %v, want %v", got, tc.wantExpiry)
			}
		})
	}
}

func TestRegenerate(t *testing.T) {
	db, f := newFake(t)
	st := New(db, hashKey)
	cookie := save(t, st, map[any]any{"cart": 3})
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(cookie)
	session, err := st.Get(r, cookieName)
	if err != nil || session.IsNew {
		t.Fatalf("Get() = IsNew %v, %v; want the saved session", session.IsNew, err)
	}
	old := session.ID
	session.Values["user"] = "alice"
	w := httptest.NewRecorder()
	if err := st.Regenerate(r, w, session); err != nil {
		t.Fatalf("Regenerate() = %v", err)
	}
	if session.ID == old || session.ID == "" {
		t.Errorf("Regenerate() kept ID %q, want a new token", session.ID)
	}
	if n := f.len(); n != 1 {
		t.Errorf("the table holds %d rows after Regenerate, want 1", n)
	}
	if s, err := load(st, cookie); err != nil || !s.IsNew {
		t.Errorf("New(old cookie) = IsNew %v, %v; want a new session", s.IsNew, err)
	}
	s, err := load(st, lastCookie(t, w))
	want := map[any]any{"cart": 3, "user": "alice"}
	if err != nil || s.ID != session.ID || !reflect.DeepEqual(s.Values, want) {
		t.Errorf("New(new cookie) = %q %v, %v; want %q %v", s.ID, s.Values, err, session.ID, want)
	}

	// A new session has no row to delete.
	fresh, _ := load(st, nil)
	if err := st.Regenerate(r, httptest.NewRecorder(), fresh); err != nil || fresh.ID == "" {
		t.Errorf("Regenerate(new session) = %v, ID %q; want nil and a token", err, fresh.ID)
	}
}

func TestGetUsesRegistry(t *testing.T) {
	db, _ := newFake(t)
	st := New(db, hashKey)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	a, err1 := st.Get(r, cookieName)
	b, err2 := st.Get(r, cookieName)
	if err1 != nil || err2 != nil || a != b {
		t.Errorf("Get() twice = %p, %p (%v, %v); want one session", a, b, err1, err2)
	}
	if a.Store() != st {
		t.Errorf("Get().Store() = %v, want the Store", a.Store())
	}
}

func TestKeyRotation(t *testing.T) {
	db, _ := newFake(t)
	old := New(db, otherKey)
	cookie := save(t, old, map[any]any{"user": "alice"})
	rotated := New(db, hashKey, nil, otherKey, nil)
	if s, err := load(rotated, cookie); err != nil || s.IsNew || s.Values["user"] != "alice" {
		t.Errorf("New(cookie of the old key) = IsNew %v, %v, %v; want the session", s.IsNew, s.Values, err)
	}
	if s, err := load(New(db, hashKey), cookie); err != nil || !s.IsNew {
		t.Errorf("New(cookie of a dropped key) = IsNew %v, %v; want a new session", s.IsNew, err)
	}
}

func TestMisconfigured(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	w := httptest.NewRecorder()

	noDB := New(nil, hashKey)
	if s, err := noDB.New(r, cookieName); !errors.Is(err, ErrNoStore) || s == nil {
		t.Errorf("New(nil db).New() = %v, %v; want a session and ErrNoStore", s, err)
	}
	if err := noDB.Save(r, w, sessions.NewSession(noDB, cookieName)); !errors.Is(err, ErrNoStore) {
		t.Errorf("New(nil db).Save() = %v, want ErrNoStore", err)
	}
	if err := (&Store{}).Regenerate(r, w, sessions.NewSession(noDB, cookieName)); !errors.Is(err, ErrNoStore) {
		t.Errorf("Store{}.Regenerate() = %v, want ErrNoStore", err)
	}

	db, f := newFake(t)
	noKeys := New(db)
	s, err := noKeys.New(r, cookieName)
	if err != nil {
		t.Fatalf("New(no keys).New() = %v", err)
	}
	if err := noKeys.Save(r, w, s); !errors.Is(err, ErrNoCodecs) {
		t.Errorf("New(no keys).Save() = %v, want ErrNoCodecs", err)
	}
	if n := f.len(); n != 0 {
		t.Errorf("the table holds %d rows after a failed Save, want 0", n)
	}

	js := New(db, hashKey)
	js.Serializer = JSONSerializer{}
	s, _ = js.New(r, cookieName)
	s.Values[1] = "one"
	if err := js.Save(r, w, s); !errors.Is(err, ErrNonStringKey) {
		t.Errorf("Save(JSON, int key) = %v, want ErrNonStringKey", err)
	}
}

// TestSaveWithoutOptions saves a session made outside the Store.
func TestSaveWithoutOptions(t *testing.T) {
	db, _ := newFake(t)
	st := New(db, hashKey)
	session := sessions.NewSession(st, cookieName)
	session.Options = nil
	session.Values["a"] = "b"
	w := httptest.NewRecorder()
	if err := st.Save(httptest.NewRequest(http.MethodGet, "/", nil), w, session); err != nil {
		t.Fatalf("Save() = %v", err)
	}
	if c := lastCookie(t, w); c.Path != "/" || !c.HttpOnly || !c.Secure {
		t.Errorf("cookie = %v, want the Store's options", c)
	}
}

func TestMaxAge(t *testing.T) {
	db, _ := newFake(t)
	st := New(db, hashKey)
	for _, age := range []int{60, 0} {
		st.MaxAge(age)
		if st.Options.MaxAge != age {
			t.Errorf("MaxAge(%d): Options.MaxAge = %d", age, st.Options.MaxAge)
		}
		cookie := save(t, st, map[any]any{"a": 1})
		if cookie.MaxAge != age {
			t.Errorf("MaxAge(%d): cookie MaxAge = %d", age, cookie.MaxAge)
		}
		if s, err := load(st, cookie); err != nil || s.IsNew {
			t.Errorf("MaxAge(%d): New() = IsNew %v, %v; want the session", age, s.IsNew, err)
		}
	}
}
