package gorillastore

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/gorilla/securecookie"
	"github.com/sqlsession/sqlsession"
)

// FuzzCookie sends arbitrary cookie values to Store.New: it never panics,
// never errs, and gives either a new empty session or the one valid session.
func FuzzCookie(f *testing.F) {
	db, _ := newFake(f)
	st := New(db, hashKey, blockKey)
	values := map[any]any{"user": "alice", "n": 7}
	valid := save(f, st, values)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(valid)
	loaded, err := st.New(r, cookieName)
	if err != nil || loaded.IsNew {
		f.Fatalf("New(valid cookie) = IsNew %v, %v", loaded.IsNew, err)
	}
	token := loaded.ID

	sign := func(keys [][]byte, v any) string {
		s, err := securecookie.EncodeMulti(cookieName, v, securecookie.CodecsFromPairs(keys...)...)
		if err != nil {
			f.Fatal(err)
		}
		return s
	}
	for _, seed := range []string{
		valid.Value,
		`"` + valid.Value + `"`,
		valid.Value + "x",
		valid.Value[:len(valid.Value)/2],
		valid.Value[1:],
		"",
		"=",
		"a=b; session=c",
		"\x00\xff",
		sign([][]byte{hashKey, blockKey}, sqlsession.NewToken()),
		sign([][]byte{hashKey, blockKey}, "bad token"),
		sign([][]byte{hashKey}, token),
		sign([][]byte{otherKey, blockKey}, token),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Cookie", cookieName+"="+value)
		s, err := st.New(r, cookieName)
		if err != nil {
			t.Fatalf("New(cookie %q) = %v, want no error", value, err)
		}
		switch {
		case s.IsNew:
			if s.ID != "" || len(s.Values) != 0 {
				t.Fatalf("New(cookie %q) = new session with ID %q, Values %v; want empty", value, s.ID, s.Values)
			}
		case s.ID != token || !reflect.DeepEqual(s.Values, values):
			t.Fatalf("New(cookie %q) = session %q %v, want %q %v", value, s.ID, s.Values, token, values)
		}
	})
}
