package fibere2e_test

import (
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/session"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/internal/dbtest"
)

// slowGate holds slow requests inside their handlers, after fiber's
// session middleware has loaded the session, until the test opens it.
type slowGate struct {
	entered chan struct{} // one send per request that loaded the session
	open    chan struct{} // closed to let them finish
}

// slowGates holds the gates of the running tests, by id.
var slowGates sync.Map

func newSlowGate(t *testing.T) (string, *slowGate) {
	id := fmt.Sprintf("%p", t)
	g := &slowGate{entered: make(chan struct{}, 16), open: make(chan struct{})}
	slowGates.Store(id, g)
	t.Cleanup(func() { slowGates.Delete(id) })
	return id, g
}

// hold waits at the gate named by the request's "gate" query parameter.
func hold(c fiber.Ctx) {
	v, ok := slowGates.Load(c.Query("gate"))
	if !ok {
		return
	}
	g := v.(*slowGate)
	g.entered <- struct{}{}
	<-g.open
}

// logoutApp is a fiber v3 app with the session middleware on st, with the
// routes of v3App that TestLogoutIsFinal needs plus slow ones and a renewal.
func logoutApp(t *testing.T, st fiber.Storage) string {
	app := fiber.New()
	app.Use(session.New(session.Config{Storage: st, CookieSessionOnly: true, CookieHTTPOnly: true}))
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
	// POST /renew gives the session a new id, keeping its values.
	app.Post("/renew", func(c fiber.Ctx) error {
		if err := session.FromContext(c).Regenerate(); err != nil {
			return err
		}
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
	// GET /slow?gate=G reads the user, waits at the gate and answers it;
	// the middleware then sets the unchanged session.
	app.Get("/slow", func(c fiber.Ctx) error {
		sess := session.FromContext(c)
		user, _ := sess.Get("user").(string)
		hold(c)
		return c.SendString(user)
	})
	// POST /slow-put?gate=G reads the user, waits at the gate, then
	// changes the session; the middleware sets it.
	app.Post("/slow-put", func(c fiber.Ctx) error {
		sess := session.FromContext(c)
		user, _ := sess.Get("user").(string)
		hold(c)
		sess.Set("late", c.Query("gate"))
		return c.SendString(user)
	})
	return serve(t,
		func(ln net.Listener) error {
			return app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true})
		},
		app.ShutdownWithTimeout)
}

// TestLogoutIsFinal signs in, starts four slow requests of the browser
// that load the session (two read-only, two that change it; fiber's
// middleware sets all four when they end), and logs the session out, or
// renews its id as a log-in elsewhere does, while all four are held. After
// they end the old session's row is gone, not re-created by the writing
// ones, and its cookie is signed out; a renewed session keeps its values
// under its new id.
//
// fiber's middleware sets the session cookie before it calls Set, so the
// slow answers hand the browser the old id again: the browser is then
// signed out, whatever the Storage does.
func TestLogoutIsFinal(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"logout", "renew"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			dbtest.Each(t, dbtest.Servers, func(t *testing.T, tg dbtest.Target, db *sql.DB, schema string) {
				t.Parallel()
				e := newEnv(t, tg, db, schema, sqlsession.Options{})
				base := logoutApp(t, e.st)
				c := newClient(t, base)
				in := c.must(http.MethodPost, "/login?user=alice")
				old := in.ID
				if old == "" || e.get(t, old) == nil {
					t.Fatalf("POST /login = %+v, want a stored session", in)
				}

				gate, g := newSlowGate(t)
				var wg sync.WaitGroup
				errs := make(chan error, 4)
				for _, req := range [][2]string{
					{http.MethodGet, "/slow"}, {http.MethodGet, "/slow"},
					{http.MethodPost, "/slow-put"}, {http.MethodPost, "/slow-put"},
				} {
					wg.Go(func() {
						status, body, err := c.do(req[0], req[1]+"?gate="+gate, "")
						if err != nil || status != http.StatusOK || body != "alice" {
							errs <- fmt.Errorf("slow %s %s = %d %q, %v, want 200 %q", req[0], req[1], status, body, err, "alice")
						}
					})
				}
				for i := range 4 {
					select {
					case <-g.entered:
					case <-time.After(30 * time.Second):
						t.Fatalf("%d of the 4 slow requests reached their handler", i)
					}
				}

				// The log-out, or a renewal, completes while all four are
				// in flight, from another client holding the same cookie.
				other := newClient(t, base)
				renewed := ""
				switch how {
				case "logout":
					if out := other.mustCookie(http.MethodPost, "/logout", "session_id="+old); out.ID != old {
						t.Fatalf("POST /logout destroyed %q, want %q", out.ID, old)
					}
				case "renew":
					got := other.mustCookie(http.MethodPost, "/renew", "session_id="+old)
					if got.ID == old || got.ID == "" || got.User != "alice" {
						t.Fatalf("POST /renew = %+v, want alice under a new id", got)
					}
					renewed = got.ID
				}

				close(g.open)
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Error(err)
				}

				if got := e.get(t, old); got != nil {
					t.Errorf("the old session %q is stored again after the slow requests: resurrected", old)
				}
				var want int64 // the renewed session, if any
				if renewed != "" {
					want = 1
				}
				if n := e.count(t); n != want {
					t.Errorf("Count() after the slow requests = %d, want %d", n, want)
				}

				// The old cookie is signed out: it gets a fresh session.
				replay := newClient(t, base)
				if got := replay.mustCookie(http.MethodGet, "/whoami", "session_id="+old); got.ID == old || got.User != "" {
					t.Errorf("GET /whoami with the old cookie = %+v, want a fresh session", got)
				}
				if got := e.get(t, old); got != nil {
					t.Errorf("the old session %q is stored after its cookie was replayed", old)
				}
				if got := c.must(http.MethodGet, "/whoami"); got.User != "" {
					t.Errorf("GET /whoami in the browser of the slow requests = %+v, want signed out", got)
				}
				if renewed != "" {
					if got := other.must(http.MethodGet, "/whoami"); got != (view{renewed, "alice", ""}) {
						t.Errorf("GET /whoami with the renewed id = %+v, want %+v", got, view{renewed, "alice", ""})
					}
				}
			})
		})
	}
}
