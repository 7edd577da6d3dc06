// Package smoke drives an example's counter application over HTTP the way a
// browser does, for the examples' tests.
//
// Every example serves the same application:
//
//	GET  /              counts the visits of this session: "count=N user=NAME"
//	POST /login?user=X  renews the session token and stores the user: "user=X"
//	POST /logout        destroys the session: "logged out"
package smoke

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"
	"time"
)

// Anonymous is the user name GET / shows before a login.
const Anonymous = "anonymous"

// Home is the body of GET / after n visits by user.
func Home(n int, user string) string { return fmt.Sprintf("count=%d user=%s\n", n, user) }

// A browser is an HTTP client with its own cookie jar.
type browser struct {
	t      *testing.T
	base   *url.URL
	c      *http.Client
	jar    *cookiejar.Jar
	cookie string
}

func newBrowser(t *testing.T, base *url.URL, transport http.RoundTripper, cookie string) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatalf("cookiejar.New() = %v", err)
	}
	return &browser{t: t, base: base, jar: jar, cookie: cookie,
		c: &http.Client{Jar: jar, Transport: transport, Timeout: time.Minute}}
}

// do sends a request and checks its status and body.
func (b *browser) do(method, path string, wantStatus int, wantBody string) {
	b.t.Helper()
	req, err := http.NewRequest(method, b.base.String()+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	if res.StatusCode != wantStatus || (wantBody != "" && string(body) != wantBody) {
		b.t.Fatalf("%s %s = %d %q, want %d %q", method, path, res.StatusCode, body, wantStatus, wantBody)
	}
}

// session returns the value of the session cookie, "" when there is none.
func (b *browser) session() string {
	for _, c := range b.jar.Cookies(b.base) {
		if c.Name == b.cookie {
			return c.Value
		}
	}
	return ""
}

// setSession makes the browser send value as its session cookie, as a
// browser that kept an old cookie does.
func (b *browser) setSession(value string) {
	b.jar.SetCookies(b.base, []*http.Cookie{{Name: b.cookie, Value: value, Path: "/"}})
}

// Run drives the counter application served at base with the given
// transport (nil: http.DefaultTransport; a TLS test server's client
// transport for Secure cookies). cookie is the name of the session cookie.
//
// It visits twice (count 1 then 2), logs in (a new token, the count kept),
// checks that the token from before the login no longer works, logs out
// (the cookie gone) and checks that the logged-out token no longer works.
func Run(t *testing.T, base string, transport http.RoundTripper, cookie string) {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("url.Parse(%q) = %v", base, err)
	}
	b := newBrowser(t, u, transport, cookie)

	b.do("GET", "/", http.StatusOK, Home(1, Anonymous))
	first := b.session()
	if first == "" {
		t.Fatalf("no %q cookie after GET /", cookie)
	}
	b.do("GET", "/", http.StatusOK, Home(2, Anonymous))
	if got := b.session(); got != first {
		t.Errorf("the session cookie changed between two visits")
	}

	b.do("POST", "/login", http.StatusBadRequest, "")
	b.do("POST", "/login?user=alice", http.StatusOK, "user=alice\n")
	loggedIn := b.session()
	if loggedIn == "" || loggedIn == first {
		t.Fatalf("POST /login did not renew the session cookie")
	}
	b.do("GET", "/", http.StatusOK, Home(3, "alice"))

	b.do("POST", "/logout", http.StatusOK, "logged out\n")
	if got := b.session(); got != "" {
		t.Errorf("the session cookie is still there after POST /logout")
	}
	b.do("GET", "/", http.StatusOK, Home(1, Anonymous))
	if got := b.session(); got == first || got == loggedIn {
		t.Errorf("the session after POST /logout reuses an old token")
	}

	// Tokens that were renewed or destroyed open no session.
	for name, old := range map[string]string{"before login": first, "logged out": loggedIn} {
		other := newBrowser(t, u, transport, cookie)
		other.setSession(old)
		other.do("GET", "/", http.StatusOK, Home(1, Anonymous))
		if other.session() == old {
			t.Errorf("the %s cookie still names a session", name)
		}
	}
}
