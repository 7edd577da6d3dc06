package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"
)

// config is what one run measures.
type config struct {
	d           time.Duration // per cell, split over rounds
	rounds      int
	warm        time.Duration // untimed warm-up per target
	sessions    int           // preloaded per table
	conc        []int
	ops         []op
	families    []string // keys; empty: every family whose database is there
	targets     *regexp.Regexp
	pool        int // connections per pool (servers)
	sqliteConns int // connections per SQLite pool
	maxOps      int64
	pgDSN       string
	myDSN       string

	http     bool // writes per read-only request
	httpReqs int  // read-only requests per scenario

	wrk      bool
	wrkD     time.Duration
	wrkConns []int

	e2e         bool          // the end-to-end comparison of session managers (e2e.go)
	e2eD        time.Duration // per server and number of connections
	e2eTurn     time.Duration
	e2eConns    []int
	e2eSessions int

	cleanup     bool
	cleanupRows int
	cleanupFast bool          // also DeleteExpired with CleanupPause -1
	cleanupIdle time.Duration // p99 window without cleanup
	cleanupFor  time.Duration // stop DeleteExpired after this long; 0: when done

	out     string // Markdown report; "" for none
	command string // how this run was started, for the report
	log     io.Writer
}

func defaultConfig() *config {
	return &config{
		d:           time.Second,
		rounds:      10,
		warm:        200 * time.Millisecond,
		sessions:    10000,
		conc:        []int{1, 16, 64},
		ops:         allOps,
		pool:        16,
		sqliteConns: 1,
		http:        true,
		httpReqs:    200,
		wrk:         true,
		wrkD:        5 * time.Second,
		wrkConns:    []int{16, 64},
		e2e:         true,
		e2eD:        20 * time.Second,
		e2eTurn:     2 * time.Second,
		e2eConns:    []int{64},
		e2eSessions: 1000,
		cleanupRows: 1_000_000,
		cleanupFast: true,
		cleanupIdle: 5 * time.Second,
		pgDSN:       os.Getenv("SQLSESSION_TEST_POSTGRES_DSN"),
		myDSN:       os.Getenv("SQLSESSION_TEST_MYSQL_DSN"),
		log:         os.Stderr,
	}
}

// smoke turns cfg into a run of a few operations per cell.
func (c *config) smoke() {
	c.d = 50 * time.Millisecond
	c.rounds = 1
	c.warm = 10 * time.Millisecond
	c.sessions = 50
	c.maxOps = 8
	c.httpReqs = 4
	c.wrkD = time.Second
	c.e2eD, c.e2eTurn, c.e2eSessions = time.Second, time.Second, 20
	c.cleanupRows = 2000
	c.cleanupIdle = 200 * time.Millisecond
}

func main() {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	fs.DurationVar(&cfg.d, "d", cfg.d, "measured time per cell (op × goroutines × store)")
	fs.IntVar(&cfg.rounds, "rounds", cfg.rounds, "rounds per cell: the stores of a family take turns, -d/-rounds each")
	fs.IntVar(&cfg.sessions, "sessions", cfg.sessions, "sessions preloaded in every table")
	conc := fs.String("c", "1,16,64", "goroutines per cell, comma-separated")
	ops := fs.String("ops", "find,touch,save200,save4k,mixed,delete", "operations, comma-separated")
	fams := fs.String("db", "", "families, comma-separated (default: all whose database is set): postgres-pgx, postgres-sql, mysql, sqlite-modernc, sqlite-mattn")
	targets := fs.String("targets", "", "regexp: measure only the stores whose name matches (the floor always runs)")
	fs.IntVar(&cfg.pool, "pool", cfg.pool, "connections per PostgreSQL and MariaDB pool")
	fs.IntVar(&cfg.sqliteConns, "sqlite-conns", cfg.sqliteConns, "connections per SQLite pool")
	fs.StringVar(&cfg.pgDSN, "pg", cfg.pgDSN, "PostgreSQL DSN (default $SQLSESSION_TEST_POSTGRES_DSN)")
	fs.StringVar(&cfg.myDSN, "mysql", cfg.myDSN, "MariaDB DSN (default $SQLSESSION_TEST_MYSQL_DSN)")
	fs.BoolVar(&cfg.http, "http", cfg.http, "count database writes per read-only HTTP request (PostgreSQL)")
	fs.BoolVar(&cfg.wrk, "wrk", cfg.wrk, "end-to-end requests per second with wrk (PostgreSQL)")
	fs.DurationVar(&cfg.wrkD, "wrk-d", cfg.wrkD, "wrk duration per run")
	fs.BoolVar(&cfg.e2e, "e2e", cfg.e2e, "end-to-end comparison of session managers with wrk (PostgreSQL, Redis)")
	fs.DurationVar(&cfg.e2eD, "e2e-d", cfg.e2eD, "end-to-end time per server and number of connections")
	e2eConns := fs.String("e2e-c", "64", "end-to-end connections, comma-separated")
	fs.IntVar(&cfg.e2eSessions, "e2e-sessions", cfg.e2eSessions, "end-to-end sessions per server")
	fs.BoolVar(&cfg.cleanup, "cleanup", cfg.cleanup, "also measure Find p99 during DeleteExpired of -cleanup-rows expired rows (slow)")
	fs.IntVar(&cfg.cleanupRows, "cleanup-rows", cfg.cleanupRows, "expired rows for -cleanup")
	fs.DurationVar(&cfg.cleanupFor, "cleanup-for", cfg.cleanupFor, "with -cleanup, stop DeleteExpired after this long and report the rows deleted by then (0: when every expired row is gone)")
	fs.BoolVar(&cfg.cleanupFast, "cleanup-fast", cfg.cleanupFast, "with -cleanup, also measure batches back to back (CleanupPause -1) on the expired rows inserted again")
	fs.StringVar(&cfg.out, "out", "", "write the Markdown report to this file")
	smoke := fs.Bool("smoke", false, "a few operations per cell: checks that everything runs")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	fs.Parse(os.Args[1:])

	var err error
	if cfg.conc, err = parseInts(*conc); err != nil {
		fatal(err)
	}
	if cfg.e2eConns, err = parseInts(*e2eConns); err != nil {
		fatal(err)
	}
	if cfg.ops, err = parseOps(*ops); err != nil {
		fatal(err)
	}
	if *fams != "" {
		cfg.families = strings.Split(*fams, ",")
	}
	if *targets != "" {
		if cfg.targets, err = regexp.Compile(*targets); err != nil {
			fatal(err)
		}
	}
	if *smoke {
		cfg.smoke()
	}
	args := []string{"go", "run", "."}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "pg" || f.Name == "mysql" {
			return // DSNs may hold passwords
		}
		args = append(args, "-"+f.Name+"="+f.Value.String())
	})
	cfg.command = strings.Join(args, " ")

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := run(ctx, cfg)
	if rep != nil {
		md := rep.markdown()
		fmt.Print(md)
		if cfg.out != "" {
			if werr := os.WriteFile(cfg.out, []byte(md), 0o644); werr != nil {
				fatal(werr)
			}
		}
	}
	if err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad goroutine count %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func parseOps(s string) ([]op, error) {
	var out []op
	for _, f := range strings.Split(s, ",") {
		i := slices.IndexFunc(allOps, func(o op) bool { return o.flagName() == strings.TrimSpace(f) })
		if i < 0 {
			return nil, fmt.Errorf("unknown op %q", f)
		}
		out = append(out, allOps[i])
	}
	return out, nil
}

// run measures everything cfg asks for and returns the report, partial if
// an error stopped it.
func run(ctx context.Context, cfg *config) (*report, error) {
	dir, err := os.MkdirTemp("", "sqlsession-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	e := &env{cfg: cfg, dir: dir}
	defer e.close()

	rep := &report{cfg: cfg, started: time.Now()}
	rep.machine = machineInfo(ctx, e)
	for _, f := range families() {
		if !cfg.wantFamily(f) {
			continue
		}
		fr, err := runFamily(ctx, e, f)
		if fr != nil && !slices.Contains(fr.targets, nil) {
			rep.families = append(rep.families, fr)
		}
		e.close()
		if err != nil {
			return rep, fmt.Errorf("%s: %w", f.key, err)
		}
	}
	if (cfg.http || cfg.wrk || cfg.e2e) && cfg.pgDSN == "" {
		logf(cfg, "== writes per request and end to end: skipped, they need PostgreSQL (-pg or $SQLSESSION_TEST_POSTGRES_DSN)")
	}
	if cfg.http && cfg.pgDSN != "" {
		logf(cfg, "== writes per read-only request (PostgreSQL)")
		rows, err := runWrites(ctx, e)
		rep.writes = rows
		e.close()
		if err != nil {
			return rep, fmt.Errorf("writes: %w", err)
		}
	}
	if cfg.wrk && cfg.pgDSN != "" {
		logf(cfg, "== end to end with wrk (PostgreSQL)")
		rows, note, err := runWrk(ctx, e)
		rep.wrk, rep.wrkNote = rows, note
		e.close()
		if err != nil {
			return rep, fmt.Errorf("wrk: %w", err)
		}
	}
	if cfg.e2e && cfg.pgDSN != "" {
		logf(cfg, "== end to end: session managers with wrk (PostgreSQL, Redis)")
		res, err := runE2E(ctx, e)
		rep.e2e = res
		e.close()
		if err != nil {
			return rep, fmt.Errorf("e2e: %w", err)
		}
	}
	if cfg.cleanup {
		logf(cfg, "== cleanup under live traffic")
		rows, err := runCleanup(ctx, e)
		rep.cleanup = rows
		e.close()
		if err != nil {
			return rep, fmt.Errorf("cleanup: %w", err)
		}
	}
	rep.elapsed = time.Since(rep.started)
	rep.loadEnd = loadAverage()
	return rep, nil
}

// wantFamily reports whether f is selected and its database is set.
func (c *config) wantFamily(f family) bool {
	if len(c.families) > 0 && !slices.Contains(c.families, f.key) {
		return false
	}
	switch f.db {
	case "postgres":
		return c.pgDSN != ""
	case "mysql":
		return c.myDSN != ""
	}
	return true
}

// wantDB reports whether a database is selected (by a family on it) and set.
func (c *config) wantDB(db string) bool {
	for _, f := range families() {
		if f.db == db && c.wantFamily(f) {
			return true
		}
	}
	return false
}

func logf(cfg *config, format string, args ...any) {
	if cfg.log != nil {
		fmt.Fprintf(cfg.log, format+"\n", args...)
	}
}
