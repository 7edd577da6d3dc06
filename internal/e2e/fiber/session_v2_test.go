package fibere2e_test

import (
	"database/sql"
	"net/http"
	"testing"

	fiberv2 "github.com/gofiber/fiber/v2"
	sessionv2 "github.com/gofiber/fiber/v2/middleware/session"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/fiberstore"
	"github.com/sqlsession/sqlsession/internal/dbtest"
)

// v2App is a fiber v2 app with the session middleware on st, which it takes
// as fiber v2's Storage. Handlers answer as v3App's do.
func v2App(t *testing.T, st fiberv2.Storage) string {
	store := sessionv2.New(sessionv2.Config{Storage: st, CookieSessionOnly: true})
	app := fiberv2.New(fiberv2.Config{DisableStartupMessage: true})
	// handle runs fn on the request's session and saves it unless fn
	// destroyed it.
	handle := func(fn func(c *fiberv2.Ctx, sess *sessionv2.Session) (save bool, err error)) fiberv2.Handler {
		return func(c *fiberv2.Ctx) error {
			sess, err := store.Get(c)
			if err != nil {
				return err
			}
			id := sess.ID()
			user, n := sess.Get("user"), sess.Get("n")
			save, err := fn(c, sess)
			if err != nil {
				return err
			}
			if save {
				id, user, n = sess.ID(), sess.Get("user"), sess.Get("n")
				if err := sess.Save(); err != nil {
					return err
				}
			}
			return c.SendString(answer(id, user, n))
		}
	}
	app.Get("/whoami", handle(func(*fiberv2.Ctx, *sessionv2.Session) (bool, error) { return false, nil }))
	app.Post("/login", handle(func(c *fiberv2.Ctx, sess *sessionv2.Session) (bool, error) {
		if err := sess.Regenerate(); err != nil {
			return false, err
		}
		sess.Set("user", c.Query("user"))
		return true, nil
	}))
	app.Post("/logout", handle(func(_ *fiberv2.Ctx, sess *sessionv2.Session) (bool, error) {
		return false, sess.Destroy()
	}))
	return serve(t, app.Listener, app.ShutdownWithTimeout)
}

// TestSessionV2 runs fiber v2's session middleware, which knows no context
// methods, on the same Storage, with fiberstore.Value as the Owner hook:
// sign in, read back, sign out.
func TestSessionV2(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, dbtest.Servers, func(t *testing.T, tg dbtest.Target, db *sql.DB, schema string) {
		t.Parallel()
		e := newEnv(t, tg, db, schema, sqlsession.Options{Owner: fiberstore.Value("user")})
		c := newClient(t, v2App(t, e.st))

		anon := c.must(http.MethodGet, "/whoami")
		in := c.must(http.MethodPost, "/login?user=alice")
		if in.ID == "" || in.ID == anon.ID || in.User != "alice" {
			t.Fatalf("POST /login = %+v, want user alice under a new id", in)
		}
		if c.cookie("session_id") != in.ID {
			t.Errorf("cookie after login = %q, want %q", c.cookie("session_id"), in.ID)
		}
		data := e.get(t, in.ID)
		if data == nil {
			t.Fatalf("session %q is not stored", in.ID)
		}
		// fiber v2 encodes its session map differently from v3.
		if got, err := fiberstore.Value("user")(data); got != "alice" || err != nil {
			t.Errorf("Value(user) of fiber v2's data = %q, %v, want alice, nil", got, err)
		}
		if infos, err := e.s.ListByOwner(testCtx(t), "alice"); len(infos) != 1 || err != nil {
			t.Errorf("ListByOwner(alice) = %d sessions, %v, want 1, nil", len(infos), err)
		}
		if got := c.must(http.MethodGet, "/whoami"); got != (view{in.ID, "alice", ""}) {
			t.Errorf("GET /whoami after login = %+v, want %+v", got, view{in.ID, "alice", ""})
		}

		c.must(http.MethodPost, "/logout")
		if got := e.get(t, in.ID); got != nil {
			t.Errorf("session %q still stored after Destroy", in.ID)
		}
		if got := c.must(http.MethodGet, "/whoami"); got.ID == in.ID || got.User != "" {
			t.Errorf("GET /whoami after logout = %+v, want a fresh session", got)
		}
	})
}
