package sqlsession

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestJanitorRunsOnItsIntervalAndStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &fakeBackend{}
		s, err := NewWithBackend(b, Postgres, Options{CleanupInterval: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(53 * time.Second) // below the jitter's floor of 54s
		synctest.Wait()
		if n := b.deletes(); n != 0 {
			t.Fatalf("sweeps after 53s = %d, want 0", n)
		}
		time.Sleep(14 * time.Second) // past the ceiling of 66s
		synctest.Wait()
		if n := b.deletes(); n != 1 {
			t.Fatalf("sweeps after 67s = %d, want 1", n)
		}
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if n := b.deletes(); n < 9 || n > 12 {
			t.Fatalf("sweeps after 10m67s = %d, want 9 to 12", n)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		before := b.deletes()
		time.Sleep(time.Hour)
		synctest.Wait()
		if n := b.deletes(); n != before {
			t.Fatalf("sweeps after Close = %d, want none", n-before)
		}
		// synctest.Test fails if the janitor goroutine outlived Close.
	})
}

func TestCloseCancelsSweepInProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &fakeBackend{block: true, entered: make(chan struct{}, 1)}
		s, err := NewWithBackend(b, Postgres, Options{CleanupInterval: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		<-b.entered // a sweep is running and blocked in the database
		done := make(chan struct{})
		go func() { s.Close(); close(done) }()
		synctest.Wait()
		select {
		case <-done:
		default:
			t.Fatal("Close() did not return while a sweep was blocked")
		}
	})
}

func TestNoGoroutineUnlessConfigured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		before := runtime.NumGoroutine()
		s, err := NewWithBackend(&fakeBackend{}, SQLite, Options{})
		if err != nil {
			t.Fatal(err)
		}
		// Goroutines of earlier tests may still be ending: only a new one
		// counts.
		if after := runtime.NumGoroutine(); after > before {
			t.Fatalf("goroutines after New = %d, want at most %d", after, before)
		}
		s.Close()
	})
}

func TestCleanupEvery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &fakeBackend{}
		s, err := NewWithBackend(b, SQLite, Options{CleanupEvery: 5})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ctx := context.Background()
		for i := 1; i <= 12; i++ {
			s.Find(ctx, "tok")
			synctest.Wait()
			if got, want := b.deletes(), i/5; got != want {
				t.Fatalf("sweeps after %d operations = %d, want %d", i, got, want)
			}
		}
	})
}

func TestDeleteExpiredBatches(t *testing.T) {
	tests := []struct {
		name     string
		affected []int64
		want     int64
		batches  int
	}{
		{"empty", nil, 0, 1},
		{"one partial batch", []int64{3}, 3, 1},
		{"exactly one batch", []int64{10, 0}, 10, 2},
		{"backlog", []int64{10, 10, 10, 4}, 34, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &fakeBackend{affected: tt.affected}
			s, err := NewWithBackend(b, Postgres, Options{CleanupBatchSize: 10})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			n, err := s.DeleteExpired(context.Background())
			if n != tt.want || err != nil {
				t.Fatalf("DeleteExpired() = %d, %v, want %d, nil", n, err, tt.want)
			}
			if got := b.deletes(); got != tt.batches {
				t.Fatalf("DeleteExpired() ran %d statements, want %d", got, tt.batches)
			}
		})
	}
}

func TestDeleteExpiredStopsWithContext(t *testing.T) {
	b := &fakeBackend{affected: []int64{10, 10, 10, 10}}
	s, _ := NewWithBackend(b, Postgres, Options{CleanupBatchSize: 10})
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.DeleteExpired(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("DeleteExpired(cancelled) = %v, want context.Canceled", err)
	}
}

func TestJitter(t *testing.T) {
	for i := 0; i < 1000; i++ {
		if d := jitter(time.Minute); d < 54*time.Second || d > 66*time.Second {
			t.Fatalf("jitter(1m) = %v, want 54s to 66s", d)
		}
	}
	if d := jitter(1); d != 1 {
		t.Fatalf("jitter(1ns) = %v, want 1ns", d)
	}
}

// slowBackend takes d per statement, in synctest's fake time.
type slowBackend struct {
	fakeBackend
	d time.Duration
}

func (b *slowBackend) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	time.Sleep(b.d)
	return b.fakeBackend.Exec(ctx, q, args...)
}

// QueryRow takes d for PostgreSQL's batches; the probes take no time.
func (b *slowBackend) QueryRow(ctx context.Context, q string, args ...any) Row {
	if strings.HasPrefix(q, "WITH d AS (DELETE") {
		time.Sleep(b.d)
	}
	return b.fakeBackend.QueryRow(ctx, q, args...)
}

func TestCleanupPause(t *testing.T) {
	tests := []struct {
		name  string
		pause time.Duration
		want  time.Duration // 4 batches of 10ms each
	}{
		{"fixed", 50 * time.Millisecond, 4*10*time.Millisecond + 3*50*time.Millisecond},
		{"none", -1, 4 * 10 * time.Millisecond},
		// Adaptive: a quarter of the time, so three times the batch after
		// each but the last (the probes take no time here).
		{"adaptive", 0, 4*10*time.Millisecond + 3*30*time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := &slowBackend{fakeBackend{affected: []int64{10, 10, 10, 3}}, 10 * time.Millisecond}
				s, err := NewWithBackend(b, Postgres, Options{CleanupBatchSize: 10, CleanupPause: tt.pause})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				start := time.Now()
				if n, err := s.DeleteExpired(context.Background()); n != 33 || err != nil {
					t.Fatalf("DeleteExpired() = %d, %v, want 33, nil", n, err)
				}
				if got := time.Since(start); got != tt.want {
					t.Fatalf("DeleteExpired() took %v, want %v", got, tt.want)
				}
			})
		})
	}
}

// TestCloseStopsPause closes a Store while DeleteExpired waits between two
// batches: the wait ends at once.
func TestCloseStopsPause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &fakeBackend{affected: []int64{10, 10}}
		s, err := NewWithBackend(b, Postgres, Options{CleanupBatchSize: 10, CleanupPause: time.Hour, CleanupInterval: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Minute) // the janitor's first sweep is in its pause
		synctest.Wait()
		if n := b.deletes(); n != 1 {
			t.Fatalf("batches before Close = %d, want 1", n)
		}
		start := time.Now()
		s.Close()
		if d := time.Since(start); d != 0 {
			t.Fatalf("Close() during a pause took %v, want 0", d)
		}
	})
}

// costModel is a database whose batches take fixed + n×perRow.
type costModel struct{ fixed, perRow time.Duration }

func (c costModel) took(n int) time.Duration { return c.fixed + time.Duration(n)*c.perRow }

// run drives p through batches of a backlog that never ends, with probes
// of probe, and returns the sizes it chose.
func (c costModel) run(p *pacer, batches int, probe time.Duration) []int {
	var sizes []int
	p.probed(probe)
	for i := 0; i < batches; i++ {
		n := p.batch()
		sizes = append(sizes, n)
		p.done(n, int64(n), c.took(n))
		p.probed(probe)
	}
	return sizes
}

func TestPacerSizesBatchesForTheTarget(t *testing.T) {
	tests := []struct {
		name     string
		db       costModel
		probe    time.Duration
		max      int
		blocking bool
		lo, hi   int // the settled batch size
	}{
		// On a server batches double up to CleanupBatchSize: the duty
		// cycle, not the size, bounds their share.
		{"server", costModel{100 * time.Microsecond, time.Microsecond}, 100 * time.Microsecond, 5000, false, 5000, 5000},
		{"server, bounded by CleanupBatchSize", costModel{100 * time.Microsecond, time.Microsecond}, 100 * time.Microsecond, 300, false, 300, 300},
		// A slow commit (20ms) does not shrink them.
		{"server, slow commit", costModel{20 * time.Millisecond, time.Microsecond}, 100 * time.Microsecond, 1000, false, 1000, 1000},
		// Batches over paceServerSlow (100ms) halve: 100 to 200 rows of 1ms.
		{"server, slow rows", costModel{0, time.Millisecond}, 100 * time.Microsecond, 1000, false, 100, 200},
		// On SQLite a 20µs probe asks for 250µs (the floor): 23 rows of
		// 10µs after a fixed 20µs, growing by a quarter and scaled back.
		{"SQLite", costModel{20 * time.Microsecond, 10 * time.Microsecond}, 20 * time.Microsecond, 1000, true, 17, 29},
		// Slower reads (500µs) ask for 500µs: 48 rows.
		{"SQLite, slower reads", costModel{20 * time.Microsecond, 10 * time.Microsecond}, 500 * time.Microsecond, 1000, true, 36, 60},
		{"SQLite, very slow rows", costModel{0, time.Millisecond}, 20 * time.Microsecond, 1000, true, paceMin, paceMin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPacer(&Options{CleanupBatchSize: tt.max}, tt.blocking)
			sizes := tt.db.run(p, 80, tt.probe)
			if sizes[0] != min(paceFirst, tt.max) {
				t.Errorf("first batch = %d, want %d", sizes[0], min(paceFirst, tt.max))
			}
			for i, n := range sizes[40:] {
				if n < tt.lo || n > tt.hi {
					t.Fatalf("batch %d = %d rows, want %d to %d (all: %v)", 40+i, n, tt.lo, tt.hi, sizes)
				}
			}
		})
	}
}

func TestPacerPauses(t *testing.T) {
	db := costModel{100 * time.Microsecond, time.Microsecond}
	tests := []struct {
		name     string
		opts     Options
		blocking bool
		took     time.Duration // of the batch after the warm-up
		want     time.Duration
	}{
		{"fixed", Options{CleanupPause: 7 * time.Millisecond}, false, 3 * time.Millisecond, 7 * time.Millisecond},
		{"none", Options{CleanupPause: -1}, false, 3 * time.Millisecond, 0},
		{"adaptive on a server: a quarter of the time", Options{}, false, 800 * time.Microsecond, 2400 * time.Microsecond},
		// On a server a slow batch held nobody up: the duty cycle.
		{"slow batch on a server", Options{}, false, 10 * time.Millisecond, 30 * time.Millisecond},
		{"adaptive on SQLite: a tenth of the time", Options{}, true, 300 * time.Microsecond, 2700 * time.Microsecond},
		// A batch far over its target (a checkpoint) held every statement
		// up on SQLite: a pause 200 times as long.
		{"stall on SQLite", Options{}, true, 10 * time.Millisecond, 2 * time.Second},
		{"long stall on SQLite", Options{}, true, 100 * time.Millisecond, paceMaxWait},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			o.CleanupBatchSize = 1000
			p := newPacer(&o, tt.blocking)
			db.run(p, 20, 100*time.Microsecond)
			n := p.batch()
			if got := p.done(n, int64(n), tt.took); got != tt.want {
				t.Fatalf("done(%d, %d, %v) = %v, want %v", n, n, tt.took, got, tt.want)
			}
		})
	}
}

// TestPacerStallWithinLiveTail: on a machine where live reads are often
// slow anyway, a batch no slower than their slow end is no stall.
func TestPacerStallWithinLiveTail(t *testing.T) {
	p := newPacer(&Options{CleanupBatchSize: 1000}, true)
	db := costModel{20 * time.Microsecond, 5 * time.Microsecond}
	p.probed(100 * time.Microsecond)
	for i := 0; i < paceTail; i++ {
		n := p.batch()
		p.done(n, int64(n), db.took(n))
		probe := 100 * time.Microsecond
		if i%10 == 0 {
			probe = 30 * time.Millisecond // one read in ten waits 30ms
		}
		p.probed(probe)
	}
	n := p.batch()
	if got, want := p.done(n, int64(n), 10*time.Millisecond), 90*time.Millisecond; got != want {
		t.Fatalf("pause after a 10ms batch = %v, want %v (the duty cycle)", got, want)
	}
	n = p.batch()
	if got, want := p.done(n, int64(n), 40*time.Millisecond), paceMaxWait; got != want {
		t.Fatalf("pause after a 40ms batch = %v, want %v (a stall)", got, want)
	}
}

func TestPacerStallHalvesBatch(t *testing.T) {
	p := newPacer(&Options{CleanupBatchSize: 1000}, true)
	costModel{20 * time.Microsecond, 5 * time.Microsecond}.run(p, 20, 50*time.Microsecond)
	n := p.batch()
	p.done(n, int64(n), 50*time.Millisecond)
	if got := p.batch(); got != max(n/2, paceMin) {
		t.Fatalf("batch after a stall = %d, want %d", got, max(n/2, paceMin))
	}
}

func TestPacerBacksOffWhileProbesAreSlow(t *testing.T) {
	p := newPacer(&Options{}, false)
	db := costModel{200 * time.Microsecond, 2 * time.Microsecond}
	db.run(p, 10, 200*time.Microsecond)
	n := p.batch()
	p.done(n, int64(n), db.took(n))
	// The database turns slow: waits grow, up to paceBusyBatches times the
	// last batch in all, then a batch goes anyway.
	var waits []time.Duration
	var total time.Duration
	for i := 0; i < 100; i++ {
		w := p.probed(5 * time.Millisecond)
		if w == 0 {
			break
		}
		waits = append(waits, w)
		total += w
	}
	if len(waits) < 3 {
		t.Fatalf("waits while probes are 25 times slower = %v, want at least 3", waits)
	}
	for i := 1; i < len(waits)-1; i++ {
		if waits[i] <= waits[i-1] {
			t.Fatalf("waits = %v, want each longer than the last", waits)
		}
	}
	if want := min(paceBusyBatches*max(db.took(n), time.Millisecond), paceMaxBusy); total != want {
		t.Fatalf("waits add up to %v, want %v", total, want)
	}
	// Back to normal: no wait.
	p.done(n, int64(n), db.took(n))
	if w := p.probed(200 * time.Microsecond); w != 0 {
		t.Fatalf("probed(200µs) after recovery = %v, want 0", w)
	}
	// A probe just over twice the base but within paceSlack is noise.
	if w := p.probed(400 * time.Microsecond); w != 0 {
		t.Fatalf("probed(400µs) = %v, want 0", w)
	}
}

// pickBackend answers the key reads of MySQL's batches from a list of
// expired keys and records the deletes.
type pickBackend struct {
	fakeBackend
	keys    []string
	picks   [][]any
	deletes [][]any
}

func (b *pickBackend) Query(ctx context.Context, q string, args ...any) (Rows, error) {
	b.picks = append(b.picks, args)
	limit := int(args[len(args)-1].(int64))
	n := min(limit, len(b.keys))
	rows := &keyRows{keys: b.keys[:n]}
	b.keys = b.keys[n:]
	return rows, nil
}

func (b *pickBackend) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	b.deletes = append(b.deletes, args)
	return 0, nil
}

type keyRows struct {
	keys []string
	i    int
}

func (r *keyRows) Next() bool { r.i++; return r.i <= len(r.keys) }
func (r *keyRows) Scan(dest ...any) error {
	*dest[0].(*string) = r.keys[r.i-1]
	if len(dest) > 1 {
		*dest[1].(*any) = "expiry of " + r.keys[r.i-1]
	}
	return nil
}
func (r *keyRows) Err() error   { return nil }
func (r *keyRows) Close() error { return nil }

func TestDeletePickedKeys(t *testing.T) {
	tests := []struct {
		name    string
		expired int
		batch   int
		sizes   []int // keys bound per delete
	}{
		{"none", 0, 100, []int{}},
		{"padded to 8", 3, 100, []int{8}},
		{"one full batch and a rest", 150, 100, []int{128, 64}},
		{"over the statement's bound", 2000, 1500, []int{1024, 512, 512}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &pickBackend{}
			for i := 0; i < tt.expired; i++ {
				b.keys = append(b.keys, fmt.Sprint("k", i))
			}
			s, err := NewWithBackend(b, MySQL, Options{CleanupBatchSize: tt.batch, CleanupPause: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			n, err := s.DeleteExpired(context.Background())
			if n != int64(tt.expired) || err != nil {
				t.Fatalf("DeleteExpired() = %d, %v, want %d, nil", n, err, tt.expired)
			}
			seen := map[any]bool{}
			var sizes []int
			for _, args := range b.deletes {
				keys := args[:len(args)-2] // now, -now
				sizes = append(sizes, len(keys))
				for _, k := range keys {
					seen[k] = true
				}
			}
			if fmt.Sprint(sizes) != fmt.Sprint(tt.sizes) {
				t.Errorf("keys per delete = %v, want %v", sizes, tt.sizes)
			}
			if len(seen) != tt.expired {
				t.Errorf("deleted %d distinct keys, want %d", len(seen), tt.expired)
			}
		})
	}
}

// TestDeleteExpiredKeysetCursor checks that each batch starts where the
// last one ended: at 1970 (the tombstones' expiry) first, then at the
// latest expiry the previous batch reached. The batches' parameters are
// now, -now, from, limit.
func TestDeleteExpiredKeysetCursor(t *testing.T) {
	tests := []struct {
		name    string
		dialect Dialect
		deleted int64
		backend func() (b Backend, batches func() [][]any)
		from    []any // after the first batch's, which is 1970
	}{
		// The fake reports n rows, the latest expiring at n (Unix ms).
		{"postgres", Postgres, 24, func() (Backend, func() [][]any) {
			b := &fakeBackend{affected: []int64{10, 10, 4}}
			return b, func() [][]any { return b.batches }
		}, []any{int64(10), int64(10)}},
		{"mysql", MySQL, 25, func() (Backend, func() [][]any) {
			b := &pickBackend{}
			for i := range 25 {
				b.keys = append(b.keys, fmt.Sprint("k", i))
			}
			return b, func() [][]any { return b.picks }
		}, []any{"expiry of k9", "expiry of k19"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, batches := tt.backend()
			s, err := NewWithBackend(b, tt.dialect, Options{CleanupBatchSize: 10, CleanupPause: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if n, err := s.DeleteExpired(context.Background()); n != tt.deleted || err != nil {
				t.Fatalf("DeleteExpired() = %d, %v, want %d, nil", n, err, tt.deleted)
			}
			want := append([]any{s.q.dead}, tt.from...)
			got := batches()
			if len(got) != len(want) {
				t.Fatalf("%d batches, want %d", len(got), len(want))
			}
			for i, args := range got {
				if args[2] != want[i] {
					t.Errorf("batch %d starts at %v, want %v", i, args[2], want[i])
				}
			}
		})
	}
}

func TestKeyBucket(t *testing.T) {
	for _, tt := range []struct{ n, want int }{{1, 8}, {8, 8}, {9, 16}, {100, 128}, {1024, 1024}} {
		if got := keyBucket(tt.n); got != tt.want {
			t.Errorf("keyBucket(%d) = %d, want %d", tt.n, got, tt.want)
		}
	}
}
