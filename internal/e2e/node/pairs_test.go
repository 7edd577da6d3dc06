package nodee2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/internal/dbtest"
	"github.com/sqlsession/sqlsession/internal/testenv"
)

// pair is a Node.js application and its session store, which a Go
// application shares.
type pair struct {
	name   string            // the nodeapp APP
	koa    bool              // koa + koa-generic-session; otherwise express + express-session
	mysql  bool              // the store also runs on MySQL/MariaDB
	layout sqlsession.Layout // the store's table, as it makes it
}

var pairs = []pair{
	{name: "express-sequelize", mysql: true, layout: sqlsession.Layout{
		Key: "sid", Data: "data", Expiry: "expires", Time: sqlsession.Timestamp, JSON: true}},
	{name: "express-pg", layout: sqlsession.Layout{
		Key: "sid", Data: "sess", Expiry: "expire", Time: sqlsession.Timestamp, JSON: true}},
	{name: "koa-sequelize", koa: true, mysql: true, layout: sqlsession.Layout{
		Key: "id", Data: "data", Expiry: "expires", Time: sqlsession.UnixSeconds, JSON: true, KeyPrefix: koaPrefix}},
	{name: "koa-pg", koa: true, layout: sqlsession.Layout{
		Key: "id", Data: "session", Expiry: "expiry", Time: sqlsession.Timestamp, JSON: true, KeyPrefix: koaPrefix}},
}

// secrets are the Node applications' secrets (express) or keys (koa): the
// first signs, all verify. The Go applications are given the same.
var secrets = []string{"new secret", "old secret"}

// env is one pair's shared table and the Node application's configuration
// on it.
type env struct {
	p    pair
	tg   dbtest.Target
	tb   table
	node nodeConfig // the Node application's configuration; start it with e.startNode
}

// eachPair runs fn, in parallel subtests, for every pair on PostgreSQL and,
// where the store supports it, on MySQL/MariaDB, each on a table of its own
// (and on PostgreSQL, a schema of its own: connect-pg-simple names its
// constraint and index "session_pkey" and "IDX_session_expire" whatever the
// table).
func eachPair(t *testing.T, fn func(t *testing.T, e *env)) {
	nodeDir(t)
	for _, tg := range dbtest.Servers {
		if tg.Dialect == sqlsession.SQLite {
			continue // the npm sqlite3 package cannot be installed here; the layout kit covers SQLite
		}
		t.Run(tg.Name, func(t *testing.T) {
			db, _ := tg.Open(t)
			for _, p := range pairs {
				if tg.Dialect == sqlsession.MySQL && !p.mysql {
					continue
				}
				t.Run(p.name, func(t *testing.T) {
					t.Parallel()
					schema := ""
					if tg.Dialect == sqlsession.Postgres {
						schema = testenv.Name("node")
						if _, err := db.Exec(`CREATE SCHEMA "` + schema + `"`); err != nil {
							t.Fatal(err)
						}
						t.Cleanup(func() { db.Exec(`DROP SCHEMA "` + schema + `" CASCADE`) })
					}
					name := testenv.Name("n")
					tb := table{db: db, d: tg.Dialect, schema: schema, name: name, layout: p.layout, express: !p.koa}
					t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + tb.quoted()) })
					fn(t, &env{p: p, tg: tg, tb: tb, node: nodeConfig{
						App: p.name, DSN: nodeDSN(t, tg.Dialect), Schema: schema, Table: name, Secrets: secrets,
					}})
				})
			}
		})
	}
}

// startNode starts a Node application on e's table with cfg's changes to
// e.node.
func (e *env) startNode(t *testing.T, change func(*nodeConfig)) *nodeApp {
	t.Helper()
	cfg := e.node
	if change != nil {
		change(&cfg)
	}
	return startNode(t, cfg)
}

// expiry returns the expiry column of session sid.
func (tb table) expiry(t *testing.T, sid string) time.Time {
	t.Helper()
	q := "SELECT " + tb.quote(tb.layout.Expiry) + " FROM " + tb.quoted() + " WHERE " + tb.quote(tb.layout.Key) + " = " + tb.param()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var v any
	if err := tb.db.QueryRowContext(ctx, q, tb.layout.KeyPrefix+sid).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	switch v := v.(type) {
	case time.Time:
		// A PostgreSQL timestamp without time zone comes as UTC.
		return v
	case int64:
		return time.Unix(v, 0)
	case []byte, string:
		s := fmt.Sprint(v)
		if b, ok := v.([]byte); ok {
			s = string(b)
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return time.Unix(n, 0)
		}
		tm, err := time.Parse("2006-01-02 15:04:05.999999", s)
		if err != nil {
			t.Fatalf("expiry %q: %v", s, err)
		}
		return tm
	}
	t.Fatalf("expiry column holds a %T", v)
	return time.Time{}
}

// near reports whether a is within d of b.
func near(a, b time.Time, d time.Duration) bool { return a.Sub(b).Abs() <= d }

// testNodeApp checks the facts the presets and codecs rest on against the
// real packages: the cookie each framework sets, the key and JSON each
// store writes and the expiry column it keeps, with Node.js alone.
func testNodeApp(t *testing.T, e *env, node *nodeApp, _ *goApp) {
	b := newBrowser(t)
	b.want("POST", node.url, "/login?user=ada", "ok")
	login := time.Now()
	b.want("POST", node.url, "/set?k=color&v=red", "ok")
	b.want("GET", node.url, "/whoami", "user=ada")
	b.want("GET", node.url, "/keys", "color,node,user")

	// The cookie, signed with the first secret.
	sid := sidOf(b, e.p.koa, secrets[:1])
	if sid == "" {
		t.Fatalf("no session cookie signed with the first secret in %v", b.cookies)
	}
	if len(sid) != 32 || strings.Trim(sid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		t.Errorf("sid %q: want 32 characters of base64url (uid-safe(24))", sid)
	}

	// The row: the key, the JSON, the expiry.
	data, ok := e.tb.row(t, sid)
	if !ok {
		t.Fatalf("no row for key %q", e.p.layout.KeyPrefix+sid)
	}
	f, err := fields(data)
	if err != nil {
		t.Fatalf("stored data %q: %v", data, err)
	}
	if string(f["user"]) != `"ada"` || string(f["node"]) != `1` || string(f["color"]) != `"red"` {
		t.Errorf("stored data %s: want user ada, node 1, color red", data)
	}
	var cookie map[string]any
	if err := json.Unmarshal(f["cookie"], &cookie); err != nil {
		t.Fatalf("stored cookie %s: %v", f["cookie"], err)
	}
	exp := e.tb.expiry(t, sid)
	if e.p.koa {
		// koa-generic-session keeps the cookie's options: maxAge, no expires.
		if cookie["maxAge"] != float64(time.Hour.Milliseconds()) || cookie["expires"] != nil || cookie["signed"] != true {
			t.Errorf("stored cookie %s: want koa's options, maxAge 3600000 and no expires", f["cookie"])
		}
	} else {
		// express-session keeps originalMaxAge and expires (ISO); the
		// column follows expires when the JSON is written, and later
		// touches move the column only.
		// express-session sets originalMaxAge to expires - Date.now(),
		// which is a tick short when the clock moved since it set expires.
		if ms, _ := cookie["originalMaxAge"].(float64); ms > float64(time.Hour.Milliseconds()) || ms < float64((time.Hour-time.Second).Milliseconds()) {
			t.Errorf("stored cookie %s: want originalMaxAge 3600000 (or a few ms less)", f["cookie"])
		}
		s, _ := cookie["expires"].(string)
		jexp, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || !strings.HasSuffix(s, "Z") {
			t.Errorf("stored cookie.expires %q: want an ISO time in UTC (%v)", s, err)
		} else if exp.Before(jexp.Add(-time.Second)) {
			t.Errorf("expiry column %v is before the stored cookie.expires %v", exp, jexp)
		}
	}
	if !near(exp, login.Add(time.Hour), time.Minute) {
		t.Errorf("expiry column = %v, want about %v (an hour after the login)", exp.UTC(), login.Add(time.Hour).UTC())
	}

	// A cookie signed with the second secret still works.
	old := newBrowser(t)
	setSession(old, e.p.koa, sid, secrets[1])
	old.want("GET", node.url, "/whoami", "user=ada")

	b.want("POST", node.url, "/logout", "ok")
	if _, ok := e.tb.row(t, sid); ok {
		t.Errorf("the row of %q is still there after the log-out", sid)
	}
	old.want("GET", node.url, "/whoami", "user=")
}
