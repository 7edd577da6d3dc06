package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/pgxstore"
)

// cleanupRow is one database's cleanup under live traffic.
type cleanupRow struct {
	db, mode         string
	expired, deleted int64
	live             int
	took             time.Duration
	stopped          bool          // DeleteExpired was stopped by -cleanup-for
	bound            time.Duration // -cleanup-for
	batch            int
	findIdle         latencies
	findBusy         latencies
	saveIdle         latencies
	saveBusy         latencies
}

// latencies summarizes operation latencies.
type latencies struct {
	n        int
	p50, p99 time.Duration
}

// show formats d, one of l's percentiles, or "–" without samples.
func (l latencies) show(d time.Duration) string {
	if l.n == 0 {
		return "–"
	}
	return round(d).String()
}

func summarize(ds []time.Duration) latencies {
	if len(ds) == 0 {
		return latencies{}
	}
	slices.Sort(ds)
	at := func(q float64) time.Duration { return ds[min(len(ds)-1, int(q*float64(len(ds))))] }
	return latencies{n: len(ds), p50: at(0.50), p99: at(0.99)}
}

// trafficRate is the live traffic during the cleanup measurement, in
// operations per second over all workers: 90% Find, 10% Save.
const (
	trafficRate    = 1000
	trafficWorkers = 8
)

// cleanupTarget is a store with a table to fill with expired rows.
type cleanupTarget struct {
	name string
	db   string
	open func(ctx context.Context, e *env) (*cleanupStore, error)
}

// cleanupStore is an opened cleanupTarget.
type cleanupStore struct {
	s       *sqlsession.Store
	nopause *sqlsession.Store                                    // on the same table, with CleanupPause -1
	seed    seedFunc                                             // live sessions
	fill    func(ctx context.Context, n int, before int64) error // expired rows
	live    []string                                             // tokens of the live sessions
}

func cleanupTargets() []cleanupTarget {
	return []cleanupTarget{
		{"PostgreSQL (pgxstore)", "postgres", func(ctx context.Context, e *env) (*cleanupStore, error) {
			p, err := e.pgSchemaPool(ctx, nil)
			if err != nil {
				return nil, err
			}
			s, err := pgxstore.New(p, sqlsession.Options{})
			if err != nil {
				return nil, err
			}
			fill := func(ctx context.Context, n int, before int64) error {
				if _, err := p.Exec(ctx, `INSERT INTO sessions (token, data, expires_at)
					SELECT 'expired-' || g, decode(repeat('ab', 200), 'hex'), $1::bigint - g
					FROM generate_series(1, $2::int) g`, before, n); err != nil {
					return err
				}
				_, err := p.Exec(ctx, "VACUUM ANALYZE sessions")
				return err
			}
			nopause, err := pgxstore.New(p, sqlsession.Options{CleanupPause: -1})
			if err != nil {
				return nil, err
			}
			return &cleanupStore{s: s, nopause: nopause, seed: coreSeed(pgxExec(p), "postgres", true), fill: fill}, nil
		}},
		{"MariaDB (database/sql)", "mysql", func(ctx context.Context, e *env) (*cleanupStore, error) {
			db, err := e.myDB(ctx, false)
			if err != nil {
				return nil, err
			}
			s, err := sqlsession.New(db, sqlsession.MySQL, sqlsession.Options{})
			if err != nil {
				return nil, err
			}
			fill := func(ctx context.Context, n int, before int64) error {
				const step = 100_000
				for lo := 1; lo <= n; lo += step {
					hi := min(n, lo+step-1)
					conn, err := db.Conn(ctx)
					if err != nil {
						return err
					}
					// Recursion stops at 1000 rows by default: raise the
					// limit (MariaDB's variable, then MySQL 8's; each
					// server rejects the other's).
					conn.ExecContext(ctx, "SET SESSION max_recursive_iterations = 200000")
					conn.ExecContext(ctx, "SET SESSION cte_max_recursion_depth = 200000")
					_, err = conn.ExecContext(ctx, `INSERT INTO sessions (token, data, expires_at)
						WITH RECURSIVE seq(n) AS (SELECT ? UNION ALL SELECT n + 1 FROM seq WHERE n < ?)
						SELECT CONCAT('expired-', n), REPEAT('x', 200), ? - n FROM seq`, lo, hi, before)
					conn.Close()
					if err != nil {
						return err
					}
				}
				_, err := db.ExecContext(ctx, "ANALYZE TABLE sessions")
				return err
			}
			nopause, err := sqlsession.New(db, sqlsession.MySQL, sqlsession.Options{CleanupPause: -1})
			if err != nil {
				return nil, err
			}
			return &cleanupStore{s: s, nopause: nopause, seed: coreSeed(sqlExec(db), "mysql", true), fill: fill}, nil
		}},
		{"SQLite (modernc, database/sql)", "sqlite", func(ctx context.Context, e *env) (*cleanupStore, error) {
			db, err := e.sqliteDB("sqlite")
			if err != nil {
				return nil, err
			}
			s, err := sqlsession.New(db, sqlsession.SQLite, sqlsession.Options{})
			if err != nil {
				return nil, err
			}
			fill := func(ctx context.Context, n int, before int64) error {
				if _, err := db.ExecContext(ctx, `INSERT INTO sessions (token, data, expires_at)
					WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?)
					SELECT 'expired-' || n, randomblob(200), ? - n FROM seq`, n, before); err != nil {
					return err
				}
				return settle(ctx, sqlExec(db), "sqlite")
			}
			nopause, err := sqlsession.New(db, sqlsession.SQLite, sqlsession.Options{CleanupPause: -1})
			if err != nil {
				return nil, err
			}
			return &cleanupStore{s: s, nopause: nopause, seed: coreSeed(sqlExec(db), "sqlite", true), fill: fill}, nil
		}},
	}
}

// runCleanup measures, per database, Find and Save latency under steady
// traffic, first idle, then while DeleteExpired removes the expired rows.
func runCleanup(ctx context.Context, e *env) ([]cleanupRow, error) {
	var rows []cleanupRow
	for _, t := range cleanupTargets() {
		if !e.cfg.wantDB(t.db) {
			continue
		}
		rs, err := cleanupOne(ctx, e, t)
		e.close()
		rows = append(rows, rs...)
		if err != nil {
			return rows, fmt.Errorf("%s: %w", t.name, err)
		}
	}
	return rows, nil
}

// Cleanup modes.
const (
	modePlain = "default: adaptive pacing (CleanupPause 0)"
	modePaced = "CleanupPause -1: batches of 1000 back to back"
)

// cleanupOne measures DeleteExpired with its default, adaptive pacing,
// then, on the expired rows inserted again, with CleanupPause -1: batches of
// CleanupBatchSize back to back, as fast as the database goes.
func cleanupOne(ctx context.Context, e *env, t cleanupTarget) ([]cleanupRow, error) {
	cs, err := t.open(ctx, e)
	if err != nil {
		return nil, err
	}
	defer cs.s.Close()
	defer cs.nopause.Close()
	plain, err := cleanupRun(ctx, e, t, cs, cs.s, modePlain, nil)
	if err != nil || !e.cfg.cleanupFast {
		return []cleanupRow{plain}, err
	}
	paced, err := cleanupRun(ctx, e, t, cs, cs.nopause, modePaced, &plain)
	return []cleanupRow{plain, paced}, err
}

// cleanupRun fills the table and measures traffic while cleaner removes
// the expired rows; with idle nil it first measures traffic alone (and
// seeds the live sessions), else it reuses idle's.
func cleanupRun(ctx context.Context, e *env, t cleanupTarget, cs *cleanupStore, cleaner *sqlsession.Store, mode string, idle *cleanupRow) (cleanupRow, error) {
	cfg := e.cfg
	row := cleanupRow{db: t.name, mode: mode, expired: int64(cfg.cleanupRows), bound: cfg.cleanupFor}
	s := cs.s
	row.batch = s.Options().CleanupBatchSize
	start := time.Now()
	if idle == nil {
		if err := s.CreateTable(ctx); err != nil {
			return row, err
		}
		cs.live = make([]string, cfg.sessions)
		for i := range cs.live {
			cs.live[i] = sqlsession.NewToken()
		}
		if err := cs.seed(ctx, cs.live, randomBytes(200), defaultExpiry()); err != nil {
			return row, err
		}
	}
	live := cs.live
	row.live = len(live)
	if err := cs.fill(ctx, cfg.cleanupRows, time.Now().Add(-time.Minute).UnixMilli()); err != nil {
		return row, fmt.Errorf("fill: %w", err)
	}
	logf(cfg, "   %-32s %d expired rows and %d live sessions in %v", t.name, cfg.cleanupRows, len(live), time.Since(start).Round(time.Millisecond))

	// Idle: traffic alone, half before the cleanup and half after it, so
	// that a change in what else the machine runs falls on both sides.
	var findIdle, saveIdle []time.Duration
	alone := func() error {
		f, sv, err := traffic(ctx, s, live, func(stop <-chan struct{}) error {
			select {
			case <-time.After(cfg.cleanupIdle / 2):
			case <-ctx.Done():
			}
			return nil
		})
		findIdle, saveIdle = append(findIdle, f...), append(saveIdle, sv...)
		return err
	}
	if err := alone(); err != nil {
		return row, err
	}
	// Busy: traffic while the cleaner's DeleteExpired runs.
	findBusy, saveBusy, err := traffic(ctx, s, live, func(<-chan struct{}) error {
		dctx := ctx
		if cfg.cleanupFor > 0 {
			var cancel context.CancelFunc
			dctx, cancel = context.WithTimeout(ctx, cfg.cleanupFor)
			defer cancel()
		}
		t0 := time.Now()
		n, err := cleaner.DeleteExpired(dctx)
		row.took, row.deleted = time.Since(t0), n
		if errors.Is(err, context.DeadlineExceeded) && dctx.Err() != nil && ctx.Err() == nil {
			row.stopped, err = true, nil
		}
		return err
	})
	if err != nil {
		return row, err
	}
	row.findBusy, row.saveBusy = summarize(findBusy), summarize(saveBusy)
	if err := alone(); err != nil {
		return row, err
	}
	row.findIdle, row.saveIdle = summarize(findIdle), summarize(saveIdle)
	stopped := ""
	if row.stopped {
		stopped = " (stopped by -cleanup-for)"
	}
	logf(cfg, "   %-32s %s: deleted %d in %v%s; Find p99 %v idle, %v during cleanup", t.name, mode, row.deleted, row.took.Round(time.Millisecond), stopped, row.findIdle.p99, row.findBusy.p99)
	if row.deleted != row.expired && !row.stopped {
		return row, fmt.Errorf("DeleteExpired removed %d rows, want %d", row.deleted, row.expired)
	}
	return row, nil
}

// traffic runs paced Finds and Saves on live sessions while during runs,
// and returns their latencies.
func traffic(ctx context.Context, s *sqlsession.Store, live []string, during func(stop <-chan struct{}) error) (finds, saves []time.Duration, err error) {
	stop := make(chan struct{})
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	period := time.Second * trafficWorkers / trafficRate
	data := randomBytes(200)
	for w := 0; w < trafficWorkers; w++ {
		wg.Add(1)
		go func(seed rng) {
			defer wg.Done()
			var f, sv []time.Duration
			next := time.Now()
			for i := 0; ; i++ {
				next = next.Add(period)
				select {
				case <-stop:
					mu.Lock()
					finds, saves = append(finds, f...), append(saves, sv...)
					mu.Unlock()
					return
				case <-time.After(time.Until(next)):
				}
				tok := live[seed.next()%uint64(len(live))]
				t0 := time.Now()
				var err error
				if seed.next()%10 == 0 {
					err = s.Save(ctx, tok, data, time.Now().Add(lifetime))
					sv = append(sv, time.Since(t0))
				} else {
					var found bool
					_, found, err = s.Find(ctx, tok)
					f = append(f, time.Since(t0))
					if err == nil && !found {
						err = fmt.Errorf("live session not found")
					}
				}
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}(rng(uint64(time.Now().UnixNano()) | uint64(w+1)<<1 | 1))
	}
	derr := during(stop)
	close(stop)
	wg.Wait()
	if derr != nil {
		return finds, saves, derr
	}
	return finds, saves, first
}

func cleanupMarkdown(b *strings.Builder, rows []cleanupRow) {
	if len(rows) == 0 {
		return
	}
	b.WriteString("## Cleanup under live traffic\n\n")
	fmt.Fprintf(b, "Each table holds %d expired rows (inserted in bulk, then analyzed) and %d live sessions. "+
		"%d goroutines send steady traffic, %d operations per second in all (90%% Find, 10%% Save of live sessions): first alone "+
		"(idle), and while `Store.DeleteExpired` removes every expired row. Goal: Find p99 during cleanup at most 2× idle, with steady progress (rows/s).\n\n",
		rows[0].expired, rows[0].live, trafficWorkers, trafficRate)
	b.WriteString("Idle is measured half before the cleanup and half after it, so that a change in the machine's other load falls on both sides. The first row of each database is `DeleteExpired` as it ships: adaptive pacing (`Options.CleanupPause` 0, a duty cycle on the time the batches take: on PostgreSQL and MariaDB batches of up to `CleanupBatchSize` taking a quarter of the time; on SQLite batches sized to take about as long as a slow live read, a tenth of the time, and a pause 200 times as long after a batch that stalled; everywhere a longer wait, up to eight batches' time, while a probe finds the database slower than usual). The second row is `CleanupPause: -1`: batches of `CleanupBatchSize` (1000) back to back, as fast as the database goes.\n\n")
	if slices.ContainsFunc(rows, func(r cleanupRow) bool { return r.stopped }) {
		fmt.Fprintf(b, "A row whose time says \"stopped\" is a cleanup stopped after the bound of `-cleanup-for` (%v), with rows still expired: its latencies are those of that part of the cleanup, and its rows/s those of the rows deleted by then.\n\n", rows[0].bound)
	}
	b.WriteString("| database | cleanup | deleted | took | rows/s | largest batch | Find p50 idle → cleanup | Find p99 idle → cleanup | Find p99 × | goal | Save p99 idle → cleanup |\n|---|---|--:|--:|--:|--:|--:|--:|--:|---|--:|\n")
	for _, r := range rows {
		ratio, goal := "–", "not measured: the cleanup ended before any operation"
		if r.findBusy.n > 0 && r.findIdle.n > 0 {
			x := float64(r.findBusy.p99) / float64(max(r.findIdle.p99, 1))
			ratio, goal = fmt.Sprintf("%.2f×", x), "met"
			if x > 2 {
				goal = "**missed**"
			}
		}
		took := r.took.Round(time.Millisecond).String()
		if r.stopped {
			took += ", stopped"
		}
		fmt.Fprintf(b, "| %s | %s | %d | %s | %s | %d | %s → %s | %s → %s | %s | %s | %s → %s |\n",
			r.db, r.mode, r.deleted, took, num(float64(r.deleted)/r.took.Seconds()), r.batch,
			r.findIdle.show(r.findIdle.p50), r.findBusy.show(r.findBusy.p50), r.findIdle.show(r.findIdle.p99), r.findBusy.show(r.findBusy.p99), ratio, goal,
			r.saveIdle.show(r.saveIdle.p99), r.saveBusy.show(r.saveBusy.p99))
	}
	b.WriteString("\n")
}

func round(d time.Duration) time.Duration {
	switch {
	case d > 10*time.Millisecond:
		return d.Round(time.Millisecond)
	case d > 10*time.Microsecond:
		return d.Round(time.Microsecond)
	}
	return d
}
