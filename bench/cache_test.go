package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/internal/testenv"
)

// The cells of the session cache (sqlsession.Options.Cache): what its
// change log costs writes, what it gives reads, and what it gives an
// httpsession server end to end. Run them with a fixed count, since each
// cell seeds its tables first:
//
//	go test -run '^$' -bench 'Cache(Writes|Find)' -benchtime 200000x -timeout 60m .
//	go test -run '^$' -bench CacheE2E -benchtime 5x -timeout 60m .
//
// PostgreSQL and MariaDB run when their DSNs are set; SQLite always runs.

// cacheSessions is how many sessions each table holds.
const cacheSessions = 10000

// cacheOn is the cache of the measured Stores: room for every session.
var cacheOn = sqlsession.CacheOptions{MaxEntries: 2 * cacheSessions}

// cacheFamily opens a Store with the given options in a namespace of its
// own on one database.
type cacheFamily struct {
	name string
	env  string // DSN variable; "" for SQLite
	open func(ctx context.Context, e *env, opts sqlsession.Options) (*sqlsession.Store, error)
}

func cacheFamilies() []cacheFamily {
	sqlStore := func(driver string) func(context.Context, *env, sqlsession.Options) (*sqlsession.Store, error) {
		return func(ctx context.Context, e *env, opts sqlsession.Options) (*sqlsession.Store, error) {
			_, d := dialectOf(driver)
			db, err := openDB(ctx, e, driver, false)
			if err != nil {
				return nil, err
			}
			s, err := sqlsession.New(db, d, opts)
			if err != nil {
				return nil, err
			}
			e.cleanup = append(e.cleanup, func() { s.Close() })
			return s, s.CreateTable(ctx)
		}
	}
	return []cacheFamily{
		{"postgres-pgxstore", testenv.PostgresDSN, func(ctx context.Context, e *env, opts sqlsession.Options) (*sqlsession.Store, error) {
			return coreOnPgx(ctx, e, nil, opts)
		}},
		{"mysql", testenv.MySQLDSN, sqlStore("mysql")},
		{"sqlite-modernc", "", sqlStore("sqlite")},
	}
}

// cacheEnv returns an env for one family, skipping the benchmark when its
// server is not set.
func cacheEnv(b *testing.B, f cacheFamily) *env {
	cfg := defaultConfig()
	if f.env != "" && os.Getenv(f.env) == "" {
		b.Skipf("set %s to run this benchmark", f.env)
	}
	cfg.pgDSN, cfg.myDSN = os.Getenv(testenv.PostgresDSN), os.Getenv(testenv.MySQLDSN)
	e := &env{cfg: cfg, dir: b.TempDir()}
	b.Cleanup(e.close)
	return e
}

// seedStore saves n sessions of 200 bytes through s, from 16 goroutines.
func seedStore(ctx context.Context, s *sqlsession.Store, n int) ([]string, error) {
	tokens := make([]string, n)
	for i := range tokens {
		tokens[i] = sqlsession.NewToken()
	}
	data := randomBytes(200)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				if err := s.Save(ctx, tokens[i], data, time.Now().Add(time.Hour)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return tokens, <-errs
}

// parallel runs op n times from g goroutines and returns the elapsed time.
func parallel(g int, n int64, op func(i int64) error) (time.Duration, error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var first atomic.Pointer[error]
	start := time.Now()
	for range g {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < n; i = next.Add(1) - 1 {
				if err := op(i); err != nil {
					first.CompareAndSwap(nil, &err)
					return
				}
			}
		})
	}
	wg.Wait()
	if p := first.Load(); p != nil {
		return 0, *p
	}
	return time.Since(start), nil
}

// BenchmarkCacheWrites measures what the change log costs writes: Save of
// 200 B over random sessions of a 10,000-session table, at 16 and 64
// goroutines, by three Stores on tables of their own: the cache off; the
// cache on but its reader never started (the trigger appends every change
// to the log, and Save drops its session from memory, but nothing reads
// the log); and the cache on (the same, with the Store's reader polling
// the log every 5 ms). The Stores take turns of b.N/60 saves each, in an
// order that rotates every turn, so drift on the machine hits all alike;
// the metrics are the median turn of each (off-ops/s, trigger-ops/s,
// on-ops/s) and the medians of the per-turn ratios to the cache off
// (trigger/off: what the trigger costs; on/off: the whole cost). Goal:
// on/off ≥ 0.9.
func BenchmarkCacheWrites(b *testing.B) {
	modes := []string{"off", "trigger", "on"}
	for _, f := range cacheFamilies() {
		for _, g := range []int{16, 64} {
			b.Run(fmt.Sprintf("%s/g=%d", f.name, g), func(b *testing.B) {
				if b.N == 1 {
					return // the probe run: seeding is for the measured one
				}
				e := cacheEnv(b, f)
				ctx := context.Background()
				stores := make([]*sqlsession.Store, len(modes))
				tokens := make([][]string, len(modes))
				for i, mode := range modes {
					opts := sqlsession.Options{}
					if mode != "off" {
						opts.Cache = cacheOn
					}
					s, err := f.open(ctx, e, opts)
					if err != nil {
						b.Fatal(err)
					}
					if tokens[i], err = seedStore(ctx, s, cacheSessions); err != nil {
						b.Fatal(err)
					}
					if mode == "on" {
						s.Find(ctx, tokens[i][0]) // starts the cache's reader
					}
					stores[i] = s
				}
				data := randomBytes(200)
				const turns = 20
				per := max(int64(b.N)/int64(len(modes)*turns), 1)
				rates := make([][]float64, len(modes))
				ratios := make([][]float64, len(modes))
				b.ResetTimer()
				for t := range turns {
					rate := make([]float64, len(modes))
					for k := range modes {
						i := (k + t) % len(modes) // each goes first, middle and last in turn
						if t%2 == 1 {
							i = len(modes) - 1 - i
						}
						s, toks := stores[i], tokens[i]
						d, err := parallel(g, per, func(n int64) error {
							return s.Save(ctx, toks[(n*7919)%cacheSessions], data, time.Now().Add(time.Hour))
						})
						if err != nil {
							b.Fatal(err)
						}
						rate[i] = float64(per) / d.Seconds()
						rates[i] = append(rates[i], rate[i])
					}
					for i := range modes {
						ratios[i] = append(ratios[i], rate[i]/rate[0])
					}
				}
				b.StopTimer()
				for i, mode := range modes {
					b.ReportMetric(median(rates[i]), mode+"-ops/s")
					if i > 0 {
						b.ReportMetric(median(ratios[i]), mode+"/off")
					}
				}
				if st := stores[1].CacheStats(); st.Polls > 0 {
					b.Errorf("the trigger-only Store read the change log %d times", st.Polls)
				}
				if st := stores[2].CacheStats(); st.PollErrors > 0 {
					b.Errorf("the change log reader failed %d times", st.PollErrors)
				}
			})
		}
	}
}

// BenchmarkCacheFind measures Find of random sessions of a 10,000-session
// table with the cache off (every Find reads the table) and on (every
// session cached after a first pass), at 16 and 64 goroutines.
func BenchmarkCacheFind(b *testing.B) {
	for _, f := range cacheFamilies() {
		for _, mode := range []string{"off", "on"} {
			for _, g := range []int{16, 64} {
				b.Run(fmt.Sprintf("%s/%s/g=%d", f.name, mode, g), func(b *testing.B) {
					if b.N == 1 {
						return // the probe run: seeding is for the measured one
					}
					e := cacheEnv(b, f)
					ctx := context.Background()
					opts := sqlsession.Options{}
					if mode == "on" {
						opts.Cache = cacheOn
					}
					s, err := f.open(ctx, e, opts)
					if err != nil {
						b.Fatal(err)
					}
					tokens, err := seedStore(ctx, s, cacheSessions)
					if err != nil {
						b.Fatal(err)
					}
					for _, tok := range tokens {
						if _, found, err := s.Find(ctx, tok); !found || err != nil {
							b.Fatalf("Find = %v, %v", found, err)
						}
					}
					if mode == "on" {
						// The reader's first poll: until then nothing is cached.
						for s.CacheStats().Entries < cacheSessions/2 {
							time.Sleep(10 * time.Millisecond)
							for _, tok := range tokens {
								s.Find(ctx, tok)
							}
						}
					}
					b.ReportAllocs()
					b.SetParallelism(max(1, g/runtime.GOMAXPROCS(0)))
					var seed atomic.Uint64
					before := s.CacheStats()
					b.ResetTimer()
					b.RunParallel(func(pb *testing.PB) {
						r := rng(seed.Add(7919) | 1)
						for pb.Next() {
							if _, found, err := s.Find(ctx, tokens[r.next()%cacheSessions]); !found || err != nil {
								b.Errorf("Find = %v, %v", found, err)
								return
							}
						}
					})
					b.StopTimer()
					if mode == "on" {
						st := s.CacheStats()
						hits := st.Hits - before.Hits
						b.ReportMetric(float64(hits)/float64(hits+st.Misses-before.Misses+st.Bypassed-before.Bypassed), "hit-rate")
					}
				})
			}
		}
	}
}

// BenchmarkCacheE2E runs the end-to-end comparison's read-only GET load
// (1000 sessions) with wrk against the one-SELECT floor, httpsession on
// pgxstore without and with the cache, and scs on Redis, b.N rounds of
// turns of 2 s each (in reverse order every other round), at 16 and 64
// connections, through the comparison's harness. The metrics are each
// server's median requests/s and its median ratio to the floor's turn of
// the same round. Goals: httpsession with the cache at 2× the floor or
// more, and 2× scs on Redis or more. It needs wrk, redis-server and
// PostgreSQL.
func BenchmarkCacheE2E(b *testing.B) {
	if _, err := exec.LookPath("wrk"); err != nil {
		b.Skip("wrk is not installed")
	}
	if os.Getenv(testenv.PostgresDSN) == "" {
		b.Skipf("set %s to run this benchmark", testenv.PostgresDSN)
	}
	res := &e2eResult{}
	servers := []e2eServer{
		{nameFloor, startE2EFloor},
		{nameHTTPSession, startE2EHTTPSession(plainStore)},
		{nameHTTPCached, startE2EHTTPSession(cachedStore)},
		{nameScsRedis, startE2EScs(scsOnRedis(res))},
	}
	short := strings.NewReplacer(nameFloor, "floor", nameHTTPCached, "httpsession-cache",
		nameHTTPSession, "httpsession", nameScsRedis, "scs-redis")
	for _, conns := range []int{16, 64} {
		b.Run(fmt.Sprintf("c=%d", conns), func(b *testing.B) {
			if b.N == 1 {
				return // the probe run
			}
			e := cacheEnv(b, cacheFamily{env: testenv.PostgresDSN})
			const turn = 2 * time.Second
			b.ResetTimer()
			rows, notes, err := runServers(context.Background(), e, servers, 1000, []int{conns}, time.Duration(b.N)*turn, turn)
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if len(notes) > 0 {
				b.Fatal(notes)
			}
			var lines []string
			for _, r := range rows {
				b.ReportMetric(r.rps, short.Replace(r.server)+"-req/s")
				if r.server != nameFloor {
					b.ReportMetric(r.ratio, short.Replace(r.server)+"/floor")
				}
				lines = append(lines, fmt.Sprintf("%-48s %8.0f req/s  %.2f× floor  %.0f allocs/request  %d socket errors", r.server, r.rps, r.ratio, r.allocs, r.errs))
			}
			b.Logf("%d connections, %d rounds:\n%s", conns, b.N, strings.Join(lines, "\n"))
		})
	}
}
