package gorillae2e

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/internal/dbtest"
)

// TestLogoutIsFinal signs in, starts four slow requests of the same browser
// that load the session (two only read it, two change it, and all four
// save it), logs out (or renews the token, as at a change of privileges)
// while all four are held, then lets them finish. Afterwards the old
// cookie is signed out, the old session's row is gone (no slow request
// brought it back), and the browser holds what the log-out or the renewal
// gave it: no cookie, or the renewed token with its session.
func TestLogoutIsFinal(t *testing.T) {
	dbtest.Each(t, dbtest.Servers, func(t *testing.T, tg dbtest.Target, db *sql.DB, schema string) {
		for _, fw := range frameworks {
			for _, how := range []string{"logout", "renew"} {
				t.Run(fw.name+"/"+how, func(t *testing.T) {
					t.Parallel()
					e := newEnv(t, tg, db, schema, fw, sqlsession.Options{})
					e.want("/login", "ok")
					oldCookie := e.cookie().Value
					old := e.token(oldCookie)

					slow := []string{"slow", "slow", "slow-put", "slow-put"}
					gs := make([]*gate, len(slow))
					errs := make(chan error, len(slow))
					var wg sync.WaitGroup
					for i, kind := range slow {
						id := fmt.Sprintf("%p-%d", t, i)
						gs[i] = &gate{entered: make(chan struct{}), release: make(chan struct{})}
						gates.Store(id, gs[i])
						t.Cleanup(func() { gates.Delete(id) })
						path := "/" + kind + "/" + id
						wg.Go(func() {
							code, body, err := e.try(path)
							if err != nil || code != http.StatusOK || body != "alice" {
								errs <- fmt.Errorf("slow GET %s = %d %q, %v, want 200 %q", path, code, body, err, "alice")
							}
						})
					}
					for i, g := range gs {
						select {
						case <-g.entered:
						case <-time.After(30 * time.Second):
							t.Fatalf("slow request %d never reached its handler", i)
						}
					}

					// The log-out or the renewal completes while all four
					// requests hold the session they loaded.
					e.want("/"+how, "ok")
					renewed := ""
					if how == "renew" {
						c := e.cookie()
						if c == nil || e.token(c.Value) == old {
							t.Fatal("GET /renew gave the browser no new token")
						}
						renewed = e.token(c.Value)
					}

					for _, g := range gs {
						close(g.release)
					}
					wg.Wait()
					close(errs)
					for err := range errs {
						t.Error(err)
					}

					if e.live(old) {
						t.Errorf("the old session is live after the slow requests: resurrected")
					}
					var live int64 // the renewed session, if any
					if how == "renew" {
						live = 1
					}
					if n, err := e.sql.Count(context.Background()); err != nil || n != live {
						t.Errorf("Count() after the slow requests = %d, %v, want %d", n, err, live)
					}

					// The browser keeps what the log-out or renewal gave it.
					c := e.cookie()
					switch {
					case how == "logout" && c != nil:
						t.Errorf("after the log-out and the slow requests the browser holds a session cookie (token is the old one: %t), want none",
							e.token(c.Value) == old)
					case how == "renew" && (c == nil || e.token(c.Value) != renewed):
						t.Errorf("after the renewal and the slow requests the browser holds %v, want the renewed token", describe(e, c, old))
					}
					want := "anonymous"
					if how == "renew" {
						want = "alice [admin] n=1 cart=<nil>"
					}
					e.want("/whoami", want)

					// The old cookie, replayed, names no session.
					replay := e.browser()
					replay.setCookie(oldCookie)
					replay.want("/whoami", "anonymous")
					if replay.live(old) {
						t.Errorf("the old session is live after replaying its cookie")
					}
				})
			}
		}
	})
}

// describe says which session cookie a browser holds, for messages.
func describe(e *env, c *http.Cookie, old string) string {
	switch {
	case c == nil:
		return "no cookie"
	case e.token(c.Value) == old:
		return "the old token"
	}
	return "another token"
}
