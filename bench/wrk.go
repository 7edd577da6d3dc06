package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	scspgx "github.com/alexedwards/scs/pgxstore"
	"github.com/jackc/pgx/v5"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/scsstore"
)

// wrkRow is one wrk run.
type wrkRow struct {
	server       string
	conns        int
	rps          float64
	p50, p99     time.Duration
	ratio        float64 // to the floor at the same connections
	non2xx, errs int
}

// wrkSessions is how many sessions the requests take turns on.
const wrkSessions = 100

// wrkServer is a server under wrk: it serves GET /read, which answers 200
// with the session's user, or 404 without a session.
type wrkServer struct {
	name string
	// start serves on ln and returns the cookies of wrkSessions sessions.
	start func(ctx context.Context, e *env, ln net.Listener) (cookies []string, stop func(), err error)
}

func wrkServers() []wrkServer {
	return []wrkServer{
		{"floor: net/http + one pgx SELECT", startWrkFloor},
		{"scs + sqlsession (scsstore, pgxstore)", startWrkScs(true)},
		{"scs + scs pgxstore", startWrkScs(false)},
	}
}

func startWrkFloor(ctx context.Context, e *env, ln net.Listener) ([]string, func(), error) {
	in, err := openPgxFloor(ctx, e)
	if err != nil {
		return nil, nil, err
	}
	f := in.impl.(*pgxFloor)
	tokens := make([]string, wrkSessions)
	for i := range tokens {
		tokens[i] = sqlsession.NewToken()
	}
	if err := in.seed(ctx, tokens, []byte("user"), defaultExpiry()); err != nil {
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
			http.Error(w, err.Error(), 500)
			return
		}
		w.Write(data)
	})
	cookies := make([]string, len(tokens))
	for i, t := range tokens {
		cookies[i] = "session=" + t
	}
	return cookies, serve(h, ln), nil
}

func startWrkScs(core bool) func(context.Context, *env, net.Listener) ([]string, func(), error) {
	return func(ctx context.Context, e *env, ln net.Listener) ([]string, func(), error) {
		sm := newSessionManager()
		if core {
			s, err := coreOnPgx(ctx, e, nil, sqlsession.Options{})
			if err != nil {
				return nil, nil, err
			}
			sm.Store = scsstore.New(s)
		} else {
			schema, err := e.pgSchema(ctx)
			if err != nil {
				return nil, nil, err
			}
			p, err := e.pgPool(ctx, schema, nil)
			if err != nil {
				return nil, nil, err
			}
			if err := createScsTable(ctx, pgxExec(p), "postgres"); err != nil {
				return nil, nil, err
			}
			sm.Store = scspgx.NewWithCleanupInterval(p, 0)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
			sm.Put(r.Context(), "user", "user")
		})
		mux.HandleFunc("GET /read", func(w http.ResponseWriter, r *http.Request) {
			u := sm.GetString(r.Context(), "user")
			if u == "" {
				http.NotFound(w, r)
				return
			}
			io.WriteString(w, u)
		})
		stop := serve(sm.LoadAndSave(mux), ln)
		client := &http.Client{Timeout: 10 * time.Second}
		defer client.CloseIdleConnections()
		cookies := make([]string, wrkSessions)
		for i := range cookies {
			resp, err := client.Post("http://"+ln.Addr().String()+"/login", "text/plain", nil)
			if err != nil {
				stop()
				return nil, nil, err
			}
			resp.Body.Close()
			if len(resp.Cookies()) == 0 {
				stop()
				return nil, nil, fmt.Errorf("login gave no cookie (status %d)", resp.StatusCode)
			}
			ck := resp.Cookies()[0]
			cookies[i] = ck.Name + "=" + ck.Value
		}
		return cookies, stop, nil
	}
}

// runWrk measures read-only requests per second with wrk. The servers
// run side by side and take turns of one second, -wrk-d/1s rounds per
// number of connections; a row gives the median turn. Without wrk it returns
// a note.
func runWrk(ctx context.Context, e *env) ([]wrkRow, string, error) {
	bin, err := exec.LookPath("wrk")
	if err != nil {
		return nil, "wrk is not installed (apt-get install wrk): the end-to-end runs were skipped.", nil
	}
	type running struct {
		name, url, script string
	}
	var servers []running
	defer e.close()
	for _, srv := range wrkServers() {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, "", err
		}
		cookies, stop, err := srv.start(ctx, e, ln)
		if err != nil {
			ln.Close()
			return nil, "", fmt.Errorf("%s: %w", srv.name, err)
		}
		defer stop()
		script, err := wrkScript(e.dir, cookies)
		if err != nil {
			return nil, "", err
		}
		r := running{srv.name, "http://" + ln.Addr().String() + "/read", script}
		// Warm-up: opens the pool's connections and fills caches (not
		// in a smoke run, which checks that it works, not how fast).
		if e.cfg.maxOps == 0 {
			if _, err := wrkRun(ctx, bin, r.script, r.url, maxInt(e.cfg.wrkConns), time.Second); err != nil {
				return nil, "", fmt.Errorf("%s: %w", srv.name, err)
			}
		}
		servers = append(servers, r)
	}
	rounds := max(1, int(e.cfg.wrkD/time.Second))
	var rows []wrkRow
	for _, c := range e.cfg.wrkConns {
		turns := make([][]wrkRow, len(servers))
		for r := 0; r < rounds; r++ {
			for j := range servers {
				i := j
				if r%2 == 1 {
					i = len(servers) - 1 - j
				}
				w, err := wrkRun(ctx, bin, servers[i].script, servers[i].url, c, time.Second)
				if err != nil {
					return rows, "", fmt.Errorf("%s: %w", servers[i].name, err)
				}
				turns[i] = append(turns[i], w)
			}
		}
		for i, srv := range servers {
			row := medianTurn(turns[i])
			row.server, row.conns = srv.name, c
			var ratios []float64
			for r := range turns[i] {
				ratios = append(ratios, turns[i][r].rps/turns[0][r].rps)
			}
			row.ratio = median(ratios)
			logf(e.cfg, "   %-40s %3d connections: %8.0f requests/s (%.2f×), p99 %v", row.server, c, row.rps, row.ratio, row.p99)
			rows = append(rows, row)
		}
	}
	return rows, "", nil
}

// medianTurn sums up wrk turns: the median rate and latencies, and the
// total of socket errors.
func medianTurn(turns []wrkRow) wrkRow {
	var rps []float64
	var p50, p99 []time.Duration
	var out wrkRow
	for _, t := range turns {
		rps = append(rps, t.rps)
		p50, p99 = append(p50, t.p50), append(p99, t.p99)
		out.errs += t.errs
	}
	slices.Sort(p50)
	slices.Sort(p99)
	out.rps = median(rps)
	out.p50, out.p99 = p50[len(p50)/2], p99[len(p99)/2]
	return out
}

// wrkScript writes a wrk Lua script that sends GET requests, taking turns
// on the cookies.
func wrkScript(dir string, cookies []string) (string, error) {
	var b strings.Builder
	b.WriteString("local cookies = {\n")
	for _, c := range cookies {
		fmt.Fprintf(&b, "  %q,\n", c)
	}
	b.WriteString("}\nlocal i = 0\nrequest = function()\n  i = i + 1\n  return wrk.format(\"GET\", nil, { [\"Cookie\"] = cookies[(i % #cookies) + 1] })\nend\n")
	path := filepath.Join(dir, randomName("wrk")+".lua")
	return path, os.WriteFile(path, []byte(b.String()), 0o644)
}

var (
	wrkRPS    = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkPct    = regexp.MustCompile(`(?m)^\s+(50|99)%\s+(\S+)`)
	wrkNon2xx = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
	wrkSock   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

func wrkRun(ctx context.Context, bin, script, url string, conns int, d time.Duration) (wrkRow, error) {
	secs := max(1, int(d.Round(time.Second)/time.Second))
	threads := min(conns, 2)
	cmd := exec.CommandContext(ctx, bin, "-t"+strconv.Itoa(threads), "-c"+strconv.Itoa(conns), "-d"+strconv.Itoa(secs)+"s", "--latency", "-s", script, url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return wrkRow{}, fmt.Errorf("wrk: %w: %s", err, out)
	}
	return parseWrk(string(out), conns)
}

// parseWrk reads wrk's report.
func parseWrk(out string, conns int) (wrkRow, error) {
	r := wrkRow{conns: conns}
	m := wrkRPS.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no Requests/sec in wrk's output: %s", out)
	}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	for _, m := range wrkPct.FindAllStringSubmatch(out, -1) {
		d, err := time.ParseDuration(m[2])
		if err != nil {
			return r, fmt.Errorf("wrk latency %q: %w", m[2], err)
		}
		if m[1] == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		r.non2xx, _ = strconv.Atoi(m[1])
	}
	if m := wrkSock.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.Atoi(s)
			r.errs += n
		}
	}
	if r.non2xx > 0 {
		return r, fmt.Errorf("%d responses were not 2xx: a session was not found", r.non2xx)
	}
	return r, nil
}

func wrkMarkdown(b *strings.Builder, rows []wrkRow, note string, cfg *config) {
	if len(rows) == 0 && note == "" {
		return
	}
	b.WriteString("## End to end: read-only requests per second (wrk)\n\n")
	if note != "" {
		b.WriteString(note + "\n\n")
		return
	}
	fmt.Fprintf(b, "wrk (2 threads) on loopback against servers this program starts, on PostgreSQL, pools of %d connections. "+
		"The servers run side by side and take turns of one second, %s in all per server and number of connections; a row gives the median turn, "+
		"and × is the median of the ratios to the floor's turn of the same round. "+
		"Each GET carries the cookie of one of %d sessions in turn; the server loads the session and writes back its user. "+
		"The floor is a bare net/http handler doing one pgx SELECT for the cookie's token. wrk, the server and PostgreSQL share the %d cores.\n\n",
		cfg.pool, cfg.wrkD, wrkSessions, runtime.NumCPU())
	b.WriteString("| server | connections | requests/s | × floor | latency p50 | latency p99 | socket errors |\n|---|--:|--:|--:|--:|--:|--:|\n")
	for _, r := range rows {
		fmt.Fprintf(b, "| %s | %d | %s | %.2f× | %v | %v | %d |\n", r.server, r.conns, num(r.rps), r.ratio, round(r.p50), round(r.p99), r.errs)
	}
	b.WriteString("\n")
}
