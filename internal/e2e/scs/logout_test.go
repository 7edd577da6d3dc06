package scse2e_test

import (
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/alexedwards/scs/v2"
)

// gates hold slow requests inside their handlers, after scs has loaded the
// session, until the test opens them.
var gates sync.Map // gate id -> *gate

type gate struct {
	entered chan struct{} // one send per request that loaded the session
	open    chan struct{} // closed to let them finish
}

func newGate(t *testing.T, id string) *gate {
	g := &gate{entered: make(chan struct{}, 16), open: make(chan struct{})}
	gates.Store(id, g)
	t.Cleanup(func() { gates.Delete(id) })
	return g
}

func wait(r *http.Request) {
	v, ok := gates.Load(r.FormValue("gate"))
	if !ok {
		return
	}
	g := v.(*gate)
	g.entered <- struct{}{}
	<-g.open
}

func init() {
	routes = append(routes,
		// GET /slow?gate=G reads the user, waits at the gate and writes it.
		route{"GET", "/slow", func(sm *scs.SessionManager, w http.ResponseWriter, r *http.Request) error {
			user := sm.GetString(r.Context(), "user")
			wait(r)
			_, err := io.WriteString(w, user)
			return err
		}},
		// POST /slow-put?gate=G&k=K&v=V waits at the gate, then stores V under K.
		route{"POST", "/slow-put", func(sm *scs.SessionManager, w http.ResponseWriter, r *http.Request) error {
			wait(r)
			sm.Put(r.Context(), r.FormValue("k"), r.FormValue("v"))
			return nil
		}},
	)
}

// TestLogoutIsFinal logs out while four slow requests that loaded the
// session (two read-only, two writing) are still running: after they end,
// the old cookie is logged out and the session's row does not come back.
func TestLogoutIsFinal(t *testing.T) {
	for _, how := range []string{"logout", "renew"} {
		t.Run(how, func(t *testing.T) {
			eachApp(t, "net-http", func(t *testing.T, a *app) {
				c := a.client()
				c.do("POST", "/login", "user", "alice")
				old := c.token()
				id := t.Name()
				g := newGate(t, id)
				var wg sync.WaitGroup
				errs := make(chan error, 4)
				for _, req := range [][]string{
					{"GET", "/slow"}, {"GET", "/slow"}, {"POST", "/slow-put", "k", "late", "v", "1"}, {"POST", "/slow-put", "k", "late", "v", "2"},
				} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						form := append([]string{"gate", id}, req[2:]...)
						if _, err := c.try(req[0], req[1], form...); err != nil {
							errs <- err
						}
					}()
				}
				for range 4 {
					<-g.entered
				}
				// The logout (or a log-in as someone else, which renews
				// the token) completes while all four are in flight.
				other := a.client()
				other.setToken(old)
				if how == "logout" {
					other.do("POST", "/logout")
				} else {
					other.do("POST", "/login", "user", "mallory")
				}
				close(g.open)
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Errorf("slow request: %v", err)
				}
				if a.found(t, old) {
					t.Fatalf("after the slow requests ended the old session is back: resurrected")
				}
				c.setToken(old)
				if got := c.get("user"); got != "" {
					t.Fatalf("GET /get?k=user with the old cookie = %q, want logged out", got)
				}
				if got := c.get("late"); got != "" {
					t.Fatalf("GET /get?k=late with the old cookie = %q, want nothing", got)
				}
				want := int64(0)
				if how == "renew" {
					want = 1 // mallory's new session
				}
				if n := a.count(t); n != want {
					t.Fatalf("Count() = %d after the slow requests, want %d", n, want)
				}
			})
		})
	}
}
