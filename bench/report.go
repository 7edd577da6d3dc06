package main

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// report is everything one run measured.
type report struct {
	cfg      *config
	started  time.Time
	elapsed  time.Duration
	machine  machine
	families []*familyResult
	writes   []writesRow
	wrk      []wrkRow
	wrkNote  string
	e2e      *e2eResult
	cleanup  []cleanupRow
	loadEnd  string
}

// goalRatio is the least ratio to its floor that a sqlsession cell must reach.
const goalRatio = 0.95

func (r *report) markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	cfg := r.cfg
	p("# sqlsession benchmarks\n\n")
	p("Made by the `bench` module of this repository, in one run:\n\n")
	p("```sh\ncd bench && %s\n```\n\n", cfg.command)
	p("Started %s; the run took %s.\n\n", r.started.UTC().Format("2006-01-02 15:04 UTC"), r.elapsed.Round(time.Second))

	p("## Machine\n\n")
	m := r.machine
	p("- CPU: %s, %d cores (GOMAXPROCS %d)", m.cpu, m.cores, m.cores)
	if m.kernel != "" {
		p(", %s", m.kernel)
	}
	p("\n- Go: %s\n", m.goVersion)
	var servers []string
	for _, s := range []string{m.postgres, m.mariadb} {
		if s != "" {
			servers = append(servers, s)
		}
	}
	if len(servers) > 0 {
		p("- Servers: %s, on the same machine, reached over loopback TCP, stock settings (durable commits: fsync on)\n", strings.Join(servers, ", "))
	}
	p("- SQLite: %s (modernc.org/sqlite), %s (mattn/go-sqlite3); WAL, synchronous=NORMAL, busy_timeout 10 s, cache_size 32 MB, in a temporary directory\n", m.sqliteModernc, m.sqliteMattn)
	if m.loadStart != "" {
		p("- Load average (1 min): %s when the run began, %s when it ended. The machine was not reserved for this run: anything else running shares the cores and the disk.\n", m.loadStart, r.loadEnd)
	}
	p("\n")

	p("## Method\n\n")
	p("- Every table starts with %d live sessions of 200 bytes. A cell is one operation at one number of goroutines; "+
		"it runs for %s per store, in %d turns of %s, the stores of a family taking turns (in reverse order every other round) "+
		"so that drift on the machine hits them alike.\n", cfg.sessions, cfg.d, cfg.rounds, cfg.d/time.Duration(cfg.rounds))
	p("- Operations: **Find** of a random live session; **Touch** (new expiry) of one; **Save** (upsert) of 200 B or 4 KB over one; " +
		"**Mixed**: 90%% Find, 9%% Save 200 B, 1%% Delete of random sessions; **Delete** of sessions seeded for it, each once " +
		"(as many as the store's Save rate says it can delete, plus a margin; a turn that runs out ends early, and its rate stays right).\n")
	p("- ops/s is the median over the turns of operations over wall time, all goroutines together. " +
		"The ratio (×) is the median over the rounds of the store's ops/s divided by the floor's in the same round, so that a burst of other work on the machine during one turn moves neither. allocs/op is `runtime.MemStats.Mallocs` over the cell divided by its operations: " +
		"the whole process, driver and pool included (the measuring loop allocates nothing).\n")
	p("- The floor is the raw driver of the same database and driver family, sending the same statements on a table of the same shape " +
		"(token, data, expiry in Unix ms), with the token as the key and nothing else. On MariaDB and SQLite it prepares each statement once " +
		"(`*sql.Stmt`), as sqlsession does there; the ad hoc form (`db.QueryRowContext` with arguments, as scs's stores do) is shown beside it. " +
		"Through pgx (pool or stdlib) ad hoc is the best form: pgx prepares and caches statements per connection itself.\n")
	p("- Pools: %d connections per PostgreSQL and MariaDB pool (pgxpool MaxConns, or database/sql MaxOpenConns = MaxIdleConns), "+
		"%d per SQLite pool; every store of a family gets the same pool settings, its own pool and its own schema, database or file.\n", cfg.pool, cfg.sqliteConns)
	p("- Operations get a context that is never cancelled (`context.WithoutCancel`), as scs's stores, which take no context, use `context.Background()`. " +
		"Under an HTTP request's context, which can be cancelled, pgx also watches each query for cancellation: a few more allocations per operation for the stores that honour the context.\n")
	p("- sqlsession runs with its default options (hashed tokens, no sliding expiry, no background cleanup). " +
		"scs's stores run with their cleanup goroutine off and have no Touch. scs's pgxstore is built with the pgx version this module selects (v5.12).\n")
	p("- wader/gormstore is a gorilla/sessions store, so it is driven through that API as directly as it allows: Find is `Store.New` on a request " +
		"carrying the session's signed cookie (cookie check, one SELECT, decoding of the values); Save is `Store.Save` of a session whose one value " +
		"holds the data (a SELECT for the cookie's row, then GORM's Save: an UPDATE in a transaction); Delete is `Store.Save` with MaxAge -1 " +
		"(a SELECT, then a DELETE in a transaction). Requests are built before the measurement. GORM runs with its defaults (logger off). " +
		"Its `Store.New` sets the store's MaxAge on every call, a data race between concurrent requests that `go test -race` reports: " +
		"its concurrent cells run here without the race detector, and are skipped under it.\n")
	p("- Not measured: antonlindstrom/pgstore, scs's gormstore and gofiber/storage, which the Go module proxy does not serve.\n\n")

	for _, f := range r.families {
		r.familyTable(&b, f)
	}
	r.goals(&b)
	writesMarkdown(&b, r.writes)
	wrkMarkdown(&b, r.wrk, r.wrkNote, cfg)
	e2eMarkdown(&b, r.e2e, cfg)
	cleanupMarkdown(&b, r.cleanup)
	return b.String()
}

func (r *report) familyTable(b *strings.Builder, f *familyResult) {
	fmt.Fprintf(b, "## %s\n\n", f.fam.title)
	fmt.Fprintf(b, "Each cell: ops/s · ratio to the floor · allocs/op.\n\n")
	b.WriteString("| op | goroutines |")
	for _, t := range f.targets {
		name := t.name
		if t.role == roleFloor {
			name = "floor: " + name
		}
		fmt.Fprintf(b, " %s |", name)
	}
	b.WriteString("\n|---|--:|")
	for range f.targets {
		b.WriteString("--:|")
	}
	b.WriteString("\n")
	for _, o := range r.cfg.ops {
		for _, c := range r.cfg.conc {
			k := cellKey{o, c}
			fmt.Fprintf(b, "| %s | %d |", o, c)
			floor := f.floor().cells[k]
			for i, t := range f.targets {
				a := t.cells[k]
				switch {
				case a == nil:
					b.WriteString(" |")
				case a.skipped != "":
					fmt.Fprintf(b, " — (%s) |", a.skipped)
				default:
					fmt.Fprintf(b, " %s", num(a.rate()))
					if i > 0 && floor.rate() > 0 {
						ratio := relative(a, floor)
						if t.role == roleCore && ratio < goalRatio {
							fmt.Fprintf(b, " · **%.2f×**", ratio)
						} else {
							fmt.Fprintf(b, " · %.2f×", ratio)
						}
					}
					fmt.Fprintf(b, " · %s |", allocs(a.allocs()))
				}
			}
			b.WriteString("\n")
		}
	}
	b.WriteString("\n")
}

// num formats a rate with thousands separators.
func num(x float64) string {
	s := fmt.Sprintf("%.0f", x)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func allocs(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	if x < 10 {
		return fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("%.0f", x)
}

// goals checks the three goals on the measured cells.
func (r *report) goals(b *strings.Builder) {
	if len(r.families) == 0 {
		return
	}
	fmt.Fprintf(b, "## Goals\n\n")

	// 1. Every sqlsession cell at 0.95× its floor or better.
	var total, met int
	type miss struct {
		where string
		ratio float64
	}
	var misses []miss
	for _, f := range r.families {
		for _, t := range f.targets {
			if t.role != roleCore {
				continue
			}
			for _, o := range r.cfg.ops {
				for _, c := range r.cfg.conc {
					k := cellKey{o, c}
					a, fl := t.cells[k], f.floor().cells[k]
					if a == nil || a.skipped != "" || fl.rate() == 0 {
						continue
					}
					total++
					ratio := relative(a, fl)
					if ratio >= goalRatio {
						met++
					} else {
						misses = append(misses, miss{fmt.Sprintf("%s: %s, %s, %d goroutines", f.fam.title, t.name, o, c), ratio})
					}
				}
			}
		}
	}
	fmt.Fprintf(b, "**Throughput: every sqlsession cell ≥ %.2f× its floor.** %d of %d cells meet it.", goalRatio, met, total)
	if len(misses) == 0 {
		b.WriteString("\n\n")
	} else {
		b.WriteString(" Below it:\n\n")
		sort.Slice(misses, func(i, j int) bool { return misses[i].ratio < misses[j].ratio })
		for _, m := range misses {
			fmt.Fprintf(b, "- %.2f× — %s\n", m.ratio, m.where)
		}
		b.WriteString("\n")
	}

	// 2. MariaDB without interpolateParams: the core's prepared statements
	// against the ad hoc form.
	for _, f := range r.families {
		if f.fam.key != "mysql" {
			continue
		}
		core, adhoc, adhocFloor := f.target("sqlsession database/sql"), f.target("sqlsession on SQLBackend (ad hoc)"), f.target("raw database/sql, ad hoc")
		if core == nil || adhoc == nil || adhocFloor == nil {
			continue
		}
		fmt.Fprintf(b, "**MariaDB without interpolateParams.** With go-sql-driver/mysql's default DSN, a statement sent with arguments "+
			"is prepared, executed and closed: three round trips. `sqlsession.New` keeps the Store's statements prepared on MySQL and SQLite "+
			"(one round trip); \"sqlsession on SQLBackend\" is the same Store sending every statement ad hoc, as it would without that:\n\n")
		b.WriteString("| op | goroutines | sqlsession ÷ floor (prepared once) | sqlsession on SQLBackend ÷ floor | sqlsession on SQLBackend ÷ ad hoc floor |\n|---|--:|--:|--:|--:|\n")
		for _, o := range r.cfg.ops {
			for _, c := range r.cfg.conc {
				k := cellKey{o, c}
				a := core.cells[k]
				if a == nil || a.skipped != "" {
					continue
				}
				fl := f.floor().cells[k]
				fmt.Fprintf(b, "| %s | %d | %s | %s | %s |\n", o, c, ratio(a, fl), ratio(adhoc.cells[k], fl), ratio(adhoc.cells[k], adhocFloor.cells[k]))
			}
		}
		b.WriteString("\n")
	}

	// 3. Allocations per op no more than scs pgxstore's.
	for _, f := range r.families {
		if f.fam.key != "postgres-pgx" {
			continue
		}
		core, peer := f.target("sqlsession pgxstore"), f.target("scs pgxstore")
		if core == nil || peer == nil {
			continue
		}
		var n, ok int
		var rows strings.Builder
		for _, o := range r.cfg.ops {
			for _, c := range r.cfg.conc {
				k := cellKey{o, c}
				a, p := core.cells[k], peer.cells[k]
				if a == nil || p == nil || a.skipped != "" || p.skipped != "" || a.ops == 0 || p.ops == 0 {
					continue
				}
				n++
				verdict := "met"
				if a.allocs() <= p.allocs() {
					ok++
				} else {
					verdict = fmt.Sprintf("**missed by %.1f**", a.allocs()-p.allocs())
				}
				fmt.Fprintf(&rows, "| %s | %d | %s | %s | %s |\n", o, c, allocs(a.allocs()), allocs(p.allocs()), verdict)
			}
		}
		fmt.Fprintf(b, "**Allocations: sqlsession pgxstore ≤ scs pgxstore per op.** %d of %d cells meet it.\n\n", ok, n)
		b.WriteString("| op | goroutines | sqlsession pgxstore allocs/op | scs pgxstore allocs/op | |\n|---|--:|--:|--:|---|\n")
		b.WriteString(rows.String())
		b.WriteString("\n")
	}
}

func ratio(a, floor *agg) string {
	if a == nil || floor == nil || floor.rate() == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", relative(a, floor))
}
