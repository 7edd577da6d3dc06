package gorillae2e

import (
	"database/sql"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/internal/dbtest"
)

// TestRenewalDuringRead signs in, starts a slow request that only reads the
// session (and saves it, as applications do), renews the token in another
// request while the slow one is held, then lets the slow one finish: its
// answer must not hand the browser the old, deleted token, so the browser
// stays signed in under the new one. The session it read is either
// unchanged and fresh, or due for its expiry to be moved.
func TestRenewalDuringRead(t *testing.T) {
	dbtest.Each(t, dbtest.Servers, func(t *testing.T, tg dbtest.Target, db *sql.DB, schema string) {
		for _, fw := range frameworks {
			for _, due := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/expiry due %t", fw.name, due), func(t *testing.T) {
					t.Parallel()
					e := newEnv(t, tg, db, schema, fw, sqlsession.Options{})
					e.want("/login", "ok")
					old := e.token(e.cookie().Value)
					if due {
						soon := time.Now().Add(time.Minute).UnixMilli()
						if _, err := db.Exec(fmt.Sprintf("UPDATE %s SET expires_at = %d", e.table, soon)); err != nil {
							t.Fatalf("moving the expiry: %v", err)
						}
					}

					id, g := newGate(t)
					type answer struct {
						code int
						body string
						err  error
					}
					slow := make(chan answer, 1)
					go func() {
						code, body, err := e.try("/slow/" + id)
						slow <- answer{code, body, err}
					}()
					select {
					case <-g.entered:
					case <-time.After(30 * time.Second):
						t.Fatal("the slow request never reached its handler")
					}

					e.want("/renew", "ok")
					renewed := e.token(e.cookie().Value)
					if renewed == old {
						t.Fatal("GET /renew kept the token")
					}

					close(g.release)
					a := <-slow
					if a.err != nil || a.code != http.StatusOK || a.body != "alice" {
						t.Fatalf("slow GET /slow = %d %q, %v, want 200 %q", a.code, a.body, a.err, "alice")
					}
					if c := e.cookie(); c == nil || e.token(c.Value) != renewed {
						got := "none"
						if c != nil {
							got = "the old token"
							if e.token(c.Value) != old {
								got = "another token"
							}
						}
						t.Errorf("after the slow read the browser holds %s, want the renewed token", got)
					}
					e.want("/whoami", "alice [admin] n=1 cart=<nil>")
					if e.live(old) || !e.live(renewed) {
						t.Errorf("old token live %t, renewed token live %t; want false, true", e.live(old), e.live(renewed))
					}
				})
			}
		}
	})
}
