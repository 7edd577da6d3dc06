package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	scspgx "github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/session"
	"github.com/gorilla/sessions"
	"github.com/jackc/pgx/v5"
	waderstore "github.com/wader/gormstore/v2"
	gormpostgres "gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/fiberstore"
	"github.com/sqlsession/sqlsession/gorillastore"
	"github.com/sqlsession/sqlsession/scsstore"
)

// counter is a pgx tracer that counts the statements sent, by kind.
type counter struct {
	reads, writes, other atomic.Int64
}

var _ pgx.QueryTracer = (*counter)(nil)

func (c *counter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	verb, _, _ := strings.Cut(strings.TrimSpace(d.SQL), " ")
	switch strings.ToUpper(verb) {
	case "SELECT", "WITH":
		c.reads.Add(1)
	case "INSERT", "UPDATE", "DELETE", "MERGE":
		c.writes.Add(1)
	default:
		c.other.Add(1)
	}
	return ctx
}

func (*counter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// tracer returns c as a pgx tracer, nil for a nil c.
func (c *counter) tracer() pgx.QueryTracer {
	if c == nil {
		return nil
	}
	return c
}

func (c *counter) reset() {
	c.reads.Store(0)
	c.writes.Store(0)
	c.other.Store(0)
}

// writesRow is one scenario of the writes benchmark.
type writesRow struct {
	frontend, store, expiry string
	requests                int
	reads, writes, other    float64 // per read-only request
}

// scenario is a web application with sessions: POST /login stores a user in
// a new session; GET /read only reads it back.
type scenario struct {
	frontend, store, expiry string
	// start serves the application on ln and returns its stop function.
	start func(ctx context.Context, e *env, c *counter, ln net.Listener) (stop func(), err error)
}

const idle = 30 * time.Minute

// newSessionManager returns an scs manager that answers 500 on a store
// error, without logging the requests that wrk cuts off at the end of a
// run (their context is cancelled).
func newSessionManager() *scs.SessionManager {
	sm := scs.New()
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		if !errors.Is(err, context.Canceled) {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}
	return sm
}

func scenarios() []scenario {
	return []scenario{
		{"scs", "sqlsession (scsstore, pgxstore)", "sliding: sqlsession IdleTimeout 30m", startScs(true, false)},
		{"scs", "sqlsession (scsstore, pgxstore)", "sliding: scs IdleTimeout 30m", startScs(true, true)},
		{"scs", "scs pgxstore", "sliding: scs IdleTimeout 30m", startScs(false, true)},
		{"scs", "scs pgxstore", "none (absolute lifetime)", startScs(false, false)},
		{"gorilla/sessions", "sqlsession (gorillastore, pgxstore)", "sliding: sqlsession IdleTimeout 30m", startGorilla(true, false)},
		{"gorilla/sessions", "wader/gormstore", "none: handler only reads", startGorilla(false, false)},
		{"gorilla/sessions", "wader/gormstore", "sliding: handler saves each request", startGorilla(false, true)},
		{"fiber v3 session", "sqlsession (fiberstore, pgxstore)", "sliding: fiber IdleTimeout 30m", startFiber},
	}
}

// coreOnPgx opens a sqlsession Store on a counted pgx pool.
func coreOnPgx(ctx context.Context, e *env, c *counter, opts sqlsession.Options) (*sqlsession.Store, error) {
	_, s, err := pgxCore(ctx, e, c.tracer(), opts)
	if err != nil {
		return nil, err
	}
	e.cleanup = append(e.cleanup, func() { s.Close() })
	return s, nil
}

// serve runs h on ln until stop.
func serve(h http.Handler, ln net.Listener) func() {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	}
}

func startScs(core, scsIdle bool) func(context.Context, *env, *counter, net.Listener) (func(), error) {
	return func(ctx context.Context, e *env, c *counter, ln net.Listener) (func(), error) {
		sm := newSessionManager()
		if scsIdle {
			sm.IdleTimeout = idle
		}
		if core {
			opts := sqlsession.Options{}
			if !scsIdle {
				opts.IdleTimeout = idle
			}
			s, err := coreOnPgx(ctx, e, c, opts)
			if err != nil {
				return nil, err
			}
			sm.Store = scsstore.New(s)
		} else {
			p, err := e.pgSchemaPool(ctx, c.tracer())
			if err != nil {
				return nil, err
			}
			if err := createScsTable(ctx, pgxExec(p), "postgres"); err != nil {
				return nil, err
			}
			sm.Store = scspgx.NewWithCleanupInterval(p, 0)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
			sm.Put(r.Context(), "user", r.FormValue("user"))
		})
		mux.HandleFunc("GET /read", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, sm.GetString(r.Context(), "user"))
		})
		return serve(sm.LoadAndSave(mux), ln), nil
	}
}

// gorillaKey signs gorilla cookies.
var gorillaKey = []byte("bench-gorilla-key-0123456789abc!")

func startGorilla(core, refresh bool) func(context.Context, *env, *counter, net.Listener) (func(), error) {
	return func(ctx context.Context, e *env, c *counter, ln net.Listener) (func(), error) {
		var store sessions.Store
		if core {
			s, err := coreOnPgx(ctx, e, c, sqlsession.Options{IdleTimeout: idle})
			if err != nil {
				return nil, err
			}
			gs := gorillastore.New(s, gorillaKey)
			gs.Options.Secure = false
			store = gs
		} else {
			schema, err := e.pgSchema(ctx)
			if err != nil {
				return nil, err
			}
			db, err := e.pgDB(schema, c.tracer())
			if err != nil {
				return nil, err
			}
			g, err := gorm.Open(gormpostgres.New(gormpostgres.Config{Conn: db}), &gorm.Config{Logger: logger.Discard})
			if err != nil {
				return nil, err
			}
			store = waderstore.NewOptions(g, waderstore.Options{}, gorillaKey)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
			s, err := store.Get(r, "s")
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			s.Values["user"] = r.FormValue("user")
			if err := s.Save(r, w); err != nil {
				http.Error(w, err.Error(), 500)
			}
		})
		mux.HandleFunc("GET /read", func(w http.ResponseWriter, r *http.Request) {
			s, err := store.Get(r, "s")
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			if refresh {
				if err := s.Save(r, w); err != nil {
					http.Error(w, err.Error(), 500)
					return
				}
			}
			u, _ := s.Values["user"].(string)
			io.WriteString(w, u)
		})
		return serve(mux, ln), nil
	}
}

func startFiber(ctx context.Context, e *env, c *counter, ln net.Listener) (func(), error) {
	s, err := coreOnPgx(ctx, e, c, sqlsession.Options{})
	if err != nil {
		return nil, err
	}
	app := fiber.New()
	app.Use(session.New(session.Config{Storage: fiberstore.New(s), IdleTimeout: idle}))
	app.Post("/login", func(c fiber.Ctx) error {
		session.FromContext(c).Set("user", c.FormValue("user"))
		return nil
	})
	app.Get("/read", func(c fiber.Ctx) error {
		u, _ := session.FromContext(c).Get("user").(string)
		return c.SendString(u)
	})
	done := make(chan error, 1)
	go func() { done <- app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	return func() {
		app.ShutdownWithTimeout(5 * time.Second)
		<-done
	}, nil
}

// runWrites counts the statements each scenario sends per read-only
// request, over real HTTP on loopback.
func runWrites(ctx context.Context, e *env) ([]writesRow, error) {
	var rows []writesRow
	for _, sc := range scenarios() {
		row, err := runScenario(ctx, e, sc)
		e.close()
		if err != nil {
			return rows, fmt.Errorf("%s + %s: %w", sc.frontend, sc.store, err)
		}
		logf(e.cfg, "   %-18s %-36s %-40s reads %.2f, writes %.2f per request", sc.frontend, sc.store, sc.expiry, row.reads, row.writes)
		rows = append(rows, row)
	}
	return rows, nil
}

func runScenario(ctx context.Context, e *env, sc scenario) (writesRow, error) {
	c := &counter{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return writesRow{}, err
	}
	stop, err := sc.start(ctx, e, c, ln)
	if err != nil {
		ln.Close()
		return writesRow{}, err
	}
	defer stop()
	base := "http://" + ln.Addr().String()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	defer client.CloseIdleConnections()

	nSessions := max(1, min(10, e.cfg.httpReqs/2))
	perSession := max(1, e.cfg.httpReqs/nSessions)
	cookies := make([][]*http.Cookie, nSessions)
	for i := range cookies {
		resp, err := client.PostForm(base+"/login", map[string][]string{"user": {fmt.Sprintf("user-%d", i)}})
		if err != nil {
			return writesRow{}, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(resp.Cookies()) == 0 {
			return writesRow{}, fmt.Errorf("login: status %d, %d cookies", resp.StatusCode, len(resp.Cookies()))
		}
		cookies[i] = resp.Cookies()
	}
	c.reset()
	n := 0
	for i := range cookies {
		for range perSession {
			req, err := http.NewRequestWithContext(ctx, "GET", base+"/read", nil)
			if err != nil {
				return writesRow{}, err
			}
			for _, ck := range cookies[i] {
				req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
			}
			resp, err := client.Do(req)
			if err != nil {
				return writesRow{}, err
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if want := fmt.Sprintf("user-%d", i); string(body) != want {
				return writesRow{}, fmt.Errorf("read: status %d, body %q, want %q", resp.StatusCode, body, want)
			}
			n++
		}
	}
	if n == 0 {
		return writesRow{}, errors.New("no requests")
	}
	per := func(v int64) float64 { return float64(v) / float64(n) }
	return writesRow{
		frontend: sc.frontend, store: sc.store, expiry: sc.expiry, requests: n,
		reads: per(c.reads.Load()), writes: per(c.writes.Load()), other: per(c.other.Load()),
	}, nil
}

func writesMarkdown(b *strings.Builder, rows []writesRow) {
	if len(rows) == 0 {
		return
	}
	b.WriteString("## Writes per read-only request\n\n")
	b.WriteString("A web application over real HTTP on loopback, on PostgreSQL: POST /login stores a user in a new session, then GET /read only reads it back. " +
		"A pgx tracer on the store's pool counts the statements each GET sends (reads: SELECT; writes: INSERT, UPDATE, DELETE; other: BEGIN, COMMIT).\n\n")
	b.WriteString("| frontend | store | expiry | GET requests | reads/request | writes/request | other/request |\n|---|---|---|--:|--:|--:|--:|\n")
	for _, r := range rows {
		fmt.Fprintf(b, "| %s | %s | %s | %d | %.2f | %.2f | %.2f |\n", r.frontend, r.store, r.expiry, r.requests, r.reads, r.writes, r.other)
	}
	b.WriteString("\n")
}
