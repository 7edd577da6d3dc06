package httpsession_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession/httpsession"
)

// nodeRow returns the value of the cookie object's key in a row's JSON.
func cookieField(t *testing.T, data, key string) any {
	t.Helper()
	var v struct {
		Cookie map[string]any `json:"cookie"`
	}
	if err := json.Unmarshal([]byte(data), &v); err != nil || v.Cookie == nil {
		t.Fatalf("row %s: no cookie object (%v)", data, err)
	}
	return v.Cookie[key]
}

func iso(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func TestExpressNewSession(t *testing.T) {
	codec := httpsession.ExpressCookie{Secrets: []string{expressSecret}}
	m, st := newManager(t, httpsession.Config{Cookie: codec, InsecureCookie: true, Lifetime: time.Hour})
	res := serve(m, func(w http.ResponseWriter, r *http.Request) {
		httpsession.From(r.Context()).Put("user", "ada")
	}, "")
	c := res.cookie("connect.sid")
	if c == nil || !strings.HasPrefix(c.Value, "s%3A") || c.Expires.IsZero() {
		t.Fatalf("Set-Cookie = %v, want a persistent connect.sid=s%%3A…", res.header["Set-Cookie"])
	}
	sid := codec.Token([]string{"connect.sid=" + c.Value}, "connect.sid")
	if len(sid) != 32 {
		t.Fatalf("the cookie's session id %q: want 32 characters, signed with the secret", sid)
	}
	data, exp, ok := st.row(sid)
	if !ok {
		t.Fatal("no row under the cookie's session id")
	}
	want := `{"cookie":{"originalMaxAge":3600000,"expires":"` + iso(exp) + `","httpOnly":true,"path":"/","sameSite":"lax"},"user":"ada"}`
	if data != want {
		t.Errorf("row = %s\nwant  %s", data, want)
	}
	if d := time.Until(exp); d < 59*time.Minute || d > time.Hour {
		t.Errorf("row expires in %v, want 1h", d)
	}
	if !c.Expires.Equal(exp.Truncate(time.Second)) && c.Expires.Sub(exp).Abs() > time.Second {
		t.Errorf("cookie expires %v, row %v", c.Expires, exp)
	}
}

// TestExpressNodeRow reads and changes a session that express-session
// wrote: the Go side slides its expiry as express-session does, changes
// only its own key, and keeps the other keys' bytes and order.
func TestExpressNodeRow(t *testing.T) {
	codec := httpsession.ExpressCookie{Secrets: []string{expressSecret}}
	m, st := newManager(t, httpsession.Config{Cookie: codec, InsecureCookie: true})
	node := `{"cookie":{"originalMaxAge":86400000,"expires":"2030-01-01T00:00:00.000Z","httpOnly":true,"path":"/"},"zeta":{"a" : 1},"user":"ada","n":1.50}`
	st.put(nodeSID, node, time.Now().Add(time.Hour))

	var user string
	res := serve(m, func(w http.ResponseWriter, r *http.Request) {
		httpsession.From(r.Context()).Get("user", &user)
	}, expressHeader)
	if user != "ada" {
		t.Fatalf("Get(user) = %q on express-session's row, want ada", user)
	}
	data, exp, _ := st.row(nodeSID)
	if data != node || time.Until(exp) < 23*time.Hour {
		t.Errorf("after a read: row %s until %v; want the bytes unchanged and the expiry moved to now+originalMaxAge", data, exp)
	}
	if res.cookie("connect.sid") != nil {
		t.Errorf("a read sent Set-Cookie %v", res.header["Set-Cookie"])
	}
	writes := st.writes()
	serve(m, func(w http.ResponseWriter, r *http.Request) { httpsession.From(r.Context()).Get("user", &user) }, expressHeader)
	if st.writes() != writes {
		t.Errorf("a second read at once wrote %d times, want none (touches at most once per tenth)", st.writes()-writes)
	}

	res = serve(m, func(w http.ResponseWriter, r *http.Request) {
		httpsession.From(r.Context()).Put("n", 2)
	}, expressHeader)
	data, exp, _ = st.row(nodeSID)
	want := `{"cookie":{"originalMaxAge":86400000,"expires":"` + iso(exp) + `","httpOnly":true,"path":"/"},"zeta":{"a" : 1},"user":"ada","n":2}`
	if data != want {
		t.Errorf("after Put(n): row %s\nwant %s", data, want)
	}
	if c := res.cookie("connect.sid"); c == nil || codec.Token([]string{"connect.sid=" + c.Value}, "connect.sid") != nodeSID {
		t.Errorf("a write sent Set-Cookie %v, want the session's signed cookie again, as express-session does", res.header["Set-Cookie"])
	}

	res = serve(m, func(w http.ResponseWriter, r *http.Request) {
		httpsession.From(r.Context()).Destroy()
	}, expressHeader)
	if _, _, ok := st.row(nodeSID); ok {
		t.Error("Destroy left the row")
	}
	if c := res.cookie("connect.sid"); c == nil || c.MaxAge >= 0 {
		t.Errorf("Destroy sent %v, want the cookie removed", res.header["Set-Cookie"])
	}
}

// TestExpressUnsignedCookie checks that a cookie without a valid signature
// is no session, as in express-session.
func TestExpressUnsignedCookie(t *testing.T) {
	m, st := newManager(t, httpsession.Config{Cookie: httpsession.ExpressCookie{Secrets: []string{"other secret"}}})
	st.put(nodeSID, `{"cookie":{"originalMaxAge":null,"expires":null,"httpOnly":true,"path":"/"},"user":"ada"}`, time.Now().Add(time.Hour))
	for _, h := range []string{expressHeader, "connect.sid=" + nodeSID} {
		found := true
		serve(m, func(w http.ResponseWriter, r *http.Request) {
			found, _ = httpsession.From(r.Context()).Get("user", new(string))
		}, h)
		if found {
			t.Errorf("cookie %q read the session", h)
		}
	}
}

func TestExpressBrowserSession(t *testing.T) {
	m, st := newManager(t, httpsession.Config{Cookie: httpsession.ExpressCookie{Secrets: []string{"s"}}, BrowserSession: true, Lifetime: time.Hour})
	res := serve(m, func(w http.ResponseWriter, r *http.Request) { httpsession.From(r.Context()).Put("user", "ada") }, "")
	c := res.cookie("connect.sid")
	if c == nil || !c.Expires.IsZero() || c.MaxAge != 0 {
		t.Fatalf("Set-Cookie = %v, want a browser-session cookie", res.header["Set-Cookie"])
	}
	sid := httpsession.ExpressCookie{Secrets: []string{"s"}}.Token([]string{"connect.sid=" + c.Value}, "connect.sid")
	data, exp, _ := st.row(sid)
	if cookieField(t, data, "expires") != nil || cookieField(t, data, "originalMaxAge") != nil {
		t.Errorf("row %s: want originalMaxAge and expires null", data)
	}
	if d := time.Until(exp); d < 59*time.Minute || d > time.Hour {
		t.Errorf("row expires in %v, want Lifetime", d)
	}
	// Remember me: a persistent cookie from now on.
	res = serve(m, func(w http.ResponseWriter, r *http.Request) { httpsession.From(r.Context()).SetPersistent(true) }, "connect.sid="+c.Value)
	data, exp, _ = st.row(sid)
	if cookieField(t, data, "expires") != iso(exp) || cookieField(t, data, "originalMaxAge") != 3600000.0 {
		t.Errorf("after SetPersistent(true): row %s until %v", data, exp)
	}
	if c := res.cookie("connect.sid"); c == nil || c.Expires.IsZero() {
		t.Errorf("after SetPersistent(true): Set-Cookie %v, want a persistent cookie", res.header["Set-Cookie"])
	}
}

func TestKoaSessions(t *testing.T) {
	codec := httpsession.KoaCookie{Keys: []string{"key one", "key two"}}
	m, st := newManager(t, httpsession.Config{Cookie: codec, InsecureCookie: true, Lifetime: time.Hour})

	// Created in Go: Koa's cookie object, two cookies.
	res := serve(m, func(w http.ResponseWriter, r *http.Request) { httpsession.From(r.Context()).Put("user", "ada") }, "")
	c, sig := res.cookie("koa.sid"), res.cookie("koa.sid.sig")
	if c == nil || sig == nil || codec.Token([]string{"koa.sid=" + c.Value + "; koa.sid.sig=" + sig.Value}, "koa.sid") != c.Value || len(c.Value) != 32 {
		t.Fatalf("Set-Cookie = %v, want koa.sid and a valid koa.sid.sig", res.header["Set-Cookie"])
	}
	data, exp, _ := st.row(c.Value)
	if want := `{"cookie":{"sameSite":"lax","httpOnly":true,"path":"/","overwrite":true,"signed":true,"maxAge":3600000},"user":"ada"}`; data != want {
		t.Errorf("row = %s\nwant  %s", data, want)
	}
	if d := time.Until(exp); d < 59*time.Minute || d > time.Hour {
		t.Errorf("row expires in %v, want the cookie's maxAge", d)
	}

	// Written by koa-generic-session: reads write nothing (rolling: false),
	// a write keeps the session for maxAge and leaves the object as it is.
	node := `{"cookie":{"httpOnly":true,"path":"/","overwrite":true,"signed":true,"maxAge":86400000},"user":"ada"}`
	st.put(nodeSID, node, time.Now().Add(time.Hour))
	header := "koa.sid=" + nodeSID + "; koa.sid.sig=" + koaSigSHA1
	writes := st.writes()
	var user string
	res = serve(m, func(w http.ResponseWriter, r *http.Request) { httpsession.From(r.Context()).Get("user", &user) }, header)
	if user != "ada" || st.writes() != writes || len(res.header["Set-Cookie"]) != 0 {
		t.Errorf("read: user %q, %d writes, Set-Cookie %v; want ada, no write, no cookie", user, st.writes()-writes, res.header["Set-Cookie"])
	}
	res = serve(m, func(w http.ResponseWriter, r *http.Request) { httpsession.From(r.Context()).Put("cart", []int{1}) }, header)
	data, exp, _ = st.row(nodeSID)
	if want := `{"cookie":{"httpOnly":true,"path":"/","overwrite":true,"signed":true,"maxAge":86400000},"user":"ada","cart":[1]}`; data != want {
		t.Errorf("row = %s\nwant  %s", data, want)
	}
	if d := time.Until(exp); d < 23*time.Hour {
		t.Errorf("after a write the row expires in %v, want now+maxAge", d)
	}
	if res.cookie("koa.sid") == nil || res.cookie("koa.sid.sig") == nil {
		t.Errorf("a write sent %v, want both cookies again, as koa-generic-session does", res.header["Set-Cookie"])
	}
}

// TestNodeMerge checks that a commit that finds the row changed by the
// Node.js app since it loaded it applies only its own keys over the
// Node.js app's.
func TestNodeMerge(t *testing.T) {
	m, st := newManager(t, httpsession.Config{Cookie: httpsession.KoaCookie{Keys: []string{"k"}}})
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	st.put(nodeSID, `{"cookie":{"maxAge":86400000},"user":"ada"}`, exp)
	s, err := m.Load(ctx, nodeSID)
	if err != nil {
		t.Fatal(err)
	}
	s.Put("theme", "dark")
	st.put(nodeSID, `{"cookie":{"maxAge":86400000},"user":"ada","cart":[7]}`, exp) // the Node.js app, meanwhile
	if _, err := m.Commit(ctx, s); err != nil {
		t.Fatal(err)
	}
	data, _, _ := st.row(nodeSID)
	if want := `{"cookie":{"maxAge":86400000},"user":"ada","cart":[7],"theme":"dark"}`; data != want {
		t.Errorf("row = %s\nwant  %s", data, want)
	}
}

// TestKoaSetCookieRemoval checks that Destroy removes both Koa cookies.
func TestKoaSetCookieRemoval(t *testing.T) {
	m, st := newManager(t, httpsession.Config{Cookie: httpsession.KoaCookie{Keys: []string{"key one"}}})
	st.put(nodeSID, `{"cookie":{"maxAge":86400000},"user":"ada"}`, time.Now().Add(time.Hour))
	res := serve(m, func(w http.ResponseWriter, r *http.Request) { httpsession.From(r.Context()).Destroy() }, "koa.sid="+nodeSID+"; koa.sid.sig="+koaSigSHA1)
	if c, sig := res.cookie("koa.sid"), res.cookie("koa.sid.sig"); c == nil || sig == nil || c.MaxAge >= 0 || sig.MaxAge >= 0 {
		t.Errorf("Destroy sent %v, want both cookies removed", res.header["Set-Cookie"])
	}
	if _, _, ok := st.row(nodeSID); ok {
		t.Error("Destroy left the row")
	}
}
