package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
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

// wrkServers are the servers of the report's shorter wrk section: the
// floor and scs on sqlsession and on its own pgxstore, from the end-to-end
// comparison (e2e.go).
func wrkServers() []e2eServer {
	return []e2eServer{
		{nameFloor, startE2EFloor},
		{nameScsCore, startE2EScs(scsOnCore)},
		{nameScsPgx, startE2EScs(scsOnPgx)},
	}
}

// runWrk measures read-only requests per second with wrk, through the
// end-to-end harness: turns of one second, -wrk-d per server and number
// of connections in all. Without wrk it returns a note.
func runWrk(ctx context.Context, e *env) ([]wrkRow, string, error) {
	rows, notes, err := runServers(ctx, e, wrkServers(), wrkSessions, e.cfg.wrkConns, e.cfg.wrkD, time.Second)
	var out []wrkRow
	for _, r := range rows {
		out = append(out, r.wrkRow)
	}
	return out, strings.Join(notes, " "), err
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
