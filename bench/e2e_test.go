package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession/internal/testenv"
)

// TestE2ESmoke runs the end-to-end comparison for a second per server on
// PostgreSQL (skipped without wrk): every server answers every request
// with 200, and the report has its section.
func TestE2ESmoke(t *testing.T) {
	testenv.Open(t, "pgx", testenv.PostgresDSN)
	cfg := defaultConfig()
	cfg.smoke()
	cfg.log = testLog{t}
	cfg.pgDSN = testenv.DSN(t, testenv.PostgresDSN)
	cfg.e2eConns = []int{4}
	dir := t.TempDir()
	e := &env{cfg: cfg, dir: dir}
	defer e.close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := runE2E(ctx, e)
	if err != nil {
		t.Fatalf("runE2E() = %v", err)
	}
	if len(res.rows) == 0 && len(res.notes) == 1 && strings.Contains(res.notes[0], "wrk is not installed") {
		t.Skip(res.notes[0])
	}
	want := len(e2eServers(&e2eResult{})) - len(res.notes) // a note per server left out
	if len(res.rows) != want {
		t.Errorf("runE2E() measured %d servers, want %d (notes %q)", len(res.rows), want, res.notes)
	}
	for _, r := range res.rows {
		if r.rps <= 0 || r.allocs <= 0 {
			t.Errorf("%s: %.0f requests/s, %.0f allocs/request", r.server, r.rps, r.allocs)
		}
	}
	var b strings.Builder
	e2eMarkdown(&b, res, cfg)
	if !strings.Contains(b.String(), "| httpsession + sqlsession (pgxstore) | 4 |") {
		t.Errorf("e2eMarkdown() lacks the httpsession row:\n%s", b.String())
	}
}
