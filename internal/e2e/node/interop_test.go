package nodee2e_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession/httpsession"
)

// checkNodeCookie checks that the stored session's cookie object is one the
// Node side reads as its own: express-session's originalMaxAge and expires
// (an ISO time in UTC, or null with originalMaxAge null), koa's maxAge.
func checkNodeCookie(t *testing.T, e *env, data string) {
	t.Helper()
	f, err := fields(data)
	if err != nil {
		t.Errorf("stored data %q: %v", data, err)
		return
	}
	var c map[string]any
	if err := json.Unmarshal(f["cookie"], &c); err != nil {
		t.Errorf("stored data %s: the cookie object: %v", data, err)
		return
	}
	if e.p.koa {
		if ms, ok := c["maxAge"].(float64); !ok || ms <= 0 || c["expires"] != nil {
			t.Errorf("stored cookie %s: want koa-generic-session's maxAge (ms) and no expires", f["cookie"])
		}
		return
	}
	switch exp := c["expires"].(type) {
	case nil:
		if c["originalMaxAge"] != nil {
			t.Errorf("stored cookie %s: expires null but originalMaxAge set", f["cookie"])
		}
	case string:
		if _, err := time.Parse(time.RFC3339Nano, exp); err != nil || !strings.HasSuffix(exp, "Z") {
			t.Errorf("stored cookie %s: expires is not an ISO time in UTC", f["cookie"])
		}
		if ms, ok := c["originalMaxAge"].(float64); !ok || ms <= 0 {
			t.Errorf("stored cookie %s: expires set but no originalMaxAge", f["cookie"])
		}
	default:
		t.Errorf("stored cookie %s: expires is a %T", f["cookie"], exp)
	}
}

// sameKeys checks that every key of before but skip is in after with the
// same JSON text, byte for byte.
func sameKeys(t *testing.T, before, after string, skip ...string) {
	t.Helper()
	b, err1 := fields(before)
	a, err2 := fields(after)
	if err1 != nil || err2 != nil {
		t.Errorf("stored data before %q (%v), after %q (%v)", before, err1, after, err2)
		return
	}
	for k, v := range b {
		if slices.Contains(skip, k) {
			continue
		}
		if string(a[k]) != string(v) {
			t.Errorf("key %q was %s, is %s: the other side's keys must be kept byte for byte\nbefore: %s\nafter:  %s", k, v, a[k], before, after)
		}
	}
}

// testNodeThenGo signs in on Node: Go sees the user, Go changes one key,
// Node sees it with its own keys intact, Node signs out, Go sees it.
func testNodeThenGo(t *testing.T, e *env, node *nodeApp, g *goApp) {
	b := newBrowser(t)
	b.want("POST", node.url, "/login?user=ada", "ok")
	b.want("POST", node.url, "/set?k=color&v=red", "ok")
	sid := sidOf(b, e.p.koa, secrets[:1])
	before, ok := e.tb.row(t, sid)
	if !ok {
		t.Fatalf("no row for the Node session %q", sid)
	}

	b.want("GET", g.url, "/whoami", "user=ada")
	b.want("GET", g.url, "/get?k=node", "1")
	b.want("POST", g.url, "/set?k=color&v=blue", "ok")
	if got := sidOf(b, e.p.koa, secrets[:1]); got != sid {
		t.Errorf("after Go's write, the cookie's session is %q, want Node's %q", got, sid)
	}
	after, ok := e.tb.row(t, sid)
	if !ok {
		t.Fatalf("Go's write removed the row of %q", sid)
	}
	sameKeys(t, before, after, "color", "cookie")
	checkNodeCookie(t, e, after)
	if f, _ := fields(after); len(f) != 4 { // cookie, user, node, color
		t.Errorf("stored data after Go's write = %s, want cookie, user, node and color only", after)
	}

	b.want("GET", node.url, "/get?k=color", `"blue"`)
	b.want("GET", node.url, "/get?k=node", "1")
	b.want("GET", node.url, "/keys", "color,node,user")
	b.want("GET", g.url, "/keys", "color,node,user")

	b.want("POST", node.url, "/logout", "ok")
	b.want("GET", g.url, "/whoami", "user=")
	if _, ok := e.tb.row(t, sid); ok {
		t.Errorf("the row of %q is back after Node's log-out and Go's read", sid)
	}
}

// testGoThenNode signs in on Go: Node sees the user, Node changes one key,
// Go sees it with its own keys intact, Go signs out, Node sees it.
func testGoThenNode(t *testing.T, e *env, node *nodeApp, g *goApp) {
	b := newBrowser(t)
	b.want("POST", g.url, "/login?user=ada", "ok")
	b.want("POST", g.url, "/set?k=color&v=red", "ok")
	sid := sidOf(b, e.p.koa, secrets[:1])
	if sid == "" {
		t.Fatalf("Go's session cookie %v is not signed as %s signs it", b.cookies, e.p.name)
	}
	before, ok := e.tb.row(t, sid)
	if !ok {
		t.Fatalf("no row for the Go session %q", sid)
	}
	checkNodeCookie(t, e, before)

	b.want("GET", node.url, "/whoami", "user=ada")
	b.want("GET", node.url, "/get?k=go", "1")
	b.want("POST", node.url, "/set?k=color&v=blue", "ok")
	if got := sidOf(b, e.p.koa, secrets[:1]); got != sid {
		t.Errorf("after Node's write, the cookie's session is %q, want Go's %q", got, sid)
	}
	after, _ := e.tb.row(t, sid)
	checkNodeCookie(t, e, after)

	b.want("GET", g.url, "/get?k=color", `"blue"`)
	b.want("GET", g.url, "/get?k=go", "1")
	b.want("GET", g.url, "/keys", "color,go,user")
	b.want("GET", node.url, "/keys", "color,go,user")

	b.want("POST", g.url, "/logout", "ok")
	b.want("GET", node.url, "/whoami", "user=")
	b.want("GET", g.url, "/whoami", "user=")
	if _, ok := e.tb.row(t, sid); ok {
		t.Errorf("the row of %q is still there after Go's log-out", sid)
	}
}

// testExpiry has each side end a session at the expiry it set, and the
// other side honour it: the Node store's column and cookie object, Go's
// Lifetime. Browsers here never drop cookies, so only the servers end
// sessions. Node's session gets its maxAge at login, on the shared app,
// which never runs its cleanup, so Go alone must end it.
// connect-session-sequelize and koa-pg-session never check the expiry when
// they read: their cleanup deletes expired rows, so the Node app that must
// honour Go's expiry runs it every half second.
func testExpiry(t *testing.T, e *env, nodeReads *nodeApp, goReads *goApp) {
	const life = 3 * time.Second
	const margin = 2 * time.Second // the stores keep whole seconds
	// Node sets the expiry (its cookie's maxAge), Go honours it; and Go
	// sets it (its Lifetime), Node honours it. One wait for both.
	nodeSets := nodeReads // a session's maxAge is set at its login
	nodeReads = e.startNode(t, func(c *nodeConfig) { c.Cleanup = 500 * time.Millisecond })
	goSets := e.startGo(t, func(c *httpsession.Config) { c.Lifetime = life })
	fromNode, fromGo := newBrowser(t), newBrowser(t)
	fromNode.want("POST", nodeSets.url, fmt.Sprintf("/login?user=ada&maxAge=%d", life.Milliseconds()), "ok")
	fromNode.want("GET", goReads.url, "/whoami", "user=ada")
	fromGo.want("POST", goSets.url, "/login?user=bob", "ok")
	fromGo.want("GET", nodeReads.url, "/whoami", "user=bob")
	time.Sleep(life + margin)
	if _, got, err := fromNode.do("GET", goReads.url, "/whoami"); got != "user=" || err != nil {
		t.Errorf("Go after the expiry Node set: %q (%v), want user=", got, err)
	}
	if _, got, err := fromGo.do("GET", nodeReads.url, "/whoami"); got != "user=" || err != nil {
		t.Errorf("Node after the expiry Go set: %q (%v), want user=", got, err)
	}
	fromGo.want("GET", goSets.url, "/whoami", "user=")
}

// testTamperedCookies sends altered and wrongly signed cookies of a live
// session, made by either side, to both: each refuses them (a new, empty
// session) and the session stays.
func testTamperedCookies(t *testing.T, e *env, node *nodeApp, g *goApp) {
	for _, origin := range []string{"node", "go"} {
		t.Run("from "+origin, func(t *testing.T) {
			b := newBrowser(t)
			b.want("POST", map[string]string{"node": node.url, "go": g.url}[origin], "/login?user=ada", "ok")
			sid := sidOf(b, e.p.koa, secrets[:1])
			if sid == "" {
				t.Fatalf("no valid session cookie in %v", b.cookies)
			}
			other := []byte(sid)
			other[5] ^= 1 // another letter, still base64url
			cases := []struct {
				name string
				set  func(b *browser)
				user string
			}{
				{"signed with the first secret", func(b *browser) { setSession(b, e.p.koa, sid, secrets[0]) }, "ada"},
				{"signed with the second secret", func(b *browser) { setSession(b, e.p.koa, sid, secrets[1]) }, "ada"},
				{"signed with another secret", func(b *browser) { setSession(b, e.p.koa, sid, "not the secret") }, ""},
				{"sid changed, signature kept", func(b *browser) {
					setSession(b, e.p.koa, sid, secrets[0])
					if e.p.koa {
						b.set(koaCookie, string(other))
					} else {
						v, _ := url.QueryUnescape(b.cookie(expressCookie))
						b.set(expressCookie, url.QueryEscape(strings.Replace(v, sid, string(other), 1)))
					}
				}, ""},
				{"signature changed", func(b *browser) {
					setSession(b, e.p.koa, sid, secrets[0])
					name := map[bool]string{true: koaSig, false: expressCookie}[e.p.koa]
					v := []byte(b.cookie(name))
					v[len(v)-2] ^= 1
					b.set(name, string(v))
				}, ""},
				{"signature cut", func(b *browser) {
					setSession(b, e.p.koa, sid, secrets[0])
					name := map[bool]string{true: koaSig, false: expressCookie}[e.p.koa]
					v := b.cookie(name)
					b.set(name, v[:len(v)-4])
				}, ""},
				{"unsigned", func(b *browser) {
					if e.p.koa {
						b.set(koaCookie, sid)
					} else {
						b.set(expressCookie, sid)
					}
				}, ""},
			}
			for _, c := range cases {
				for _, app := range []struct{ name, url string }{{"node", node.url}, {"go", g.url}} {
					forged := newBrowser(t)
					c.set(forged)
					if _, got, err := forged.do("GET", app.url, "/whoami"); err != nil || got != "user="+c.user {
						t.Errorf("%s: cookie %s: %s says %q (%v), want %q", c.name, forged.cookies, app.name, got, err, "user="+c.user)
					}
				}
			}
			b.want("GET", node.url, "/whoami", "user=ada")
			b.want("GET", g.url, "/whoami", "user=ada")
		})
	}
}

// mixedDuration is how long testMixedTraffic runs: 10s, or
// SQLSESSION_TEST_NODE_MIXED (a Go duration) to shorten it locally.
func mixedDuration(t *testing.T) time.Duration {
	if v := os.Getenv("SQLSESSION_TEST_NODE_MIXED"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("SQLSESSION_TEST_NODE_MIXED=%q: %v", v, err)
		}
		return d
	}
	return 10 * time.Second
}

// testMixedTraffic sends requests from both applications to the same
// sessions at once for 10 seconds: reads, and writes of keys that each
// worker owns. No session may be lost (every read sees its user), no
// request may fail, and every row ends as a valid session both sides read.
// Keys may be lost: the Node stores write the whole session, the last
// writer winning, which is what Node apps already live with; the count is
// logged.
func testMixedTraffic(t *testing.T, e *env, node *nodeApp, g *goApp) {
	const sessions, workers = 6, 4
	d := mixedDuration(t)
	apps := []string{node.url, g.url}
	before := e.tb.rows(t) // of the other tests on this table
	users := make([]string, sessions)
	browsers := make([]*browser, sessions)
	for i := range sessions {
		users[i] = fmt.Sprintf("u%d", i)
		browsers[i] = newBrowser(t)
		browsers[i].want("POST", apps[i%2], "/login?user="+users[i], "ok")
	}
	var requests [2]atomic.Int64
	var lostReads, failures atomic.Int64
	type write struct {
		key, value string
	}
	last := make([]map[string]string, sessions) // per session: key -> last value written
	var lastMu sync.Mutex
	for i := range last {
		last[i] = map[string]string{}
	}
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for n := 0; time.Now().Before(deadline); n++ {
				i, a := r.IntN(sessions), r.IntN(2)
				b := browsers[i]
				requests[a].Add(1)
				if r.IntN(2) == 0 {
					code, body, err := b.do("GET", apps[a], "/whoami")
					if err != nil || code != 200 {
						if failures.Add(1) <= 5 {
							t.Errorf("GET %s/whoami = %d %q, %v", apps[a], code, body, err)
						}
					} else if body != "user="+users[i] {
						if lostReads.Add(1) <= 5 {
							t.Errorf("session %d: GET %s/whoami = %q, want user=%s", i, apps[a], body, users[i])
						}
					}
					continue
				}
				wr := write{fmt.Sprintf("w%d", w), fmt.Sprint(n)}
				code, body, err := b.do("POST", apps[a], "/set?k="+wr.key+"&v="+wr.value)
				if err != nil || code != 200 {
					if failures.Add(1) <= 5 {
						t.Errorf("POST %s/set = %d %q, %v", apps[a], code, body, err)
					}
					continue
				}
				lastMu.Lock()
				last[i][wr.key] = wr.value
				lastMu.Unlock()
			}
		})
	}
	wg.Wait()

	// Every row is a session both sides read, with its user.
	rows := e.tb.rows(t)
	corrupt := 0
	for key, data := range rows {
		f, err := fields(data)
		if err != nil || f["user"] == nil {
			corrupt++
			t.Errorf("row %q holds %q (%v): not a session", key, data, err)
			continue
		}
		checkNodeCookie(t, e, data)
	}
	lost, keysLost := 0, 0
	for i, b := range browsers {
		sid := sidOf(b, e.p.koa, secrets[:1])
		data, ok := e.tb.row(t, sid)
		if !ok {
			lost++
			t.Errorf("session %d (%q) is gone", i, sid)
			continue
		}
		for _, url := range apps {
			b.want("GET", url, "/whoami", "user="+users[i])
		}
		f, _ := fields(data)
		for k, v := range last[i] {
			if string(f[k]) != `"`+v+`"` {
				keysLost++
			}
		}
	}
	if len(rows) != len(before)+sessions {
		t.Errorf("%d rows in the table, want %d (%d before and one per session)", len(rows), len(before)+sessions, len(before))
	}
	t.Logf("%s on %s, %v: %d requests to Node, %d to Go; %d failed, %d reads lost their user; %d corrupt rows, %d sessions lost; %d of the keys' last writes overwritten by a whole-session write",
		e.p.name, e.tg.Name, d, requests[0].Load(), requests[1].Load(), failures.Load(), lostReads.Load(), corrupt, lost, keysLost)
}

// TestInterop runs a Node.js application and a Go application side by side
// on one table and one cookie, for every pair on every database, and goes
// through the steps: see the functions named after each subtest.
// The steps share the two applications (starting node is what takes time).
func TestInterop(t *testing.T) {
	steps := []struct {
		name string
		run  func(t *testing.T, e *env, node *nodeApp, g *goApp)
	}{
		{"node app", testNodeApp},
		{"node then go", testNodeThenGo},
		{"go then node", testGoThenNode},
		{"tampered cookies", testTamperedCookies},
		{"mixed traffic", testMixedTraffic},
		{"expiry", testExpiry},
	}
	eachPair(t, func(t *testing.T, e *env) {
		node := e.startNode(t, func(c *nodeConfig) { c.MaxAge = time.Hour })
		g := e.startGo(t, nil)
		for _, s := range steps {
			t.Run(s.name, func(t *testing.T) { s.run(t, e, node, g) })
		}
	})
}
