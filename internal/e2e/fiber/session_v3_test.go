package fibere2e_test

import (
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/session"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/fiberstore"
	"github.com/sqlsession/sqlsession/internal/dbtest"
)

// v3App is a fiber v3 app with the session middleware on st. Every handler
// answers with the session's id and values (see view).
func v3App(t *testing.T, st fiber.Storage) string {
	app := fiber.New()
	app.Use(session.New(session.Config{
		Storage: st,
		// Cookies without Max-Age: the jar keeps sending an id after the
		// store let it expire, as a browser left open does.
		CookieSessionOnly: true,
		CookieHTTPOnly:    true,
	}))
	reply := func(c fiber.Ctx) error {
		sess := session.FromContext(c)
		return c.SendString(answer(sess.ID(), sess.Get("user"), sess.Get("n")))
	}
	app.Get("/whoami", reply)
	app.Post("/login", func(c fiber.Ctx) error {
		sess := session.FromContext(c)
		if err := sess.Regenerate(); err != nil {
			return err
		}
		sess.Set("user", c.Query("user"))
		return reply(c)
	})
	app.Post("/set", func(c fiber.Ctx) error {
		session.FromContext(c).Set("n", c.Query("n"))
		return reply(c)
	})
	app.Post("/brief", func(c fiber.Ctx) error {
		session.FromContext(c).Session.SetIdleTimeout(time.Second)
		return reply(c)
	})
	app.Post("/logout", func(c fiber.Ctx) error {
		sess := session.FromContext(c)
		id := sess.ID()
		if err := sess.Destroy(); err != nil {
			return err
		}
		return c.SendString(answer(id, nil, nil))
	})
	return serve(t,
		func(ln net.Listener) error {
			return app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true})
		},
		app.ShutdownWithTimeout)
}

// TestSessionV3 drives fiber v3's session middleware on fiberstore over
// HTTP, like a browser: sign in, use the session, sign out, and the ways a
// session ends early.
func TestSessionV3(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, dbtest.Servers, func(t *testing.T, tg dbtest.Target, db *sql.DB, schema string) {
		t.Parallel()
		e := newEnv(t, tg, db, schema, sqlsession.Options{})
		base := v3App(t, e.st)
		c := newClient(t, base)

		// An anonymous visit gets a session, stored under the cookie's id.
		anon := c.must(http.MethodGet, "/whoami")
		if anon.ID == "" || anon.User != "" || c.cookie("session_id") != anon.ID {
			t.Fatalf("first visit = %+v with cookie %q, want a new id in the cookie and no user", anon, c.cookie("session_id"))
		}
		if e.get(t, anon.ID) == nil {
			t.Fatalf("session %q of the first visit is not stored", anon.ID)
		}

		// Signing in moves the session to a new id; the old one is gone.
		in := c.must(http.MethodPost, "/login?user=alice")
		if in.ID == anon.ID || in.User != "alice" {
			t.Fatalf("POST /login = %+v, want user alice under a new id", in)
		}
		if got := e.get(t, anon.ID); got != nil {
			t.Errorf("pre-login session %q still stored after Regenerate", anon.ID)
		}
		if c.cookie("session_id") != in.ID {
			t.Errorf("cookie after login = %q, want %q", c.cookie("session_id"), in.ID)
		}
		if got := c.must(http.MethodGet, "/whoami"); got != (view{in.ID, "alice", ""}) {
			t.Errorf("GET /whoami after login = %+v, want %+v", got, view{in.ID, "alice", ""})
		}

		// Values written in one request are read in the next, and replaced.
		for _, n := range []string{"1", "2"} {
			c.must(http.MethodPost, "/set?n="+n)
			if got := c.must(http.MethodGet, "/whoami"); got != (view{in.ID, "alice", n}) {
				t.Errorf("GET /whoami after n=%s = %+v, want %+v", n, got, view{in.ID, "alice", n})
			}
		}
		for key, want := range map[string]string{"user": "alice", "n": "2"} {
			if got, err := fiberstore.Value(key)(e.get(t, in.ID)); got != want || err != nil {
				t.Errorf("Value(%q) of the stored session = %q, %v, want %q, nil", key, got, err, want)
			}
		}

		// A tampered or forged cookie gets a fresh session; the real one is
		// untouched.
		for _, cookie := range []string{
			tamper(in.ID),
			strings.Repeat("a", sqlsession.MaxTokenLength+45),
			"not a token",
			"sessión",
		} {
			forger := newClient(t, base)
			got := forger.mustCookie(http.MethodGet, "/whoami", "session_id="+cookie)
			if got.ID == cookie || got.ID == in.ID || got.User != "" || got.N != "" {
				t.Errorf("GET /whoami with cookie %q = %+v, want a fresh session", cookie, got)
			}
		}
		if got := c.must(http.MethodGet, "/whoami"); got.ID != in.ID || got.User != "alice" {
			t.Errorf("GET /whoami after the forgeries = %+v, want alice's session %q", got, in.ID)
		}

		// One client, 32 requests at once, reading and writing: no errors.
		var wg sync.WaitGroup
		errs := make(chan error, 32)
		for i := range 32 {
			wg.Go(func() {
				method, path := http.MethodGet, "/whoami"
				if i%2 == 1 {
					method, path = http.MethodPost, fmt.Sprintf("/set?n=%d", i)
				}
				status, body, err := c.do(method, path, "")
				switch {
				case err != nil:
					errs <- fmt.Errorf("%s %s: %v", method, path, err)
				case status != http.StatusOK || !strings.Contains(body, "user=alice"):
					errs <- fmt.Errorf("%s %s = %d %q, want 200 with user alice", method, path, status, body)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}

		// Signing out deletes the row and the cookie; the next visit is new.
		out := c.must(http.MethodPost, "/logout")
		if out.ID != in.ID {
			t.Errorf("POST /logout destroyed %q, want %q", out.ID, in.ID)
		}
		if got := e.get(t, in.ID); got != nil {
			t.Errorf("session %q still stored after Destroy", in.ID)
		}
		if ck := c.cookie("session_id"); ck != "" {
			t.Errorf("cookie after logout = %q, want none", ck)
		}
		if got := c.must(http.MethodGet, "/whoami"); got.ID == in.ID || got.User != "" {
			t.Errorf("GET /whoami after logout = %+v, want a fresh session", got)
		}

		// A session that expired in the store is not revived by its cookie.
		bob := c.must(http.MethodPost, "/login?user=bob")
		c.must(http.MethodPost, "/brief") // saved with fiber's exp of 1s
		time.Sleep(1200 * time.Millisecond)
		if got := e.get(t, bob.ID); got != nil {
			t.Errorf("session %q still stored after its 1s idle timeout", bob.ID)
		}
		if ck := c.cookie("session_id"); ck != bob.ID {
			t.Fatalf("cookie = %q, want the expired %q still sent", ck, bob.ID)
		}
		if got := c.must(http.MethodGet, "/whoami"); got.ID == bob.ID || got.User != "" {
			t.Errorf("GET /whoami with an expired session = %+v, want a fresh session", got)
		}
	})
}

// TestOwnerV3 sets Options.Owner to fiberstore.Value, so that the Store
// knows whose sessions fiber v3 keeps, and revokes them while the browsers
// are signed in.
func TestOwnerV3(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, dbtest.Servers, func(t *testing.T, tg dbtest.Target, db *sql.DB, schema string) {
		t.Parallel()
		e := newEnv(t, tg, db, schema, sqlsession.Options{Owner: fiberstore.Value("user")})
		base := v3App(t, e.st)
		laptop, phone, other := newClient(t, base), newClient(t, base), newClient(t, base)
		anon := other.must(http.MethodGet, "/whoami")
		onLaptop := laptop.must(http.MethodPost, "/login?user=alice")
		phone.must(http.MethodPost, "/login?user=alice")
		bob := other.must(http.MethodPost, "/login?user=bob")

		list := func(owner string) []sqlsession.Info {
			t.Helper()
			infos, err := e.s.ListByOwner(testCtx(t), owner)
			if err != nil {
				t.Fatalf("ListByOwner(%q) = %v", owner, err)
			}
			return infos
		}
		if got := len(list("alice")); got != 2 {
			t.Errorf("ListByOwner(alice) = %d sessions, want 2", got)
		}
		if got := list("bob"); len(got) != 1 || got[0].ID != e.s.SessionID(bob.ID) {
			t.Errorf("ListByOwner(bob) = %+v, want the session of %q", got, bob.ID)
		}
		if e.get(t, anon.ID) != nil {
			t.Errorf("anonymous session %q outlived the login that replaced it", anon.ID)
		}

		// "Sign out my other devices" from the laptop.
		n, err := e.s.DeleteOthers(testCtx(t), "alice", onLaptop.ID)
		if n != 1 || err != nil {
			t.Errorf("DeleteOthers(alice, laptop) = %d, %v, want 1, nil", n, err)
		}
		if got := phone.must(http.MethodGet, "/whoami"); got.User != "" {
			t.Errorf("phone after DeleteOthers = %+v, want signed out", got)
		}
		if got := laptop.must(http.MethodGet, "/whoami"); got.User != "alice" {
			t.Errorf("laptop after DeleteOthers = %+v, want alice", got)
		}

		// "Sign out everywhere".
		n, err = e.s.DeleteByOwner(testCtx(t), "alice")
		if n != 1 || err != nil {
			t.Errorf("DeleteByOwner(alice) = %d, %v, want 1, nil", n, err)
		}
		if got := laptop.must(http.MethodGet, "/whoami"); got.User != "" {
			t.Errorf("laptop after DeleteByOwner = %+v, want signed out", got)
		}
		if got := other.must(http.MethodGet, "/whoami"); got.User != "bob" {
			t.Errorf("bob after DeleteByOwner(alice) = %+v, want bob still signed in", got)
		}

		// Values that are not fiber sessions fail the Save under Owner: the
		// limiter's or CSRF's storage needs a Store of its own.
		if err := e.st.Set("203.0.113.7", []byte("limiter state"), time.Minute); err == nil {
			t.Errorf("Set of non-session data with Owner = nil, want a decoding error")
		}
	})
}
