package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession/internal/testenv"
)

// testLog sends the program's progress lines to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Helper()
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestSmoke runs every cell, the writes count, the cleanup measurement and,
// when wrk is installed, the end-to-end run, a few operations each: on
// SQLite always, on PostgreSQL and MariaDB when their DSNs are set (strict
// mode makes a missing one a failure).
func TestSmoke(t *testing.T) {
	dbs := []struct {
		name     string
		env      string // "" for SQLite
		families []string
	}{
		{"sqlite", "", []string{"sqlite-modernc", "sqlite-mattn"}},
		{"postgres", testenv.PostgresDSN, []string{"postgres-pgx", "postgres-sql"}},
		{"mariadb", testenv.MySQLDSN, []string{"mysql"}},
	}
	for _, db := range dbs {
		t.Run(db.name, func(t *testing.T) {
			cfg := defaultConfig()
			cfg.smoke()
			cfg.log = testLog{t}
			cfg.families = db.families
			cfg.wrkConns = []int{2}
			cfg.cleanup = true
			cfg.command = "go test -run TestSmoke"
			cfg.pgDSN, cfg.myDSN = "", ""
			switch db.env {
			case testenv.PostgresDSN:
				testenv.Open(t, "pgx", db.env) // skips, or fails in strict mode, without a server
				cfg.pgDSN = testenv.DSN(t, db.env)
			case testenv.MySQLDSN:
				testenv.Open(t, "mysql", db.env)
				cfg.myDSN = testenv.DSN(t, db.env)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			rep, err := run(ctx, cfg)
			if err != nil {
				t.Fatalf("run() = %v", err)
			}
			if len(rep.families) != len(db.families) {
				t.Fatalf("run() measured %d families, want %d", len(rep.families), len(db.families))
			}
			for _, f := range rep.families {
				for _, tr := range f.targets {
					for _, o := range cfg.ops {
						for _, c := range cfg.conc {
							a := tr.cells[cellKey{o, c}]
							switch {
							case a == nil:
								t.Errorf("%s / %s / %s c=%d: no cell", f.fam.key, tr.name, o, c)
							case a.skipped != "":
							case a.ops == 0:
								t.Errorf("%s / %s / %s c=%d: no operations", f.fam.key, tr.name, o, c)
							case o == opFind && a.misses > 0:
								t.Errorf("%s / %s / Find c=%d: %d of %d preloaded sessions not found", f.fam.key, tr.name, c, a.misses, a.ops)
							}
						}
					}
				}
			}
			if db.env == testenv.PostgresDSN && len(rep.writes) != len(scenarios()) {
				t.Errorf("writes: %d scenarios measured, want %d", len(rep.writes), len(scenarios()))
			}
			if len(rep.cleanup) != 2 {
				t.Errorf("cleanup: %d runs measured, want 2 (default pacing, and no pause)", len(rep.cleanup))
			}
			md := rep.markdown()
			for _, f := range rep.families {
				if !strings.Contains(md, "## "+f.fam.title) {
					t.Errorf("markdown() lacks the section %q", f.fam.title)
				}
			}
		})
	}
}

func TestParseWrk(t *testing.T) {
	const out = `Running 5s test @ http://127.0.0.1:40000/read
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.02ms  512.00us  12.00ms   80.00%
    Req/Sec     7.90k   400.00     8.50k    70.00%
  Latency Distribution
     50%  0.95ms
     75%    1.20ms
     90%    1.60ms
     99%    3.10ms
  78612 requests in 5.00s, 9.50MB read
  Socket errors: connect 0, read 1, write 0, timeout 2
Requests/sec:  15722.40
Transfer/sec:      1.90MB
`
	r, err := parseWrk(out, 16)
	if err != nil {
		t.Fatalf("parseWrk() = %v", err)
	}
	want := wrkRow{conns: 16, rps: 15722.40, p50: 950 * time.Microsecond, p99: 3100 * time.Microsecond, errs: 3}
	if r != want {
		t.Errorf("parseWrk() = %+v, want %+v", r, want)
	}
	if _, err := parseWrk(out+"  Non-2xx or 3xx responses: 7\n", 16); err == nil {
		t.Errorf("parseWrk(with non-2xx) = nil error, want one")
	}
}
