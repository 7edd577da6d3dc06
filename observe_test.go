package sqlsession

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// traceKey marks the contexts a recorder returned, so that the tests see
// which context each call got.
type traceKey struct{}

// event is one call of a recorder.
type event struct {
	kind    string // "start", "end", "sweep start", "sweep end", "cache"
	op      Op
	rows    int64
	err     error
	batches int
	bg      bool
	cache   CacheEvent
	n       int
	marked  bool // ctx carried the recorder's mark
	dur     time.Duration
}

// recorder is a Tracer, SweepTracer and CacheTracer that records what it
// is told.
type recorder struct {
	mu     sync.Mutex
	events []event
}

func (r *recorder) add(ctx context.Context, e event) {
	e.marked = ctx.Value(traceKey{}) != nil
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) take() []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.events
	r.events = nil
	return e
}

func (r *recorder) TraceOpStart(ctx context.Context, _ *Store, d TraceOpStartData) context.Context {
	r.add(ctx, event{kind: "start", op: d.Op})
	return context.WithValue(ctx, traceKey{}, d.Op)
}

func (r *recorder) TraceOpEnd(ctx context.Context, _ *Store, d TraceOpEndData) {
	r.add(ctx, event{kind: "end", op: d.Op, rows: d.Rows, err: d.Err, dur: d.Duration})
}

func (r *recorder) TraceSweepStart(ctx context.Context, _ *Store, d TraceSweepStartData) context.Context {
	r.add(ctx, event{kind: "sweep start", bg: d.Background})
	return context.WithValue(ctx, traceKey{}, "sweep")
}

func (r *recorder) TraceSweepEnd(ctx context.Context, _ *Store, d TraceSweepEndData) {
	r.add(ctx, event{kind: "sweep end", bg: d.Background, rows: d.Rows, batches: d.Batches, err: d.Err, dur: d.Duration})
}

func (r *recorder) TraceCache(ctx context.Context, _ *Store, d TraceCacheData) {
	r.add(ctx, event{kind: "cache", cache: d.Event, n: d.Sessions})
}

// scriptBackend answers every statement the same way: Exec with n rows,
// QueryRow with data (or n for a count), Query with no rows; err fails
// them all. It records whether each statement's ctx carried the mark.
type scriptBackend struct {
	s *Store
	answer

	mu       sync.Mutex
	calls    int
	unmarked int // statements run with a ctx that lacked the mark
}

func (b *scriptBackend) saw(ctx context.Context) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	if ctx.Value(traceKey{}) == nil {
		b.unmarked++
	}
}

func (b *scriptBackend) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	b.saw(ctx)
	return b.n, b.err
}

func (b *scriptBackend) QueryRow(ctx context.Context, query string, args ...any) Row {
	b.saw(ctx)
	switch {
	case b.err != nil:
		return errRow{b.err}
	case query == b.s.q.count || query == b.s.q.ownerHas:
		return intRow(b.n)
	case b.data == nil:
		return errRow{sql.ErrNoRows}
	}
	return memRow{b.data}
}

func (b *scriptBackend) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	b.saw(ctx)
	if b.err != nil {
		return nil, b.err
	}
	return &memRows{}, nil
}

// answer is what a scriptBackend answers.
type answer struct {
	n    int64
	data []byte
	err  error
}

type intRow int64

func (r intRow) Scan(dest ...any) error {
	*dest[0].(*int64) = int64(r)
	return nil
}

// TestTracerOps calls every operation once and checks that the Tracer saw
// one start and one end of it, with its rows and error, and that the
// operation ran with the context TraceOpStart returned.
func TestTracerOps(t *testing.T) {
	owner := func([]byte) (string, error) { return "ada", nil }
	boom := errors.New("boom")
	tok := NewToken()
	later := time.Now().Add(time.Hour)
	tests := []struct {
		name      string
		opts      Options
		b         answer
		call      func(context.Context, *Store) error
		op        Op
		rows      int64
		err       error
		noBackend bool // the operation never reaches the Backend
	}{
		{"find hit", Options{}, answer{data: []byte("x")}, func(ctx context.Context, s *Store) error {
			_, _, err := s.Find(ctx, tok)
			return err
		}, OpFind, 1, nil, false},
		{"find miss", Options{}, answer{}, func(ctx context.Context, s *Store) error {
			_, _, err := s.Find(ctx, tok)
			return err
		}, OpFind, 0, nil, false},
		{"find error", Options{}, answer{err: boom}, func(ctx context.Context, s *Store) error {
			_, _, err := s.Find(ctx, tok)
			return err
		}, OpFind, 0, boom, false},
		{"find malformed token", Options{}, answer{}, func(ctx context.Context, s *Store) error {
			_, _, err := s.Find(ctx, "a b")
			return err
		}, OpFind, 0, nil, true},
		{"lookup", Options{}, answer{data: []byte("x")}, func(ctx context.Context, s *Store) error {
			_, _, err := s.Lookup(ctx, tok)
			return err
		}, OpLookup, 1, nil, false},
		{"save", Options{}, answer{n: 1}, func(ctx context.Context, s *Store) error {
			return s.Save(ctx, tok, []byte("x"), later)
		}, OpSave, 1, nil, false},
		{"save too large", Options{MaxDataSize: 1}, answer{n: 1}, func(ctx context.Context, s *Store) error {
			return s.Save(ctx, tok, []byte("xx"), later)
		}, OpSave, 0, ErrTooLarge, true},
		{"save deleted", Options{}, answer{n: 0}, func(ctx context.Context, s *Store) error {
			return s.Save(ctx, tok, []byte("x"), later)
		}, OpSave, 0, ErrDeleted, false},
		{"save if conflict", Options{}, answer{n: 0}, func(ctx context.Context, s *Store) error {
			return s.SaveIf(ctx, tok, []byte("x"), later, 7)
		}, OpSaveIf, 0, ErrConflict, false},
		{"touch", Options{}, answer{n: 1}, func(ctx context.Context, s *Store) error {
			return s.Touch(ctx, tok, later)
		}, OpTouch, 1, nil, false},
		{"delete", Options{}, answer{n: 1}, func(ctx context.Context, s *Store) error {
			return s.Delete(ctx, tok)
		}, OpDelete, 1, nil, false},
		{"count", Options{}, answer{n: 42}, func(ctx context.Context, s *Store) error {
			_, err := s.Count(ctx)
			return err
		}, OpCount, 42, nil, false},
		{"clear", Options{}, answer{n: 5}, func(ctx context.Context, s *Store) error {
			return s.Clear(ctx)
		}, OpClear, 5, nil, false},
		{"all", Options{}, answer{}, func(ctx context.Context, s *Store) error {
			for _, err := range s.All(ctx) {
				return err
			}
			return nil
		}, OpList, 0, nil, false},
		{"list by owner", Options{Owner: owner}, answer{}, func(ctx context.Context, s *Store) error {
			_, err := s.ListByOwner(ctx, "ada")
			return err
		}, OpListByOwner, 0, nil, false},
		{"delete by owner", Options{Owner: owner}, answer{n: 3}, func(ctx context.Context, s *Store) error {
			_, err := s.DeleteByOwner(ctx, "ada")
			return err
		}, OpDeleteByOwner, 3, nil, false},
		{"delete by owner without Owner", Options{}, answer{n: 3}, func(ctx context.Context, s *Store) error {
			_, err := s.DeleteByOwner(ctx, "ada")
			return err
		}, OpDeleteByOwner, 0, ErrNoOwner, true},
		{"delete others", Options{Owner: owner}, answer{n: 2}, func(ctx context.Context, s *Store) error {
			_, err := s.DeleteOthers(ctx, "ada", tok)
			return err
		}, OpDeleteOthers, 2, nil, false},
		{"delete by id", Options{Owner: owner}, answer{}, func(ctx context.Context, s *Store) error {
			_, err := s.DeleteByID(ctx, "ada", "id")
			return err
		}, OpDeleteByID, 0, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{}
			tt.opts.Tracer = r
			b := &scriptBackend{answer: tt.b}
			s, err := NewWithBackend(b, Postgres, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			b.s = s
			err = tt.call(context.Background(), s)
			if !errors.Is(err, tt.err) {
				t.Fatalf("%s: err = %v, want %v", tt.name, err, tt.err)
			}
			got := r.take()
			want := []event{{kind: "start", op: tt.op}, {kind: "end", op: tt.op, rows: tt.rows, err: err, marked: true}}
			if len(got) != 2 {
				t.Fatalf("%s: the Tracer saw %+v, want a start and an end", tt.name, got)
			}
			got[1].dur = 0
			if got[0] != want[0] || got[1].kind != want[1].kind || got[1].op != want[1].op ||
				got[1].rows != want[1].rows || got[1].err != err || !got[1].marked {
				t.Errorf("%s: the Tracer saw %+v, want %+v", tt.name, got, want)
			}
			if tt.noBackend != (b.calls == 0) {
				t.Errorf("%s: %d statements, want none: %v", tt.name, b.calls, tt.noBackend)
			}
			if b.unmarked > 0 {
				t.Errorf("%s: %d statements ran without the context TraceOpStart returned", tt.name, b.unmarked)
			}
		})
	}
}

// TestTracerOneOpPerCall checks that operations built on others report
// once: Find with sliding expiry reads through Lookup's path and touches,
// and that an operation on a closed Store starts and ends with ErrClosed.
func TestTracerOneOpPerCall(t *testing.T) {
	r := &recorder{}
	b := &scriptBackend{answer: answer{data: []byte("x"), n: 1}}
	s, err := NewWithBackend(b, Postgres, Options{Tracer: r, IdleTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	b.s = s
	ctx := context.Background()
	if _, found, err := s.Find(ctx, NewToken()); !found || err != nil {
		t.Fatalf("Find = %v, %v, want found", found, err)
	}
	if got := r.take(); len(got) != 2 || got[0].op != OpFind || got[1].op != OpFind {
		t.Errorf("Find with IdleTimeout reported %+v, want one find", got)
	}
	s.Close()
	if err := s.Save(ctx, NewToken(), nil, time.Time{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Save after Close = %v, want ErrClosed", err)
	}
	if got := r.take(); len(got) != 2 || got[1].op != OpSave || !errors.Is(got[1].err, ErrClosed) {
		t.Errorf("Save after Close reported %+v, want a save ending with ErrClosed", got)
	}
}

// TestTracerSweep checks the sweeps of DeleteExpired, called and in the
// background: rows, batches, the error, and the context.
func TestTracerSweep(t *testing.T) {
	r := &recorder{}
	b := &fakeBackend{affected: []int64{3, 3, 1}}
	s, err := NewWithBackend(b, SQLite, Options{Tracer: r, CleanupBatchSize: 3, CleanupPause: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, err := s.DeleteExpired(context.Background()); n != 7 || err != nil {
		t.Fatalf("DeleteExpired = %d, %v, want 7, nil", n, err)
	}
	got := r.take()
	if len(got) != 2 || got[0] != (event{kind: "sweep start"}) ||
		got[1].kind != "sweep end" || got[1].rows != 7 || got[1].batches != 3 || got[1].err != nil || got[1].bg || !got[1].marked {
		t.Errorf("DeleteExpired reported %+v, want a sweep of 7 rows in 3 batches", got)
	}

	b.affected = []int64{2}
	s.sweep()
	got = r.take()
	if len(got) != 2 || !got[0].bg || !got[1].bg || got[1].rows != 2 || got[1].batches != 1 {
		t.Errorf("a background sweep reported %+v, want a background sweep of 2 rows in 1 batch", got)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.DeleteExpired(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("DeleteExpired(cancelled) = %v", err)
	}
	got = r.take()
	if len(got) != 2 || !errors.Is(got[1].err, context.Canceled) || got[1].batches != 0 {
		t.Errorf("a cancelled sweep reported %+v, want context.Canceled after 0 batches", got)
	}
}

// TestTracerCache drives the cache over a Backend in memory, in a bubble
// of fake time, and checks each kind of event: a miss that fills, a hit,
// an expiry past MaxAge, an eviction past MaxEntries, invalidations from
// the change log and from this Store's writes, flushes (Clear, a failed
// read of the change log) and a bypass while the log cannot be read.
func TestTracerCache(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &recorder{}
		m := &memBackend{data: map[string][]byte{}}
		s, err := NewWithBackend(m, Postgres, Options{Tracer: r, Cache: CacheOptions{
			MaxEntries: 1, MaxAge: time.Second, PollInterval: 10 * time.Millisecond,
		}})
		if err != nil {
			t.Fatal(err)
		}
		m.s = s
		defer s.Close()
		ctx := context.Background()
		a, b := NewToken(), NewToken()
		ka, _ := s.key(a)
		kb, _ := s.key(b)
		m.data[ka], m.data[kb] = []byte("a"), []byte("b")
		find := func(tok string) {
			t.Helper()
			if _, found, err := s.Find(ctx, tok); !found || err != nil {
				t.Fatalf("Find = %v, %v", found, err)
			}
		}
		// cacheEvents returns the cache events since the last call, and
		// whether each came with an operation's context.
		cacheEvents := func() []event {
			var out []event
			for _, e := range r.take() {
				if e.kind == "cache" {
					out = append(out, event{kind: e.kind, cache: e.cache, n: e.n, marked: e.marked})
				}
			}
			return out
		}
		expect := func(what string, want ...event) {
			t.Helper()
			if got := cacheEvents(); !slices.Equal(got, want) {
				t.Errorf("%s: cache events %+v, want %+v", what, got, want)
			}
		}
		ev := func(e CacheEvent, n int, marked bool) event {
			return event{kind: "cache", cache: e, n: n, marked: marked}
		}

		// The first read starts the reader, and is bypassed unless its
		// first poll is quicker.
		if _, _, err := s.Find(ctx, NewToken()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if got := cacheEvents(); len(got) != 1 || got[0] != ev(CacheBypass, 1, true) && got[0] != ev(CacheMiss, 1, true) {
			t.Errorf("the first read: cache events %+v, want a bypass or a miss", got)
		}
		find(a)
		expect("first read", ev(CacheMiss, 1, true))
		find(a)
		expect("second read", ev(CacheHit, 1, true))
		find(b)
		expect("a second session past MaxEntries 1", ev(CacheMiss, 1, true), ev(CacheEvict, 1, false))
		time.Sleep(time.Second)
		synctest.Wait()
		find(b)
		expect("a read past MaxAge", ev(CacheExpire, 1, false), ev(CacheMiss, 1, true))
		m.commit(1, kb)
		time.Sleep(10 * time.Millisecond)
		synctest.Wait()
		expect("a change in the log", ev(CacheInvalidate, 1, false))
		find(b)
		cacheEvents()
		if err := s.Touch(ctx, b, time.Time{}); err != nil {
			t.Fatal(err)
		}
		expect("a write of this Store", ev(CacheInvalidate, 1, false))
		find(b)
		cacheEvents()
		if err := s.Clear(ctx); err != nil {
			t.Fatal(err)
		}
		expect("Clear", ev(CacheFlush, 1, false))
		find(b)
		cacheEvents()
		m.fakeLog.mu.Lock()
		m.fakeLog.err = errors.New("the change log is down")
		m.fakeLog.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
		synctest.Wait()
		expect("a failed read of the change log", ev(CacheFlush, 1, false))
		find(b)
		expect("a read while the change log is down", ev(CacheBypass, 1, true))
		s.Close()
	})
}

// noopTracer observes everything and does nothing: the cost of the hook
// itself.
type noopTracer struct{}

func (noopTracer) TraceOpStart(ctx context.Context, _ *Store, _ TraceOpStartData) context.Context {
	return ctx
}
func (noopTracer) TraceOpEnd(context.Context, *Store, TraceOpEndData) {}
func (noopTracer) TraceSweepStart(ctx context.Context, _ *Store, _ TraceSweepStartData) context.Context {
	return ctx
}
func (noopTracer) TraceSweepEnd(context.Context, *Store, TraceSweepEndData) {}
func (noopTracer) TraceCache(context.Context, *Store, TraceCacheData)       {}

// traceBenchBackend answers every QueryRow with one session's data, for
// measuring what the Store adds to a read.
type traceBenchBackend struct{ data []byte }

func (b traceBenchBackend) Exec(context.Context, string, ...any) (int64, error) { return 1, nil }
func (b traceBenchBackend) QueryRow(context.Context, string, ...any) Row        { return memRow{b.data} }
func (b traceBenchBackend) Query(context.Context, string, ...any) (Rows, error) {
	return &memRows{}, nil
}

// BenchmarkFind bounds what the Store adds to a read of a 200-byte
// session from its Backend (here in memory), without a Tracer and with
// one that does nothing: the hook must add no allocation when unset, and
// none of its own when set.
func BenchmarkFind(b *testing.B) {
	for _, tt := range []struct {
		name   string
		tracer Tracer
	}{
		{"tracer=none", nil},
		{"tracer=noop", noopTracer{}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			s, err := NewWithBackend(traceBenchBackend{make([]byte, 200)}, Postgres, Options{Tracer: tt.tracer})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx, tok := context.Background(), NewToken()
			b.ReportAllocs()
			for b.Loop() {
				if _, found, err := s.Find(ctx, tok); !found || err != nil {
					b.Fatal(found, err)
				}
			}
		})
	}
}

// TestTracerAllocs checks that a Tracer that does nothing costs no
// allocation on the paths of Find and Save.
func TestTracerAllocs(t *testing.T) {
	allocs := func(tr Tracer) (find, save float64) {
		s, err := NewWithBackend(traceBenchBackend{make([]byte, 200)}, Postgres, Options{Tracer: tr})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ctx, tok, data := context.Background(), NewToken(), make([]byte, 200)
		find = testing.AllocsPerRun(200, func() { s.Find(ctx, tok) })
		save = testing.AllocsPerRun(200, func() { s.Save(ctx, tok, data, time.Time{}) })
		return find, save
	}
	f0, s0 := allocs(nil)
	f1, s1 := allocs(noopTracer{})
	if f1 != f0 || s1 != s0 {
		t.Errorf("allocations of Find, Save: %v, %v without a Tracer, %v, %v with one that does nothing; want the same", f0, s0, f1, s1)
	}
}
