package dbtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/internal/testenv"
	"github.com/sqlsession/sqlsession/sqlsessiontest"
)

// cacheOpts are the options of the cached Stores of these tests.
var cacheOpts = sqlsession.CacheOptions{MaxEntries: 10000}

// secondPool opens another pool on the database of db (the same SQLite
// file), as a second application instance would.
func secondPool(t *testing.T, tg Target, db *sql.DB, appName string) *sql.DB {
	t.Helper()
	switch tg.Dialect {
	case sqlsession.SQLite:
		var seq int
		var name, file string
		if err := db.QueryRow("PRAGMA database_list").Scan(&seq, &name, &file); err != nil {
			t.Fatal(err)
		}
		other, err := sql.Open("sqlite", SQLiteDSN(file))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { other.Close() })
		return other
	case sqlsession.Postgres:
		dsn := testenv.DSN(t, testenv.PostgresDSN)
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		driver := "pgx"
		if tg.Name == "postgres-libpq" {
			driver = "postgres"
		}
		other, err := sql.Open(driver, dsn+sep+"application_name="+appName)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { other.Close() })
		return pool(other)
	default:
		return pool(testenv.Open(t, "mysql", testenv.MySQLDSN))
	}
}

// cachedPair returns two instances on one table: a writes, b caches. b
// has a pool of its own. The table, its change log and triggers are made
// by a's CreateTable and dropped when t ends.
func cachedPair(t *testing.T, tg Target, db *sql.DB, schema string, opts sqlsession.Options, appName string) (a, b *sqlsession.Store, bdb *sql.DB) {
	t.Helper()
	opts.Cache = cacheOpts
	if opts.Table == "" {
		opts.Table = testenv.Name("c")
		opts.Schema = schema
	}
	table := QuotedTable(tg.Dialect, schema, opts.Table)
	log := QuotedTable(tg.Dialect, schema, opts.Table+"_changes")
	t.Cleanup(func() {
		db.Exec("DROP TABLE IF EXISTS " + table)
		db.Exec("DROP TABLE IF EXISTS " + log)
	})
	var err error
	if a, err = sqlsession.New(db, tg.Dialect, opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := a.CreateTable(ctx); err != nil {
		t.Fatalf("CreateTable() = %v", err)
	}
	bdb = secondPool(t, tg, db, appName)
	if b, err = sqlsession.New(bdb, tg.Dialect, opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if err := b.CheckTable(ctx); err != nil {
		t.Fatalf("CheckTable() = %v", err)
	}
	return a, b, bdb
}

// warm reads token through s until the read is a hit.
func warm(t *testing.T, s *sqlsession.Store, token string, want []byte) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		before := s.CacheStats().Hits
		data, found, err := s.Find(t.Context(), token)
		if err != nil || !found || !bytes.Equal(data, want) {
			t.Fatalf("Find(%q) = %q, %v, %v; want %q", token, data, found, err, want)
		}
		if s.CacheStats().Hits > before {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no cache hit for 10s: %+v", s.CacheStats())
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCacheBasics(t *testing.T) {
	Each(t, Servers, func(t *testing.T, tg Target, db *sql.DB, schema string) {
		a, b, _ := cachedPair(t, tg, db, schema, sqlsession.Options{}, "basics")
		ctx := t.Context()
		tok := sqlsession.NewToken()
		if err := a.Save(ctx, tok, []byte("v1"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		warm(t, b, tok, []byte("v1"))
		if err := a.Save(ctx, tok, []byte("v2"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		for {
			data, _, err := b.Find(ctx, tok)
			if err != nil {
				t.Fatal(err)
			}
			if string(data) == "v2" {
				break
			}
			if time.Since(start) > 5*time.Second {
				t.Fatalf("b.Find = %q 5s after the update: %+v", data, b.CacheStats())
			}
			time.Sleep(100 * time.Microsecond)
		}
		t.Logf("update seen after %v; %+v", time.Since(start), b.CacheStats())
	})
}

// TestCacheConformance runs the conformance kit with the cache on: the
// Store must keep every promise it keeps without it. A Store the kit opens
// on a table another one made stands for a second instance, and checks
// right after the first one's writes what it reads: across instances the
// cache is only as fresh as its last read of the change log (the tests
// below measure that), so those Stores read without a cache here.
func TestCacheConformance(t *testing.T) {
	Each(t, Servers, func(t *testing.T, tg Target, db *sql.DB, schema string) {
		newStore := Factory(db, tg.Dialect, schema)
		sqlsessiontest.Run(t, func(t *testing.T, opts sqlsession.Options) *sqlsession.Store {
			if opts.Table == "" {
				opts.Cache = cacheOpts
			}
			s := newStore(t, opts)
			log := QuotedTable(tg.Dialect, s.Options().Schema, s.Options().Table+"_changes")
			t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + log) })
			return s
		})
	})
}

// ownerOf reads "owner=<name>;..." session data.
func ownerOf(data []byte) (string, error) {
	v, _, _ := strings.Cut(strings.TrimPrefix(string(data), "owner="), ";")
	return v, nil
}

// stale reports whether b still answers token with the data before a
// revocation.
func stale(t *testing.T, b *sqlsession.Store, token string, old []byte) bool {
	data, found, err := b.Find(t.Context(), token)
	if err != nil {
		t.Fatalf("b.Find() = %v", err)
	}
	return found && bytes.Equal(data, old)
}

// applied waits until b's change log reader has begun and completed a
// read after now, or failed (and so emptied the cache).
func applied(t *testing.T, b *sqlsession.Store) {
	t.Helper()
	st := b.CacheStats()
	for deadline := time.Now().Add(10 * time.Second); ; {
		now := b.CacheStats()
		if now.Polls >= st.Polls+2 || now.PollErrors > st.PollErrors || now.Flushes > st.Flushes {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the change log reader made no progress in 10s: %+v", now)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// revocations are the ways a session ends or changes on instance a, or
// behind the Stores' backs, that instance b must see.
var revocations = []struct {
	name string
	do   func(t *testing.T, tg Target, db *sql.DB, a *sqlsession.Store, table, token, owner string)
}{
	{"Delete", func(t *testing.T, _ Target, _ *sql.DB, a *sqlsession.Store, _, token, _ string) {
		if err := a.Delete(t.Context(), token); err != nil {
			t.Fatal(err)
		}
	}},
	{"DeleteByOwner", func(t *testing.T, _ Target, _ *sql.DB, a *sqlsession.Store, _, _, owner string) {
		if n, err := a.DeleteByOwner(t.Context(), owner); err != nil || n != 1 {
			t.Fatalf("DeleteByOwner() = %d, %v", n, err)
		}
	}},
	{"Save", func(t *testing.T, _ Target, _ *sql.DB, a *sqlsession.Store, _, token, owner string) {
		if err := a.Save(t.Context(), token, []byte("owner="+owner+";changed"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}},
	{"SQL UPDATE by another program", func(t *testing.T, tg Target, db *sql.DB, _ *sqlsession.Store, table, token, _ string) {
		q := "UPDATE " + table + " SET expires_at = 0 WHERE token = " + placeholder(tg, 1)
		if _, err := db.ExecContext(t.Context(), q, storedKey(token)); err != nil {
			t.Fatal(err)
		}
	}},
	{"SQL DELETE by another program", func(t *testing.T, tg Target, db *sql.DB, _ *sqlsession.Store, table, token, _ string) {
		if _, err := db.ExecContext(t.Context(), "DELETE FROM "+table+" WHERE token = "+placeholder(tg, 1), storedKey(token)); err != nil {
			t.Fatal(err)
		}
	}},
}

func placeholder(tg Target, n int) string {
	if tg.Dialect == sqlsession.Postgres {
		return fmt.Sprintf("$%d", n)
	}
	return "?"
}

// storedKey is the key column's value for a token with the default
// options: base64url(SHA-256(token)).
func storedKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// maxLag is the cache's bound on staleness in these tests: the default.
const maxLag = sqlsession.DefaultCacheMaxLag

// TestCacheRevocation measures how long instance b keeps answering a
// session from memory after instance a (a Store on another pool), or
// another program writing SQL, revoked or changed it: 1000 trials per
// database, cycling through Delete, DeleteByOwner, Save, and a hand-made
// UPDATE and DELETE. The staleness is the time from the change's commit to
// the start of the last read of b that answered the old session. Its p99
// must stay under 50 ms, and no read that begins more than MaxLag after
// the commit may answer the old session. Once b's reader has read the
// change, b never answers with the old session again.
func TestCacheRevocation(t *testing.T) {
	t.Parallel() // beside TestCacheTrim, which mostly waits
	const trials = 1000
	Each(t, Servers, func(t *testing.T, tg Target, db *sql.DB, schema string) {
		a, b, _ := cachedPair(t, tg, db, schema, sqlsession.Options{Owner: ownerOf}, "revocation")
		table := QuotedTable(tg.Dialect, schema, a.Options().Table)
		ctx := t.Context()
		lat := map[string][]time.Duration{}
		var all []time.Duration
		staleAfter := 0
		for i := range trials {
			r := revocations[i%len(revocations)]
			tok, owner := sqlsession.NewToken(), fmt.Sprint("user", i)
			old := []byte("owner=" + owner + ";v1")
			if err := a.Save(ctx, tok, old, time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			warm(t, b, tok, old)
			r.do(t, tg, db, a, table, tok, owner)
			// The staleness: when the last read that answered the old
			// session began, after the change was committed.
			start := time.Now()
			var d time.Duration
			for {
				began := time.Since(start)
				if !stale(t, b, tok, old) {
					break
				}
				d = began
				if began > 10*time.Second {
					t.Fatalf("%s: b still serves the old session after 10s: %+v", r.name, b.CacheStats())
				}
				time.Sleep(100 * time.Microsecond)
			}
			if d > maxLag {
				t.Errorf("%s: a read that began %v after the change answered the old session, over MaxLag %v", r.name, d, maxLag)
			}
			lat[r.name] = append(lat[r.name], d)
			all = append(all, d)
			applied(t, b)
			for range 3 {
				if stale(t, b, tok, old) {
					staleAfter++
				}
			}
		}
		if staleAfter > 0 {
			t.Errorf("%d reads of b answered a revoked session after its reader had read the change", staleAfter)
		}
		p := func(ds []time.Duration, q float64) time.Duration {
			ds = slices.Clone(ds)
			slices.Sort(ds)
			return ds[min(len(ds)-1, int(q*float64(len(ds))))]
		}
		for _, r := range revocations {
			ds := lat[r.name]
			t.Logf("%-30s n=%d p50 %v p99 %v max %v", r.name, len(ds), p(ds, 0.5), p(ds, 0.99), p(ds, 1))
		}
		t.Logf("%-30s n=%d p50 %v p99 %v max %v; %+v", "all", len(all), p(all, 0.5), p(all, 0.99), p(all, 1), b.CacheStats())
		if p99 := p(all, 0.99); p99 > 50*time.Millisecond {
			t.Errorf("p99 of the time b served a revoked session = %v, want under 50ms", p99)
		}
	})
}

// holdingBackend wraps a Backend and, when armed, holds the first read of
// a session row after the database answered it and before the Store sees
// the answer: a read that began before a change and fills the cache after
// the change was read from the log.
type holdingBackend struct {
	sqlsession.Backend
	table  string // quoted session table; its change log has another name
	armed  atomic.Bool
	read   chan struct{} // closed when the held read has its row
	resume chan struct{} // closed to let it go on
}

func (h *holdingBackend) QueryRow(ctx context.Context, q string, args ...any) sqlsession.Row {
	row := h.Backend.QueryRow(ctx, q, args...)
	if !strings.Contains(q, " FROM "+h.table+" WHERE") || !h.armed.CompareAndSwap(true, false) {
		return row
	}
	return heldRow{row, h}
}

type heldRow struct {
	sqlsession.Row
	h *holdingBackend
}

func (r heldRow) Scan(dest ...any) error {
	err := r.Row.Scan(dest...)
	close(r.h.read)
	<-r.h.resume
	return err
}

// TestCacheReadFillRace injects the race deterministically: b begins
// reading a session, the database answers with the old row, then a deletes
// it and b's reader reads the change, then b's read goes on and tries to
// fill the cache with the old row. It must not: the next read misses.
func TestCacheReadFillRace(t *testing.T) {
	Each(t, Servers, func(t *testing.T, tg Target, db *sql.DB, schema string) {
		a, _, bdb := cachedPair(t, tg, db, schema, sqlsession.Options{}, "fillrace")
		table := QuotedTable(tg.Dialect, schema, a.Options().Table)
		for _, r := range []string{"Delete", "Save"} {
			t.Run(r, func(t *testing.T) {
				h := &holdingBackend{Backend: sqlsession.SQLBackend(bdb), table: table, read: make(chan struct{}), resume: make(chan struct{})}
				b, err := sqlsession.NewWithBackend(h, tg.Dialect, a.Options())
				if err != nil {
					t.Fatal(err)
				}
				defer b.Close()
				ctx := t.Context()
				tok := sqlsession.NewToken()
				if err := a.Save(ctx, tok, []byte("old"), time.Now().Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
				// Start b's reader and let it catch up, so that the held
				// read may fill.
				b.Find(ctx, sqlsession.NewToken())
				for b.CacheStats().Lag < 0 {
					time.Sleep(time.Millisecond)
				}
				h.armed.Store(true)
				done := make(chan []byte)
				go func() {
					data, _, err := b.Find(ctx, tok)
					if err != nil {
						t.Error(err)
					}
					done <- data
				}()
				<-h.read
				if r == "Delete" {
					err = a.Delete(ctx, tok)
				} else {
					err = a.Save(ctx, tok, []byte("new"), time.Now().Add(time.Hour))
				}
				if err != nil {
					t.Fatal(err)
				}
				applied(t, b)
				close(h.resume)
				if got := <-done; string(got) != "old" {
					t.Fatalf("the held read = %q, want old (it began before the change)", got)
				}
				data, found, err := b.Find(ctx, tok)
				if err != nil {
					t.Fatal(err)
				}
				if found && string(data) == "old" {
					t.Fatalf("b.Find after the %s = %q: the held read filled the cache with what the change log had already dropped", r, data)
				}
				if st := b.CacheStats(); st.Hits > 0 {
					t.Errorf("stats %+v: a hit, want none", st)
				}
			})
		}
	})
}

// TestCacheTerminateBackend kills the connections of b's pool on the
// server (pg_terminate_backend), the change log reader's among them, while
// a revokes sessions b has cached: before every revocation, and every
// 100 ms besides. b never answers a revoked session once its reader has
// read the change or failed (and emptied the cache), nor later than
// MaxLag after the revocation.
func TestCacheTerminateBackend(t *testing.T) {
	Each(t, []Target{pgx}, func(t *testing.T, tg Target, db *sql.DB, schema string) {
		app := testenv.Name("cachekill")
		a, b, _ := cachedPair(t, tg, db, schema, sqlsession.Options{}, app)
		ctx := t.Context()
		kill := func() int64 {
			var n int64
			err := db.QueryRowContext(ctx, "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1", app).Scan(&n)
			if err != nil && ctx.Err() == nil {
				t.Error(err)
			}
			return n
		}
		stop := make(chan struct{})
		var killed atomic.Int64
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
					killed.Add(kill())
				}
			}
		})
		const trials = 300
		staleAfter, cached, late := 0, 0, 0
		var worst time.Duration
		for i := range trials {
			tok := sqlsession.NewToken()
			old := []byte(fmt.Sprint("v", i))
			if err := a.Save(ctx, tok, old, time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			// Read until cached, for up to a second: while the reader
			// recovers from a kill, the cache is bypassed.
			for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
				before := b.CacheStats().Hits
				if _, _, err := b.Find(ctx, tok); err == nil && b.CacheStats().Hits > before {
					cached++
					break
				}
			}
			killed.Add(kill())
			if err := a.Delete(ctx, tok); err != nil {
				t.Fatal(err)
			}
			// When the last read that answered the old session began: an
			// error (b's connection killed under its read) is no answer.
			start := time.Now()
			var d time.Duration
			for {
				began := time.Since(start)
				data, found, err := b.Find(ctx, tok)
				if err == nil && !(found && bytes.Equal(data, old)) {
					break
				}
				if err == nil {
					d = began
				}
				if time.Since(start) > 10*time.Second {
					t.Fatalf("b still serves a deleted session after 10s: %+v", b.CacheStats())
				}
				time.Sleep(100 * time.Microsecond)
			}
			worst = max(worst, d)
			if d > maxLag {
				late++
			}
			applied(t, b)
			for range 3 {
				if data, found, err := b.Find(ctx, tok); err == nil && found && bytes.Equal(data, old) {
					staleAfter++
				}
			}
		}
		close(stop)
		wg.Wait()
		st := b.CacheStats()
		t.Logf("%d trials (%d with the session cached), %d connections killed, the last stale read began at most %v after a revocation; %+v", trials, cached, killed.Load(), worst, st)
		if staleAfter > 0 {
			t.Errorf("%d stale reads after b's reader had read the change or failed", staleAfter)
		}
		if late > 0 {
			t.Errorf("%d revocations answered by a read that began over MaxLag after them", late)
		}
		if killed.Load() < trials || st.PollErrors == 0 || cached < trials/2 {
			t.Errorf("%d connections killed, %d reader failures, %d of %d trials cached: the test did not exercise what it should", killed.Load(), st.PollErrors, cached, trials)
		}
	})
}

// TestCacheOwnWrites checks that an instance's own writes take effect on
// its own reads at once, without waiting for the change log.
func TestCacheOwnWrites(t *testing.T) {
	Each(t, Servers, func(t *testing.T, tg Target, db *sql.DB, schema string) {
		_, b, _ := cachedPair(t, tg, db, schema, sqlsession.Options{Owner: ownerOf}, "own")
		ctx := t.Context()
		hour := time.Now().Add(time.Hour)
		steps := []struct {
			name string
			do   func(tok string) error
			want string // "" for a miss
		}{
			{"Save", func(tok string) error { return b.Save(ctx, tok, []byte("owner=o;2"), hour) }, "owner=o;2"},
			{"SaveIf", func(tok string) error {
				e, _, err := b.Lookup(ctx, tok)
				if err != nil {
					return err
				}
				return b.SaveIf(ctx, tok, []byte("owner=o;3"), hour, e.Version)
			}, "owner=o;3"},
			{"Delete", func(tok string) error { return b.Delete(ctx, tok) }, ""},
			{"DeleteByOwner", func(tok string) error { _, err := b.DeleteByOwner(ctx, "o"); return err }, ""},
			{"DeleteOthers", func(tok string) error {
				keep := sqlsession.NewToken()
				if err := b.Save(ctx, keep, []byte("owner=o;keep"), hour); err != nil {
					return err
				}
				_, err := b.DeleteOthers(ctx, "o", keep)
				return err
			}, ""},
			{"Clear", func(tok string) error { return b.Clear(ctx) }, ""},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				tok := sqlsession.NewToken()
				if err := b.Save(ctx, tok, []byte("owner=o;1"), hour); err != nil {
					t.Fatal(err)
				}
				warm(t, b, tok, []byte("owner=o;1"))
				if err := st.do(tok); err != nil {
					t.Fatal(err)
				}
				data, found, err := b.Find(ctx, tok)
				if err != nil || found != (st.want != "") || string(data) != st.want {
					t.Errorf("Find after %s = %q, %v, %v; want %q", st.name, data, found, err, st.want)
				}
			})
		}
	})
}

// TestCacheSlidingExpiry checks IdleTimeout with the cache: a read from
// memory still moves a due expiry, in the table.
func TestCacheSlidingExpiry(t *testing.T) {
	Each(t, Servers, func(t *testing.T, tg Target, db *sql.DB, schema string) {
		a, b, _ := cachedPair(t, tg, db, schema, sqlsession.Options{IdleTimeout: time.Hour}, "sliding")
		ctx := t.Context()
		tok := sqlsession.NewToken()
		if err := a.Save(ctx, tok, []byte("x"), time.Now().Add(10*time.Minute)); err != nil {
			t.Fatal(err)
		}
		warm(t, b, tok, []byte("x")) // the first read moved the expiry
		e, found, err := a.Lookup(ctx, tok)
		if err != nil || !found || e.Expiry.Before(time.Now().Add(50*time.Minute)) {
			t.Fatalf("the table's expiry after reads through the cache = %v, %v, %v; want about an hour from now", e.Expiry, found, err)
		}
		// The move was b's own write: its change row comes back through
		// b's reader a poll or more later and drops the entry warm may
		// have hit before, and a reader lagging past MaxLag (a loaded
		// machine) bypasses the cache. So the next read need not come from
		// memory; every read must answer the moved expiry, and one from
		// memory must come once the reader has caught up.
		deadline := time.Now().Add(10 * time.Second)
		for {
			before := b.CacheStats()
			e, found, err = b.Lookup(ctx, tok)
			if err != nil || !found || e.Expiry.Before(time.Now().Add(50*time.Minute)) {
				t.Fatalf("b.Lookup = %v, %v, %v; want the moved expiry", e.Expiry, found, err)
			}
			after := b.CacheStats()
			if after.Hits > before.Hits {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no read from memory for 10s: stats %+v", after)
			}
			time.Sleep(time.Millisecond)
		}
	})
}

// TestCacheNeedsChangeLog checks that a Store with the cache on a table
// made without it says so in CheckTable, and reads correctly anyway.
func TestCacheNeedsChangeLog(t *testing.T) {
	Each(t, Servers, func(t *testing.T, tg Target, db *sql.DB, schema string) {
		plain := Store(t, db, tg.Dialect, schema, sqlsession.Options{})
		opts := plain.Options()
		opts.Cache = cacheOpts
		s, err := sqlsession.New(db, tg.Dialect, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ctx := t.Context()
		if err := s.CheckTable(ctx); !errors.Is(err, sqlsession.ErrNoChangeLog) {
			t.Fatalf("CheckTable() without the change log = %v, want ErrNoChangeLog", err)
		}
		tok := sqlsession.NewToken()
		if err := plain.Save(ctx, tok, []byte("x"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		for range 20 {
			if data, found, err := s.Find(ctx, tok); err != nil || !found || string(data) != "x" {
				t.Fatalf("Find = %q, %v, %v", data, found, err)
			}
			time.Sleep(time.Millisecond)
		}
		// The reader's first read of the missing log may not have failed
		// yet on a loaded machine: wait for it, reading meanwhile.
		for deadline := time.Now().Add(10 * time.Second); s.CacheStats().PollErrors == 0 && time.Now().Before(deadline); {
			if data, found, err := s.Find(ctx, tok); err != nil || !found || string(data) != "x" {
				t.Fatalf("Find = %q, %v, %v", data, found, err)
			}
			time.Sleep(time.Millisecond)
		}
		if st := s.CacheStats(); st.Hits != 0 || st.PollErrors == 0 {
			t.Errorf("stats %+v: want no hits and failing reads of the missing log", st)
		}
		if err := s.CreateTable(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + QuotedTable(tg.Dialect, schema, opts.Table+"_changes")) })
		if err := s.CheckTable(ctx); err != nil {
			t.Fatalf("CheckTable() after CreateTable = %v", err)
		}
	})
}

// TestCachePgBouncer runs instance b through PgBouncer in transaction
// pooling mode (SQLSESSION_TEST_PGBOUNCER_DSN): the change log reader is
// plain queries on the pool, with no LISTEN and no session state, so the
// cache serves and revocations stay within MaxLag there too.
func TestCachePgBouncer(t *testing.T) {
	dsn := testenv.DSN(t, "SQLSESSION_TEST_PGBOUNCER_DSN")
	Each(t, []Target{pgx}, func(t *testing.T, tg Target, db *sql.DB, schema string) {
		opts := sqlsession.Options{Table: testenv.Name("c"), Schema: schema, Cache: cacheOpts}
		a, err := sqlsession.New(db, tg.Dialect, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		ctx := t.Context()
		if err := a.CreateTable(ctx); err != nil {
			t.Fatal(err)
		}
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		// pgx's statement cache does not survive transaction pooling.
		bdb, err := sql.Open("pgx", dsn+sep+"default_query_exec_mode=cache_describe")
		if err != nil {
			t.Fatal(err)
		}
		defer bdb.Close()
		b, err := sqlsession.New(pool(bdb), tg.Dialect, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		if err := b.CheckTable(ctx); err != nil {
			t.Fatalf("CheckTable() through PgBouncer = %v", err)
		}
		var worst time.Duration
		for i := range 200 {
			tok := sqlsession.NewToken()
			old := []byte(fmt.Sprint("v", i))
			if err := a.Save(ctx, tok, old, time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			warm(t, b, tok, old)
			if err := a.Delete(ctx, tok); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			for {
				began := time.Since(start)
				if !stale(t, b, tok, old) {
					break
				}
				if began > maxLag {
					t.Fatalf("a read that began %v after a Delete answered the deleted session", began)
				}
				worst = max(worst, began)
				time.Sleep(100 * time.Microsecond)
			}
		}
		st := b.CacheStats()
		t.Logf("200 revocations through PgBouncer: the last stale read began at most %v after one; %+v", worst, st)
		if st.PollErrors > 0 {
			t.Errorf("the change log reader failed %d times through PgBouncer", st.PollErrors)
		}
	})
}

// TestCacheTrim waits past the change log's retention (a minute): the
// reader deletes the rows every instance has had time to read, and keeps
// the newest.
func TestCacheTrim(t *testing.T) {
	if testing.Short() {
		t.Skip("waits a minute")
	}
	t.Parallel() // mostly waiting: beside the package's other parallel tests
	Each(t, Servers, func(t *testing.T, tg Target, db *sql.DB, schema string) {
		t.Parallel()
		a, b, _ := cachedPair(t, tg, db, schema, sqlsession.Options{}, "trim")
		ctx := t.Context()
		log := QuotedTable(tg.Dialect, schema, a.Options().Table+"_changes")
		tok := sqlsession.NewToken()
		for i := range 50 {
			if err := a.Save(ctx, tok, []byte(fmt.Sprint(i)), time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		b.Find(ctx, tok) // starts b's reader
		count := func() (n, top int64) {
			if err := db.QueryRowContext(ctx, "SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM "+log).Scan(&n, &top); err != nil {
				t.Fatal(err)
			}
			return n, top
		}
		before, top := count()
		if before < 49 {
			t.Fatalf("%d change rows after 50 saves of one session, want 49 or more", before)
		}
		deadline := time.Now().Add(90 * time.Second)
		for {
			time.Sleep(time.Second)
			if n, newest := count(); n == 1 && newest == top {
				break
			}
			if time.Now().After(deadline) {
				n, newest := count()
				t.Fatalf("after 90s the change log holds %d rows (newest %d), want only the newest (%d); %+v", n, newest, top, b.CacheStats())
			}
		}
	})
}
