package demo_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession/cmd/sqlsession/internal/demo"
	"github.com/sqlsession/sqlsession/cmd/sqlsession/internal/testdb"
	"github.com/sqlsession/sqlsession/internal/testenv"
)

// server is the demo on a test database, over real HTTP.
type server struct {
	t   *testing.T
	app *demo.App
	srv *httptest.Server
}

// start serves the demo on table of db (and schema). Server errors fail the
// test.
func start(t *testing.T, tg testdb.Target, db *sql.DB, schema, table string) *server {
	t.Helper()
	log := slog.New(slog.NewTextHandler(failWriter{t}, nil))
	app, err := demo.New(db, tg.Dialect, demo.Options{Table: table, Schema: schema, Logger: log})
	if err != nil {
		t.Fatalf("demo.New() = %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := app.CreateTable(ctx); err != nil {
		t.Fatalf("CreateTable() = %v", err)
	}
	s := &server{t: t, app: app, srv: httptest.NewServer(app)}
	t.Cleanup(s.stop)
	return s
}

func (s *server) stop() {
	s.srv.Close()
	s.app.Close()
}

// failWriter fails the test with whatever the demo logs: only server
// errors are logged.
type failWriter struct{ t *testing.T }

func (w failWriter) Write(p []byte) (int, error) {
	w.t.Errorf("demo logged: %s", p)
	return len(p), nil
}

// each runs fn on every test database with a fresh table for the demo.
func each(t *testing.T, fn func(t *testing.T, tg testdb.Target, db *sql.DB, schema, table string)) {
	testdb.Each(t, testdb.Servers, func(t *testing.T, tg testdb.Target, db *sql.DB, schema string) {
		table := testenv.Name("demo")
		t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + testdb.QuotedTable(tg.Dialect, schema, table)) })
		fn(t, tg, db, schema, table)
	})
}

// browser is one device: an HTTP client with its own cookies and user
// agent. It does not follow redirects, so that each response is seen.
type browser struct {
	t     *testing.T
	c     *http.Client
	jar   *cookiejar.Jar
	agent string
}

func (s *server) browser(agent string) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		s.t.Fatal(err)
	}
	return &browser{t: s.t, jar: jar, agent: agent, c: &http.Client{
		Jar:           jar,
		Timeout:       time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// do sends a request and returns the response with its body read.
func (b *browser) do(method, u string, form url.Values, header ...string) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("User-Agent", b.agent)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return res, string(data)
}

// get loads a page, following one redirect, and returns its HTML.
func (b *browser) get(s *server, path string) string {
	b.t.Helper()
	res, body := b.do("GET", s.srv.URL+path, nil)
	if res.StatusCode == http.StatusSeeOther {
		res, body = b.do("GET", s.srv.URL+res.Header.Get("Location"), nil)
	}
	if res.StatusCode != http.StatusOK {
		b.t.Fatalf("GET %s = %s: %s", path, res.Status, body)
	}
	return body
}

// post submits a form and checks that it redirects.
func (b *browser) post(s *server, path string, kv ...string) *http.Response {
	b.t.Helper()
	form := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		form.Set(kv[i], kv[i+1])
	}
	res, body := b.do("POST", s.srv.URL+path, form)
	if res.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("POST %s = %s, want 303: %s", path, res.Status, body)
	}
	return res
}

func (b *browser) cookie(s *server) *http.Cookie {
	u, _ := url.Parse(s.srv.URL)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == "sqlsession_demo" {
			return c
		}
	}
	return nil
}

var (
	deviceRow = regexp.MustCompile(`<tr data-device-id="([^"]+)"( class="current")?>`)
	agents    = map[string]string{
		"laptop": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"phone":  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
		"tablet": "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
	}
)

type row struct {
	id      string
	current bool
}

// devices returns the rows of "Your devices".
func devices(html string) []row {
	var rows []row
	for _, m := range deviceRow.FindAllStringSubmatch(html, -1) {
		rows = append(rows, row{m[1], m[2] != ""})
	}
	return rows
}

// TestDevices signs in as one user on three devices, lists them, logs one
// out and then all the others.
func TestDevices(t *testing.T) {
	each(t, func(t *testing.T, tg testdb.Target, db *sql.DB, schema, table string) {
		s := start(t, tg, db, schema, table)
		laptop, phone, tablet := s.browser(agents["laptop"]), s.browser(agents["phone"]), s.browser(agents["tablet"])
		for _, b := range []*browser{laptop, phone, tablet} {
			b.post(s, "/login", "name", "ada")
			if html := b.get(s, "/"); !strings.Contains(html, "Hello, ada.") || !strings.Contains(html, "Signed in as ada.") {
				t.Fatalf("home after sign-in:\n%s\nwant a greeting and a flash", html)
			}
		}
		other := s.browser(agents["laptop"])
		other.post(s, "/login", "name", "grace")

		html := laptop.get(s, "/devices")
		rows := devices(html)
		if len(rows) != 3 || !rows[0].current || rows[1].current || rows[2].current {
			t.Fatalf("devices of ada = %+v, want 3 with the first current", rows)
		}
		for _, want := range []string{"Chrome 131 on Linux", "Chrome 131 on Android", "Safari 17 on iPad", "This device", "Revoke all other devices", ">Revoke</button>", "just now", "in 7 days"} {
			if !strings.Contains(html, want) {
				t.Errorf("devices page lacks %q:\n%s", want, html)
			}
		}
		if id := s.app.Store().SessionID(laptop.cookie(s).Value); rows[0].id != id {
			t.Errorf("current device %s, want the laptop's session %s", rows[0].id, id)
		}

		// Log out the phone from the laptop.
		phoneID := s.app.Store().SessionID(phone.cookie(s).Value)
		laptop.post(s, "/devices/logout", "id", phoneID)
		if html := laptop.get(s, "/devices"); len(devices(html)) != 2 || !strings.Contains(html, "Revoked 1 device: it is signed out.") {
			t.Errorf("devices after revoking the phone: %+v, want 2 and a flash", devices(html))
		}
		// The phone lands on the sign-in page, told why, once.
		if html := phone.get(s, "/devices"); !strings.Contains(html, "Sign in") || strings.Contains(html, "Hello") || !strings.Contains(html, "signed out from another device") {
			t.Errorf("phone after being revoked shows:\n%s\nwant the sign-in form and why", html)
		}
		if phone.cookie(s) != nil {
			t.Errorf("phone still has the cookie of its revoked session")
		}
		if html := phone.get(s, "/"); strings.Contains(html, "signed out from another device") {
			t.Errorf("phone is told it was revoked a second time")
		}
		// An ID of another user's session is refused, whoever sends it.
		graceID := s.app.Store().SessionID(other.cookie(s).Value)
		laptop.post(s, "/devices/logout", "id", graceID)
		if html := other.get(s, "/"); !strings.Contains(html, "Hello, grace.") {
			t.Errorf("grace was logged out by ada's form")
		}

		phone.post(s, "/login", "name", "ada")
		laptop.post(s, "/devices/logout-others")
		if html := laptop.get(s, "/devices"); len(devices(html)) != 1 || !strings.Contains(html, "Revoked 2 other devices: they are signed out.") {
			t.Errorf("devices after logging out the others: %+v, want 1 and a flash", devices(html))
		}
		for name, b := range map[string]*browser{"phone": phone, "tablet": tablet} {
			if html := b.get(s, "/devices"); !strings.Contains(html, "Sign in") {
				t.Errorf("%s after logout-others is not signed out", name)
			}
		}

		// Logging out this device from its own row is a logout, and
		// logging out here is no news to tell.
		laptop.post(s, "/devices/logout", "id", s.app.Store().SessionID(laptop.cookie(s).Value))
		if html := laptop.get(s, "/"); !strings.Contains(html, "Sign in") || strings.Contains(html, "signed out from another device") {
			t.Errorf("laptop after logging its own row out: want the sign-in form and no notice")
		}
		grace := s.browser(agents["tablet"])
		grace.post(s, "/login", "name", "grace")
		grace.post(s, "/logout")
		if html := grace.get(s, "/"); strings.Contains(html, "signed out from another device") {
			t.Errorf("a device that logged itself out is told it was revoked")
		}
		if infos, err := s.app.Store().ListByOwner(t.Context(), "ada"); len(infos) != 0 || err != nil {
			t.Errorf("ListByOwner(ada) at the end = %d sessions, %v, want none", len(infos), err)
		}
	})
}

// TestCounterSurvivesRestart counts, stops the demo and starts it again on
// the same table: the count is still there.
func TestCounterSurvivesRestart(t *testing.T) {
	each(t, func(t *testing.T, tg testdb.Target, db *sql.DB, schema, table string) {
		s := start(t, tg, db, schema, table)
		b := s.browser(agents["laptop"])
		b.post(s, "/login", "name", "ada")
		for range 3 {
			b.post(s, "/count")
		}
		cookie := b.cookie(s)
		s.stop()

		s2 := start(t, tg, db, schema, table)
		b2 := s2.browser(agents["laptop"])
		u, _ := url.Parse(s2.srv.URL)
		b2.jar.SetCookies(u, []*http.Cookie{{Name: cookie.Name, Value: cookie.Value, Path: "/"}})
		if html := b2.get(s2, "/"); !strings.Contains(html, `<p class="count" id="count">3</p>`) {
			t.Errorf("home after a restart:\n%s\nwant the count 3", html)
		}
	})
}

// TestSecurity checks the cookie's attributes, the token renewal at
// sign-in, and that state changes need a same-origin POST.
func TestSecurity(t *testing.T) {
	testdb.Each(t, testdb.Servers[:1], func(t *testing.T, tg testdb.Target, db *sql.DB, schema string) {
		s := start(t, tg, db, schema, demo.DefaultTable)
		b := s.browser(agents["laptop"])

		// Nothing is stored for a visitor who has not signed in.
		if b.get(s, "/"); b.cookie(s) != nil {
			t.Errorf("a visit set a cookie before sign-in")
		}
		res := b.post(s, "/login", "name", "ada")
		set := res.Header.Get("Set-Cookie")
		for _, want := range []string{"sqlsession_demo=", "HttpOnly", "SameSite=Lax", "Path=/", "Expires="} {
			if !strings.Contains(set, want) {
				t.Errorf("Set-Cookie %q lacks %q", set, want)
			}
		}
		if strings.Contains(set, "Secure") {
			t.Errorf("Set-Cookie %q is Secure on plain HTTP", set)
		}
		first := b.cookie(s).Value
		b.post(s, "/login", "name", "grace")
		if second := b.cookie(s).Value; second == first {
			t.Errorf("signing in again kept the token")
		}
		if _, found, err := s.app.Store().Find(t.Context(), first); found || err != nil {
			t.Errorf("Find(token before sign-in) = %v, %v, want false, nil", found, err)
		}

		login := url.Values{"name": {"mallory"}}
		tests := []struct {
			name   string
			method string
			path   string
			header []string
			want   int
		}{
			{"cross-site fetch", "POST", "/login", []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
			{"cross-origin", "POST", "/logout", []string{"Origin", "http://evil.example"}, http.StatusForbidden},
			{"same-origin", "POST", "/count", []string{"Sec-Fetch-Site", "same-origin"}, http.StatusSeeOther},
			{"GET logout", "GET", "/logout", nil, http.StatusMethodNotAllowed},
			{"GET count", "GET", "/count", nil, http.StatusMethodNotAllowed},
			{"unknown page", "GET", "/admin", nil, http.StatusNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var form url.Values
				if tt.method == "POST" {
					form = login
				}
				res, _ := b.do(tt.method, s.srv.URL+tt.path, form, tt.header...)
				if res.StatusCode != tt.want {
					t.Errorf("%s %s with %q = %d, want %d", tt.method, tt.path, tt.header, res.StatusCode, tt.want)
				}
			})
		}
		if html := b.get(s, "/"); !strings.Contains(html, "Hello, grace.") {
			t.Errorf("refused requests changed the session")
		}

		res, _ = b.do("GET", s.srv.URL+"/", nil)
		for h, want := range map[string]string{
			"Content-Security-Policy": "frame-ancestors 'none'",
			"X-Content-Type-Options":  "nosniff",
			"Cache-Control":           "no-store",
		} {
			if got := res.Header.Get(h); !strings.Contains(got, want) {
				t.Errorf("header %s = %q, want %q", h, got, want)
			}
		}
	})
}

// TestSignInNames checks the names the sign-in form refuses.
func TestSignInNames(t *testing.T) {
	testdb.Each(t, testdb.Servers[:1], func(t *testing.T, tg testdb.Target, db *sql.DB, schema string) {
		s := start(t, tg, db, schema, demo.DefaultTable)
		b := s.browser("")
		tests := []struct{ name, in, want string }{
			{"empty", "  ", "Type a name"},
			{"too long", strings.Repeat("x", 41), "at most 40"},
			{"control", "a\x00b", "letters, digits"},
		}
		for _, tt := range tests {
			res, html := b.do("POST", s.srv.URL+"/login", url.Values{"name": {tt.in}})
			if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(html, tt.want) {
				t.Errorf("%s: POST /login = %d, want 422 with %q", tt.name, res.StatusCode, tt.want)
			}
		}
		if n, err := s.app.Store().Count(t.Context()); n != 0 || err != nil {
			t.Errorf("Count() after refused sign-ins = %d, %v, want 0", n, err)
		}
		b.post(s, "/login", "name", "Zoë ⛵")
		if html := b.get(s, "/"); !strings.Contains(html, "Hello, Zoë ⛵.") {
			t.Errorf("a name with non-ASCII letters was not greeted")
		}
		if html := b.get(s, "/devices"); !strings.Contains(html, "Unknown device") {
			t.Errorf("a session without a user agent is not an unknown device:\n%s", html)
		}
	})
}
