package fibere2e_test

import (
	"context"
	"database/sql"
	"encoding/gob"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/session"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/fiberstore"
	"github.com/sqlsession/sqlsession/internal/dbtest"
	"github.com/sqlsession/sqlsession/internal/testenv"
)

// newCountingEnv is newEnv with a Store whose writes are counted. It also
// returns the quoted table name.
func newCountingEnv(t *testing.T, tg dbtest.Target, db *sql.DB, schema string) (*env, *atomic.Int64, string) {
	t.Helper()
	writes := new(atomic.Int64)
	opts := sqlsession.Options{Table: testenv.Name("w"), Schema: schema}
	s, err := sqlsession.NewWithBackend(dbtest.CountWrites(sqlsession.SQLBackend(db), writes), tg.Dialect, opts)
	if err != nil {
		t.Fatalf("sqlsession.NewWithBackend() = %v", err)
	}
	table := dbtest.QuotedTable(tg.Dialect, schema, opts.Table)
	t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + table) })
	t.Cleanup(func() { s.Close() })
	if err := s.CreateTable(testCtx(t)); err != nil {
		t.Fatalf("CreateTable() = %v", err)
	}
	return &env{db: db, s: s, st: fiberstore.New(s)}, writes, table
}

// encodings is a fiber.Storage on a fiberstore.Storage that records the
// distinct byte forms of the values fiber's middleware sets under each key,
// and how often a value differs from the one set before it: the writes that
// a byte-for-byte comparison would make.
type encodings struct {
	*fiberstore.Storage
	mu      sync.Mutex
	forms   map[string]map[string]bool
	last    map[string]string
	changes int
}

func (e *encodings) SetWithContext(ctx context.Context, key string, val []byte, exp time.Duration) error {
	e.mu.Lock()
	if e.forms[key] == nil {
		e.forms[key] = map[string]bool{}
	}
	e.forms[key][string(val)] = true
	if last, ok := e.last[key]; ok && last != string(val) {
		e.changes++
	}
	e.last[key] = string(val)
	e.mu.Unlock()
	return e.Storage.SetWithContext(ctx, key, val, exp)
}

func (e *encodings) Set(key string, val []byte, exp time.Duration) error {
	return e.SetWithContext(context.Background(), key, val, exp)
}

// count returns the byte forms seen under key, and the changes of bytes.
func (e *encodings) count(key string) (forms, changes int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.forms[key]), e.changes
}

func (e *encodings) reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	clear(e.forms)
	e.changes = 0
}

// writesApp is a fiber v3 app whose session middleware uses cfg: GET
// /whoami only reads the session, POST /login and /set change it.
func writesApp(t *testing.T, cfg session.Config) string {
	app := fiber.New()
	app.Use(session.New(cfg))
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
		sess.Set("roles", []string{"admin", "editor"})
		sess.Set("prefs", map[string]string{"theme": "dark", "lang": "en", "tz": "UTC"})
		return reply(c)
	})
	app.Post("/set", func(c fiber.Ctx) error {
		session.FromContext(c).Set("n", c.Query("n"))
		return reply(c)
	})
	return serve(t,
		func(ln net.Listener) error {
			return app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true})
		},
		app.ShutdownWithTimeout)
}

// readOnlyRequests is how many read-only requests TestWritesPerRequest
// makes, and maxWritesPerRequest the writes per request it allows.
const (
	readOnlyRequests    = 100
	maxWritesPerRequest = 0.02
)

func init() { gob.Register(map[string]string{}) }

// TestWritesPerRequest signs in through fiber v3's session middleware, which
// sets the session at the end of every request, then only reads: the
// database sees at most 0.02 writes per request. A change still writes once,
// and an expiry near its end is moved by one write. It also measures how
// many byte forms fiber's encoding of the one unchanged session takes.
func TestWritesPerRequest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  session.Config
	}{
		{"idle timeout", session.Config{}},
		{"absolute timeout", session.Config{AbsoluteTimeout: 24 * time.Hour}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dbtest.Each(t, dbtest.Servers, func(t *testing.T, tg dbtest.Target, db *sql.DB, schema string) {
				t.Parallel()
				e, writes, table := newCountingEnv(t, tg, db, schema)
				rec := &encodings{Storage: e.st, forms: map[string]map[string]bool{}, last: map[string]string{}}
				cfg := tc.cfg
				cfg.Storage = rec
				c := newClient(t, writesApp(t, cfg))
				in := c.must(http.MethodPost, "/login?user=alice")
				c.must(http.MethodPost, "/set?n=1")

				rec.reset()
				before := writes.Load()
				for range readOnlyRequests {
					if got := c.must(http.MethodGet, "/whoami"); got != (view{in.ID, "alice", "1"}) {
						t.Fatalf("GET /whoami = %+v, want %+v", got, view{in.ID, "alice", "1"})
					}
				}
				n := writes.Load() - before
				perRequest := float64(n) / readOnlyRequests
				forms, changes := rec.count(in.ID)
				t.Logf("fiber v3 (%s) on %s: %d writes in %d read-only requests: %.3f per request; "+
					"fiber encoded the unchanged session in %d byte forms, and comparing bytes would have written %d times",
					tc.name, tg.Name, n, readOnlyRequests, perRequest, forms, changes)
				if perRequest > maxWritesPerRequest {
					t.Errorf("%d read-only requests wrote %d times: %.3f per request, want at most %v", readOnlyRequests, n, perRequest, maxWritesPerRequest)
				}

				// A change writes once.
				before = writes.Load()
				c.must(http.MethodPost, "/set?n=2")
				if n := writes.Load() - before; n != 1 {
					t.Errorf("POST /set wrote %d times, want 1", n)
				}
				if got := c.must(http.MethodGet, "/whoami"); got != (view{in.ID, "alice", "2"}) {
					t.Errorf("GET /whoami after the change = %+v, want n=2", got)
				}

				// An expiry near its end is moved, once.
				soon := time.Now().Add(time.Minute).UnixMilli()
				if _, err := db.Exec(fmt.Sprintf("UPDATE %s SET expires_at = %d", table, soon)); err != nil {
					t.Fatalf("moving the expiry: %v", err)
				}
				before = writes.Load()
				for range 5 {
					c.must(http.MethodGet, "/whoami")
				}
				if n := writes.Load() - before; n != 1 {
					t.Errorf("5 reads of a session about to expire wrote %d times, want 1", n)
				}
				var exp int64
				if err := db.QueryRow("SELECT expires_at FROM " + table).Scan(&exp); err != nil {
					t.Fatal(err)
				}
				if left := time.Until(time.UnixMilli(exp)); left < 29*time.Minute || left > 30*time.Minute {
					t.Errorf("expiry after the touch is %v away, want about fiber's idle timeout (30m)", left)
				}
				if got := c.must(http.MethodGet, "/whoami"); got != (view{in.ID, "alice", "2"}) {
					t.Errorf("GET /whoami after the touch = %+v, want alice's session", got)
				}
			})
		})
	}
}
