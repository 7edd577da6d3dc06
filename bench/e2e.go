package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	scspgx "github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/gomodule/redigo/redis"
	"github.com/jackc/pgx/v5"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/httpsession"
	"github.com/sqlsession/sqlsession/scsstore"
)

// The end-to-end comparison of session managers: the same wrk load (a
// read-only GET with the cookie of one of cfg.e2eSessions sessions) against
// a bare handler doing one pgx SELECT (the floor), sessions in a Go map,
// httpsession on pgxstore without and with the session cache, and scs on
// sqlsession, on its own pgxstore and on Redis. Every server runs in this
// process; they take turns. The same harness (runServers) runs the shorter
// wrk section of the report (wrk.go).

// e2eResult is the comparison's part of the report.
type e2eResult struct {
	rows  []e2eRow
	notes []string
	redis string // the version of the redis-server measured
}

// e2eRow is one server's result at one number of connections.
type e2eRow struct {
	wrkRow
	allocs float64       // heap allocations per request, the whole process
	cpu    time.Duration // CPU time of this process per request (servers, not wrk or the databases)
}

// e2eServer is a server of the comparison. start returns its handler,
// which serves POST /login (a new session holding the user) and GET /read
// (200 with the session's user), and the Cookie header values of n
// sessions.
type e2eServer struct {
	name  string
	start func(ctx context.Context, e *env, n int) (h http.Handler, cookies []string, err error)
}

// Names of the servers that the report's goals compare.
const (
	nameFloor       = "floor: net/http + one pgx SELECT"
	nameHTTPSession = "httpsession + sqlsession (pgxstore)"
	nameHTTPCached  = "httpsession + sqlsession (pgxstore), cache on"
	nameHTTPBatched = "httpsession + sqlsession (pgxstore), BatchReads"
	nameScsCore     = "scs + sqlsession (scsstore, pgxstore)"
	nameScsPgx      = "scs + scs pgxstore"
	nameScsRedis    = "scs + scs redisstore"
)

func e2eServers(res *e2eResult) []e2eServer {
	return []e2eServer{
		{nameFloor, startE2EFloor},
		{"sessions in a Go map", startE2EMap},
		{nameHTTPSession, startE2EHTTPSession(plainStore)},
		{nameHTTPBatched, startE2EHTTPSession(batchedStore)},
		{nameHTTPCached, startE2EHTTPSession(cachedStore)},
		{nameScsCore, startE2EScs(scsOnCore)},
		{nameScsPgx, startE2EScs(scsOnPgx)},
		{nameScsRedis, startE2EScs(scsOnRedis(res))},
	}
}

// user is the value every session holds.
const user = "user"

func startE2EFloor(ctx context.Context, e *env, n int) (http.Handler, []string, error) {
	in, err := openPgxFloor(ctx, e)
	if err != nil {
		return nil, nil, err
	}
	f := in.impl.(*pgxFloor)
	tokens := make([]string, n)
	cookies := make([]string, n)
	for i := range tokens {
		tokens[i] = sqlsession.NewToken()
		cookies[i] = "session=" + tokens[i]
	}
	if err := in.seed(ctx, tokens, []byte(user), defaultExpiry()); err != nil {
		return nil, nil, err
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("session")
		if err != nil {
			http.NotFound(w, r)
			return
		}
		var data []byte
		err = f.p.QueryRow(r.Context(), f.q.find, c.Value, time.Now().UnixMilli()).Scan(&data)
		if errors.Is(err, pgx.ErrNoRows) {
			http.NotFound(w, r)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Write(data)
	})
	return h, cookies, nil
}

// startE2EMap keeps sessions in a map: what a session manager costs
// without a database.
func startE2EMap(ctx context.Context, e *env, n int) (http.Handler, []string, error) {
	var mu sync.RWMutex
	sessions := make(map[string]string, n)
	cookies := make([]string, n)
	for i := range cookies {
		tok := sqlsession.NewToken()
		sessions[tok] = user
		cookies[i] = "session=" + tok
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("session")
		if err != nil {
			http.NotFound(w, r)
			return
		}
		mu.RLock()
		u, ok := sessions[c.Value]
		mu.RUnlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, u)
	})
	return h, cookies, nil
}

// storeOptions are the options of a Store for n sessions.
type storeOptions func(n int) sqlsession.Options

// The Stores under httpsession: defaults; with read batching; with the
// session cache, room for every session.
var (
	plainStore   storeOptions = func(int) sqlsession.Options { return sqlsession.Options{} }
	batchedStore storeOptions = func(int) sqlsession.Options { return sqlsession.Options{BatchReads: true} }
	cachedStore  storeOptions = func(n int) sqlsession.Options {
		return sqlsession.Options{Cache: sqlsession.CacheOptions{MaxEntries: 2 * n}}
	}
)

// startE2EHTTPSession is httpsession on pgxstore, its Store made with
// opts.
func startE2EHTTPSession(opts storeOptions) func(context.Context, *env, int) (http.Handler, []string, error) {
	return func(ctx context.Context, e *env, n int) (http.Handler, []string, error) {
		s, err := coreOnPgx(ctx, e, nil, opts(n))
		if err != nil {
			return nil, nil, err
		}
		m, err := httpsession.New(s, httpsession.Config{InsecureCookie: true})
		if err != nil {
			return nil, nil, err
		}
		app := routes(func(w http.ResponseWriter, r *http.Request) {
			if err := httpsession.From(r.Context()).Put("user", user); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
			}
		}, func(w http.ResponseWriter, r *http.Request) {
			var u string
			if found, err := httpsession.From(r.Context()).Get("user", &u); !found || err != nil {
				http.NotFound(w, r)
				return
			}
			io.WriteString(w, u)
		})
		return loginAll(m.Handler(app), n)
	}
}

// scsStoreFor makes the store of an scs server.
type scsStoreFor func(ctx context.Context, e *env) (scs.Store, error)

func scsOnCore(ctx context.Context, e *env) (scs.Store, error) {
	s, err := coreOnPgx(ctx, e, nil, sqlsession.Options{})
	if err != nil {
		return nil, err
	}
	return scsstore.New(s), nil
}

func scsOnPgx(ctx context.Context, e *env) (scs.Store, error) {
	p, err := e.pgSchemaPool(ctx, nil)
	if err != nil {
		return nil, err
	}
	if err := createScsTable(ctx, pgxExec(p), "postgres"); err != nil {
		return nil, err
	}
	return scspgx.NewWithCleanupInterval(p, 0), nil
}

// scsOnRedis starts a redis-server of its own on a free loopback port
// (stopped by e.close) and returns scs's redisstore on a pool of cfg.pool
// connections. It notes the server's version in res.
func scsOnRedis(res *e2eResult) scsStoreFor {
	return func(ctx context.Context, e *env) (scs.Store, error) {
		addr, version, err := startRedis(ctx, e)
		if err != nil {
			return nil, err
		}
		res.redis = version
		pool := &redis.Pool{
			MaxIdle:   e.cfg.pool,
			MaxActive: e.cfg.pool,
			Wait:      true,
			Dial:      func() (redis.Conn, error) { return redis.Dial("tcp", addr) },
		}
		e.cleanup = append(e.cleanup, func() { pool.Close() })
		return redisstore.New(pool), nil
	}
}

func startE2EScs(newStore scsStoreFor) func(context.Context, *env, int) (http.Handler, []string, error) {
	return func(ctx context.Context, e *env, n int) (http.Handler, []string, error) {
		st, err := newStore(ctx, e)
		if err != nil {
			return nil, nil, err
		}
		sm := newSessionManager()
		sm.Store = st
		app := routes(func(w http.ResponseWriter, r *http.Request) {
			sm.Put(r.Context(), "user", user)
		}, func(w http.ResponseWriter, r *http.Request) {
			u := sm.GetString(r.Context(), "user")
			if u == "" {
				http.NotFound(w, r)
				return
			}
			io.WriteString(w, u)
		})
		return loginAll(sm.LoadAndSave(app), n)
	}
}

// routes serves POST /login with login and everything else with read,
// without a router: the floor has none, and the comparison is of session
// managers.
func routes(login, read http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/login" {
			login(w, r)
			return
		}
		read(w, r)
	})
}

// loginAll creates n sessions through POST /login, served by h in this
// process, and returns h and their cookies.
func loginAll(h http.Handler, n int) (http.Handler, []string, error) {
	cookies := make([]string, n)
	for i := range cookies {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/login", nil))
		res := w.Result()
		if len(res.Cookies()) == 0 {
			return nil, nil, fmt.Errorf("login gave no cookie (status %d)", res.StatusCode)
		}
		ck := res.Cookies()[0]
		cookies[i] = ck.Name + "=" + ck.Value
	}
	return h, cookies, nil
}

// errNoRedis reports that redis-server is not installed.
var errNoRedis = errors.New("redis-server is not installed (apt-get install redis-server)")

// startRedis runs redis-server on a free loopback port, without
// persistence, until e.close, and returns its address and version.
func startRedis(ctx context.Context, e *env) (addr, version string, err error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", "", errNoRedis
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", err
	}
	addr = ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		return "", "", fmt.Errorf("redis-server: %w", err)
	}
	e.cleanup = append(e.cleanup, func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := redis.Dial("tcp", addr)
		if err == nil {
			info, err := redis.String(c.Do("INFO", "server"))
			c.Close()
			if err == nil {
				if m := regexp.MustCompile(`redis_version:(\S+)`).FindStringSubmatch(info); m != nil {
					version = "Redis " + m[1]
				}
				return addr, version, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return "", "", fmt.Errorf("redis-server on %s did not answer: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runE2E measures the servers with wrk: turns of cfg.e2eTurn, cfg.e2eD per
// server and number of connections in all. Servers that cannot start (no
// redis-server) are left out with a note; without wrk the whole comparison
// is a note.
func runE2E(ctx context.Context, e *env) (*e2eResult, error) {
	res := &e2eResult{}
	var err error
	res.rows, res.notes, err = runServers(ctx, e, e2eServers(res), e.cfg.e2eSessions, e.cfg.e2eConns, e.cfg.e2eD, e.cfg.e2eTurn)
	return res, err
}

// runServers is the end-to-end harness: it starts the servers, each on a
// loopback port of its own with n sessions, warms each up, and measures
// them with wrk at each number of connections in conns, in turns of turn,
// d per server and number of connections in all, in reverse order every
// other round. A row gives a server's median turn and its median ratio to
// the first server's turn of the same round. Servers that cannot start
// because redis-server is missing are left out with a note; without wrk
// the result is a note.
func runServers(ctx context.Context, e *env, list []e2eServer, n int, conns []int, d, turn time.Duration) (rows []e2eRow, notes []string, err error) {
	bin, err := exec.LookPath("wrk")
	if err != nil {
		return nil, []string{"wrk is not installed (apt-get install wrk): the end-to-end comparison was skipped."}, nil
	}
	defer e.close()
	type running struct {
		name, url, script string
	}
	var servers []running
	for _, srv := range list {
		if e.cfg.targets != nil && srv.name != nameFloor && !e.cfg.targets.MatchString(srv.name) {
			continue
		}
		h, cookies, err := srv.start(ctx, e, n)
		if errors.Is(err, errNoRedis) {
			notes = append(notes, fmt.Sprintf("%s: left out: %v.", srv.name, err))
			continue
		}
		if err != nil {
			return nil, notes, fmt.Errorf("%s: %w", srv.name, err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, notes, err
		}
		defer serve(h, ln)()
		script, err := wrkScript(e.dir, cookies)
		if err != nil {
			return nil, notes, err
		}
		r := running{srv.name, "http://" + ln.Addr().String() + "/read", script}
		if e.cfg.maxOps == 0 { // warm-up: connections, caches; not in a smoke run
			if _, err := e2eTurn(ctx, bin, r.script, r.url, maxInt(conns), 2*time.Second); err != nil {
				return nil, notes, fmt.Errorf("%s: %w", srv.name, err)
			}
		}
		servers = append(servers, r)
		logf(e.cfg, "   %s: %d sessions", srv.name, len(cookies))
	}
	rounds := max(1, int(d/turn))
	for _, c := range conns {
		turns := make([][]e2eRow, len(servers))
		for r := range rounds {
			for j := range servers {
				i := j
				if r%2 == 1 {
					i = len(servers) - 1 - j
				}
				t, err := e2eTurn(ctx, bin, servers[i].script, servers[i].url, c, turn)
				if err != nil {
					return rows, notes, fmt.Errorf("%s: %w", servers[i].name, err)
				}
				turns[i] = append(turns[i], t)
			}
		}
		for i, srv := range servers {
			var ws []wrkRow
			var allocs, cpu, ratios []float64
			for r, t := range turns[i] {
				ws = append(ws, t.wrkRow)
				allocs = append(allocs, t.allocs)
				cpu = append(cpu, float64(t.cpu))
				ratios = append(ratios, t.rps/turns[0][r].rps)
			}
			row := e2eRow{medianTurn(ws), median(allocs), time.Duration(median(cpu))}
			row.server, row.conns, row.ratio = srv.name, c, median(ratios)
			logf(e.cfg, "   %-48s %3d connections: %8.0f requests/s (%.2f×), %.0f allocs/request, %v CPU/request, p99 %v", row.server, c, row.rps, row.ratio, row.allocs, row.cpu, row.p99)
			rows = append(rows, row)
		}
	}
	return rows, notes, nil
}

var wrkRequests = regexp.MustCompile(`(\d+) requests in`)

// e2eTurn runs wrk once and returns its figures with the heap allocations
// and the CPU time of this process per request meanwhile.
func e2eTurn(ctx context.Context, bin, script, url string, conns int, d time.Duration) (e2eRow, error) {
	secs := max(1, int(d.Round(time.Second)/time.Second))
	threads := min(conns, 2)
	cmd := exec.CommandContext(ctx, bin, "-t"+strconv.Itoa(threads), "-c"+strconv.Itoa(conns), "-d"+strconv.Itoa(secs)+"s", "--latency", "-s", script, url)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu := cpuTime()
	out, err := cmd.CombinedOutput()
	cpu = cpuTime() - cpu
	runtime.ReadMemStats(&after)
	if err != nil {
		return e2eRow{}, fmt.Errorf("wrk: %w: %s", err, out)
	}
	w, err := parseWrk(string(out), conns)
	if err != nil {
		return e2eRow{wrkRow: w}, err
	}
	m := wrkRequests.FindStringSubmatch(string(out))
	if m == nil {
		return e2eRow{wrkRow: w}, fmt.Errorf("no request count in wrk's output: %s", out)
	}
	n, _ := strconv.ParseFloat(m[1], 64)
	n = max(n, 1)
	return e2eRow{w, float64(after.Mallocs-before.Mallocs) / n, time.Duration(float64(cpu) / n)}, nil
}

// e2eMarkdown writes the comparison's section of the report.
func e2eMarkdown(b *strings.Builder, res *e2eResult, cfg *config) {
	if res == nil {
		return
	}
	rows, notes, e2eRedis := res.rows, res.notes, res.redis
	if len(rows) == 0 && len(notes) == 0 {
		return
	}
	b.WriteString("## End to end: session managers, read-only requests per second (wrk)\n\n")
	if len(rows) == 0 {
		for _, n := range notes {
			b.WriteString(n + "\n\n")
		}
		return
	}
	redis := "Redis"
	if e2eRedis != "" {
		redis = e2eRedis
	}
	fmt.Fprintf(b, "wrk (2 threads) on loopback, every GET carrying the cookie of one of %d sessions in turn; the handler reads the session's user and writes it back. "+
		"The servers run in this process side by side and take turns of %s, %s in all per server and number of connections, in reverse order every other round; "+
		"a row gives the median turn, × is the median of the ratios to the floor's turn of the same round, and allocs/request is this process's heap allocations "+
		"during the turn divided by its requests (server, session manager, store and driver together), and CPU/request this process's CPU time (user and system) likewise: the Go side of a request, without wrk's or the database's. "+
		"PostgreSQL pools have %d connections, each server its own schema; the Redis pool (redigo) has %d, on a %s this program starts on a free port, without persistence. "+
		"The floor is a bare net/http handler doing one pgx SELECT for the cookie's token, with nothing else; the map keeps sessions in a Go map behind a RWMutex; no server has a router. "+
		"httpsession and scs run with their defaults (24 h lifetime, no idle timeout); sqlsession with its defaults (hashed tokens, versions), and for the rows so marked with read batching (Options.BatchReads) or the session cache on (room for every session). "+
		"wrk, the servers, PostgreSQL and Redis share the %d cores.\n\n",
		cfg.e2eSessions, cfg.e2eTurn, cfg.e2eD, cfg.pool, cfg.pool, redis, runtime.NumCPU())
	b.WriteString("| server | connections | requests/s | × floor | allocs/request | CPU/request | latency p50 | latency p99 | socket errors |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, r := range rows {
		fmt.Fprintf(b, "| %s | %d | %s | %.2f× | %.0f | %v | %v | %v | %d |\n", r.server, r.conns, num(r.rps), r.ratio, r.allocs, r.cpu.Round(time.Microsecond), round(r.p50), round(r.p99), r.errs)
	}
	b.WriteString("\n")
	for _, n := range notes {
		b.WriteString(n + "\n\n")
	}
	e2eGoals(b, rows)
}

// e2eGoals states the goals of httpsession against this run: at least
// 0.95× the floor, and ahead of scs on Redis.
func e2eGoals(b *strings.Builder, rows []e2eRow) {
	byConns := map[int]map[string]e2eRow{}
	var conns []int
	for _, r := range rows {
		if byConns[r.conns] == nil {
			byConns[r.conns] = map[string]e2eRow{}
			conns = append(conns, r.conns)
		}
		byConns[r.conns][r.server] = r
	}
	slices.Sort(conns)
	for _, c := range conns {
		hs, ok := byConns[c][nameHTTPSession]
		if !ok {
			continue
		}
		verdict := func(ok bool) string {
			if ok {
				return "met"
			}
			return "**missed**"
		}
		fmt.Fprintf(b, "- %d connections: httpsession at %.2f× the floor (goal ≥ 0.95×: %s)", c, hs.ratio, verdict(hs.ratio >= 0.95))
		if rd, ok := byConns[c][nameScsRedis]; ok {
			fmt.Fprintf(b, "; scs on Redis at %.2f× (goal: httpsession ahead: %s)", rd.ratio, verdict(hs.ratio > rd.ratio))
		}
		if sc, ok := byConns[c][nameScsCore]; ok {
			fmt.Fprintf(b, "; allocations per request %.0f, scs on the same store %.0f", hs.allocs, sc.allocs)
		}
		if rd, ok := byConns[c][nameScsRedis]; ok {
			fmt.Fprintf(b, ", scs on Redis %.0f; this process's CPU per request %v, scs on Redis %v", rd.allocs, hs.cpu.Round(time.Microsecond), rd.cpu.Round(time.Microsecond))
		}
		if hb, ok := byConns[c][nameHTTPBatched]; ok {
			fmt.Fprintf(b, "; with BatchReads httpsession at %.2f×", hb.ratio)
			if rd, ok := byConns[c][nameScsRedis]; ok {
				fmt.Fprintf(b, " (ahead of scs on Redis: %s)", verdict(hb.ratio > rd.ratio))
			}
		}
		if hc, ok := byConns[c][nameHTTPCached]; ok {
			fmt.Fprintf(b, "; with the session cache httpsession at %.2f×", hc.ratio)
		}
		b.WriteString(".\n")
	}
	b.WriteString("\n")
}
