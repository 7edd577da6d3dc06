package clustertest

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/internal/testenv"
)

// TestClusterRestart crashes the database server under a load of 32
// goroutines and starts it again: during the outage every call fails within
// its deadline and no read of a saved session looks like a miss; afterwards
// the same Store works again, every session whose Save returned nil is
// there, and no goroutine is left behind.
func TestClusterRestart(t *testing.T) {
	for _, tc := range []struct {
		name, env, driver, setup string
		dialect                  sqlsession.Dialect
	}{
		{"postgres", PGPrivateDSN, "pgx", "pg-private", sqlsession.Postgres},
		{"mariadb", MariaDBPrivateDSN, "mysql", "mariadb-private", sqlsession.MySQL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const timeout, workers = time.Second, 32
			dsn := Env(t, tc.env)
			baseline := runtime.NumGoroutine()
			db := Open(t, tc.driver, dsn, tc.env)
			// Keep a connection per worker, as a server's pool would: with
			// database/sql's default of 2 idle connections, 30 of the 32
			// workers connect anew for every call, and the test measures
			// the server's connection set-up on a busy machine instead.
			db.SetMaxIdleConns(workers)
			s, err := sqlsession.New(db, tc.dialect, sqlsession.Options{Table: testenv.Name("restart")})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			if err := s.CreateTable(ctx); err != nil {
				t.Fatalf("CreateTable() = %v", err)
			}

			stop := load{
				stores: []*sqlsession.Store{s}, workers: workers, maxOps: 6000,
				pace: 5 * time.Millisecond, timeout: timeout,
			}.run()
			// A crash (SIGKILL; PostgreSQL's immediate shutdown), then a
			// server that holds its connections but answers nothing.
			time.Sleep(2 * time.Second)
			killed := time.Now()
			Control(t, "stop", tc.setup, "--kill")
			time.Sleep(1500 * time.Millisecond)
			restarting := time.Now()
			Control(t, "start", tc.setup)
			restarted := answering(t, tc.driver, dsn)
			time.Sleep(4 * time.Second)
			frozen := time.Now()
			Control(t, "freeze", tc.setup)
			time.Sleep(2 * time.Second)
			Control(t, "thaw", tc.setup)
			thawed := time.Now()
			// How soon a thawed server answers new connections again
			// depends on the machine (seconds, on a busy one, while it
			// works through the connections that piled up): the Store is
			// judged from when it does.
			answered := answering(t, tc.driver, dsn)
			t.Logf("freeze: the server answered a new connection %s after the thaw", ms(answered.Sub(thawed)))
			time.Sleep(3 * time.Second)
			res := stop()

			all := res.window(0, time.Hour, nil)
			before := res.window(0, res.since(killed), nil)
			crash := res.window(res.since(killed), res.since(restarted), nil)
			freeze := res.window(res.since(frozen), res.since(thawed), nil)
			t.Logf("%d calls (%d saves committed), slowest %s (%s, %s into the load: %v); before the crash: %d calls, %d errors",
				all.calls, len(res.committed), ms(all.maxTook), all.slowest.op, ms(all.slowest.at), all.slowest.err, before.calls, before.errs)
			t.Logf("crash: server down %s, start-up %s; %d calls, %d errors, slowest %s; first error: %v",
				ms(restarting.Sub(killed)), ms(restarted.Sub(restarting)), crash.calls, crash.errs, ms(crash.maxTook), crash.firstErr)
			t.Logf("frozen for %s: %d calls, %d errors, slowest %s; first error: %v",
				ms(thawed.Sub(frozen)), freeze.calls, freeze.errs, ms(freeze.maxTook), freeze.firstErr)
			for _, p := range []struct {
				name string
				at   time.Time
				w    window
			}{{"crash", restarted, crash}, {"freeze", answered, freeze}} {
				if p.w.errs == 0 {
					t.Errorf("%s: no call failed: the outage did not happen", p.name)
				}
				// Works again: the pool reconnects (32 connections at once,
				// slow on a busy machine), then no call fails. (Calls that
				// start in the last second may meet the next outage.)
				back := res.window(res.since(p.at), res.since(p.at)+3*time.Second, nil)
				errs := "no errors"
				if back.errs > 0 {
					errs = fmt.Sprintf("%d errors, the last starting %s after (first: %v)", back.errs, ms(back.lastErrAt-res.since(p.at)), back.firstErr)
				}
				t.Logf("after the %s: first success %s after the server was back; in the next 3s %d calls, %s",
					p.name, ms(back.firstOKAt-res.since(p.at)), back.calls, errs)
				if late := res.window(res.since(p.at)+2*time.Second, res.since(p.at)+3*time.Second, nil); late.calls == 0 || late.errs > 0 {
					t.Errorf("after the %s, from 2s to 3s: %d calls, %d errors (first: %v), want calls and no errors",
						p.name, late.calls, late.errs, late.firstErr)
				}
			}
			// The deadline plus slack for a busy machine under -race: a
			// hang would take until the server is back, or forever.
			if limit := timeout + time.Second; all.maxTook > limit {
				t.Errorf("slowest call (%s, started %s into the load) took %s, want at most the deadline plus 1s (%s); its error: %v",
					all.slowest.op, ms(all.slowest.at), ms(all.maxTook), ms(limit), all.slowest.err)
			}
			if len(res.misses) > 0 || len(res.wrong) > 0 {
				t.Errorf("Find of a saved session: %d misses and %d wrong data, want errors or the data", len(res.misses), len(res.wrong))
			}

			// Every committed session is there, read through the same Store.
			missing := 0
			for token, want := range res.committed {
				got, found, err := s.Find(ctx, token)
				if err != nil {
					t.Fatalf("Find() after the restart = %v", err)
				}
				if !found || string(got) != string(want) {
					missing++
				}
			}
			if missing > 0 {
				t.Errorf("%d of %d sessions whose Save returned nil are missing or changed after the restart", missing, len(res.committed))
			}
			if _, err := db.ExecContext(ctx, "DROP TABLE "+s.Options().Table); err != nil {
				t.Errorf("drop table: %v", err)
			}

			// No goroutine left behind once the Store and the pool are closed.
			s.Close()
			db.Close()
			deadline := time.Now().Add(10 * time.Second)
			for runtime.NumGoroutine() > baseline && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if n := runtime.NumGoroutine(); n > baseline {
				buf := make([]byte, 1<<16)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("%d goroutines after Close, %d before the test:\n%s", n, baseline, strings.TrimSpace(string(buf)))
			}
		})
	}
}

// answering waits until the server at dsn answers a query on a new
// connection (at most a minute) and returns when it did.
func answering(t *testing.T, driver, dsn string) time.Time {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		err := func() error {
			db, err := sql.Open(driver, dsn)
			if err != nil {
				return err
			}
			defer db.Close()
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			return db.PingContext(ctx)
		}()
		if err == nil {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server does not answer a minute after it was started or thawed: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
