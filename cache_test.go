package sqlsession

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestCacheOptions(t *testing.T) {
	tests := []struct {
		name    string
		in      CacheOptions
		want    CacheOptions
		wantErr bool
	}{
		{"zero is off", CacheOptions{}, CacheOptions{}, false},
		{"entries only", CacheOptions{MaxEntries: 10}, CacheOptions{MaxEntries: 10, MaxBytes: DefaultCacheBytes, MaxAge: DefaultCacheMaxAge, PollInterval: DefaultCachePollInterval, MaxLag: DefaultCacheMaxLag}, false},
		{"bytes only", CacheOptions{MaxBytes: 1 << 20}, CacheOptions{MaxBytes: 1 << 20, MaxAge: DefaultCacheMaxAge, PollInterval: DefaultCachePollInterval, MaxLag: DefaultCacheMaxLag}, false},
		{"all set", CacheOptions{MaxBytes: 5, MaxEntries: 6, MaxAge: 7, PollInterval: 8, MaxLag: 9}, CacheOptions{MaxBytes: 5, MaxEntries: 6, MaxAge: 7, PollInterval: 8, MaxLag: 9}, false},
		{"settings without a bound", CacheOptions{MaxAge: time.Second}, CacheOptions{}, true},
		{"negative bytes", CacheOptions{MaxBytes: -1}, CacheOptions{}, true},
		{"negative entries", CacheOptions{MaxEntries: -1}, CacheOptions{}, true},
		{"negative age", CacheOptions{MaxEntries: 1, MaxAge: -1}, CacheOptions{}, true},
		{"negative interval", CacheOptions{MaxEntries: 1, PollInterval: -1}, CacheOptions{}, true},
		{"lag under interval", CacheOptions{MaxEntries: 1, PollInterval: time.Second, MaxLag: time.Millisecond}, CacheOptions{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.withDefaults()
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidOptions) {
					t.Errorf("withDefaults(%+v) = %v, want ErrInvalidOptions", tt.in, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("withDefaults(%+v) = %+v, %v, want %+v", tt.in, got, err, tt.want)
			}
		})
	}
	if _, err := New(nil, Postgres, Options{Cache: CacheOptions{MaxEntries: -1}}); err == nil {
		t.Error("New with a negative Cache.MaxEntries succeeded")
	}
}

// testCache returns a serving cache whose clock the test moves.
func testCache(o CacheOptions) (*cache, *int64) {
	o, err := o.withDefaults()
	if err != nil {
		panic(err)
	}
	c := newCache(o)
	var now int64
	c.clock = func() int64 { return now }
	c.resync(0)
	return c, &now
}

var later = time.Now().Add(time.Hour)

// put fills key through the cache's ticket protocol, as a read does.
func put(c *cache, key string, data []byte) {
	_, t, _ := c.get(key, time.Now())
	c.fill(t, key, Entry{Data: data, Expiry: later, Version: 1}, "")
}

func has(c *cache, key string) bool {
	e, _, _ := c.get(key, time.Now())
	return e != nil
}

func TestCacheHitAndCopy(t *testing.T) {
	c, _ := testCache(CacheOptions{MaxEntries: 100})
	data := []byte("hello")
	put(c, "k", data)
	data[0] = 'j' // the caller's buffer is not the cache's
	e, _, _ := c.get("k", time.Now())
	if e == nil || string(e.data) != "hello" || e.version != 1 || !e.expiry.Equal(later) {
		t.Fatalf("get(k) = %+v, want hello, version 1", e)
	}
	st := statsOf(c)
	if st.Hits != 1 || st.Misses != 1 || st.Entries != 1 {
		t.Errorf("stats = %+v, want 1 hit, 1 miss, 1 entry", st)
	}
}

func statsOf(c *cache) CacheStats {
	return (&Store{cache: c}).CacheStats()
}

func TestCacheBoundsEntries(t *testing.T) {
	c, _ := testCache(CacheOptions{MaxEntries: 1000})
	for i := range 5000 {
		put(c, fmt.Sprint("key", i), []byte("x"))
	}
	st := statsOf(c)
	if st.Entries > 1000 || st.Entries < 500 {
		t.Errorf("Entries = %d after 5000 fills with MaxEntries 1000, want 500 to 1000", st.Entries)
	}
	if st.Evictions != uint64(5000-st.Entries) {
		t.Errorf("Evictions = %d, want %d", st.Evictions, 5000-st.Entries)
	}
}

func TestCacheBoundsBytes(t *testing.T) {
	c, _ := testCache(CacheOptions{MaxBytes: 1 << 20})
	data := make([]byte, 1000)
	for i := range 5000 {
		put(c, fmt.Sprint("key", i), data)
	}
	if st := statsOf(c); st.Bytes > 1<<20 || st.Bytes < 1<<19 {
		t.Errorf("Bytes = %d after 5000 fills of 1 KB with MaxBytes 1 MiB, want 0.5 to 1 MiB", st.Bytes)
	}
	put(c, "huge", make([]byte, 2<<20))
	if has(c, "huge") {
		t.Error("an entry larger than a shard's share was cached")
	}
}

func TestCacheLRU(t *testing.T) {
	// One shard (a small cache), four entries.
	c, _ := testCache(CacheOptions{MaxEntries: 4, MaxBytes: 1 << 20})
	if len(c.shards) != 1 {
		t.Fatalf("%d shards, want 1", len(c.shards))
	}
	for _, k := range []string{"a", "b", "c", "d"} {
		put(c, k, []byte(k))
	}
	has(c, "a") // a is now the most recently used, b the least
	put(c, "e", []byte("e"))
	for k, want := range map[string]bool{"a": true, "b": false, "c": true, "d": true, "e": true} {
		if got := has(c, k); got != want {
			t.Errorf("has(%s) = %v, want %v", k, got, want)
		}
	}
}

func TestCacheExpiryAndMaxAge(t *testing.T) {
	c, now := testCache(CacheOptions{MaxEntries: 10, MaxAge: time.Second, MaxLag: time.Hour})
	_, tk, _ := c.get("soon", time.Now())
	c.fill(tk, "soon", Entry{Data: []byte("x"), Expiry: time.Now().Add(time.Minute)}, "")
	if e, _, _ := c.get("soon", time.Now().Add(2*time.Minute)); e != nil {
		t.Error("an expired session was served")
	}
	put(c, "old", []byte("x"))
	*now += int64(999 * time.Millisecond)
	if !has(c, "old") {
		t.Error("a session younger than MaxAge was not served")
	}
	*now += int64(time.Millisecond)
	if has(c, "old") {
		t.Error("a session held for MaxAge was served")
	}
	if st := statsOf(c); st.Expirations != 2 {
		t.Errorf("Expirations = %d, want 2", st.Expirations)
	}
}

// TestCacheReadFillRace checks the rule that keeps a read that began before
// an invalidation from filling the cache after it, in every order.
func TestCacheReadFillRace(t *testing.T) {
	tests := []struct {
		name   string
		meddle func(c *cache)
	}{
		{"the key changed", func(c *cache) { c.invalidate("k") }},
		{"the cache was flushed", func(c *cache) { c.flush() }},
		{"the owner's sessions were deleted", func(c *cache) { c.invalidateOwner("alice", "") }},
		{"the reader lost the log and caught up", func(c *cache) { c.desync(); c.resync(0) }},
		{"the reader lost the log", func(c *cache) { c.desync() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := testCache(CacheOptions{MaxEntries: 10})
			_, tk, _ := c.get("k", time.Now()) // the read begins
			tt.meddle(c)                       // the row changes, the change is read
			c.fill(tk, "k", Entry{Data: []byte("old"), Expiry: later}, "alice")
			if has(c, "k") {
				t.Errorf("a read that began before %s filled the cache", tt.name)
			}
		})
	}
	t.Run("another key changed", func(t *testing.T) {
		c, _ := testCache(CacheOptions{MaxEntries: 10})
		_, tk, _ := c.get("k", time.Now())
		for i := range 100 {
			k := fmt.Sprint("other", i)
			if sh, st := c.locate(k); sh == tk.shard && st == tk.stripe {
				continue // shares k's generation: a refusal there is allowed
			}
			c.invalidate(k)
		}
		c.fill(tk, "k", Entry{Data: []byte("v"), Expiry: later}, "")
		if !has(c, "k") {
			t.Error("invalidations of other keys refused a fill")
		}
	})
}

func TestCacheInvalidateOwner(t *testing.T) {
	c, _ := testCache(CacheOptions{MaxEntries: 100})
	for _, s := range []struct{ key, owner string }{{"a1", "alice"}, {"a2", "alice"}, {"a3", "alice"}, {"b1", "bob"}, {"n1", ""}} {
		_, tk, _ := c.get(s.key, time.Now())
		c.fill(tk, s.key, Entry{Data: []byte("x"), Expiry: later}, s.owner)
	}
	c.invalidateOwner("alice", "a2")
	for k, want := range map[string]bool{"a1": false, "a2": true, "a3": false, "b1": true, "n1": true} {
		if got := has(c, k); got != want {
			t.Errorf("has(%s) = %v after invalidateOwner(alice, keep a2), want %v", k, got, want)
		}
	}
}

func TestCacheServing(t *testing.T) {
	c, now := testCache(CacheOptions{MaxEntries: 10, MaxLag: time.Second})
	put(c, "k", []byte("x"))
	*now = int64(time.Second)
	if !has(c, "k") {
		t.Fatal("not served at a lag of MaxLag")
	}
	*now++
	if has(c, "k") {
		t.Error("served at a lag over MaxLag")
	}
	if st := statsOf(c); st.Bypassed != 1 || st.Lag != time.Second+1 {
		t.Errorf("stats = %+v, want 1 bypassed read and a lag of 1s", st)
	}
	c.caughtUp.Store(*now)
	if !has(c, "k") {
		t.Error("not served after the reader caught up")
	}
	c.desync()
	if has(c, "k") || statsOf(c).Entries != 0 {
		t.Error("a desynced cache served or kept entries")
	}
}

// TestCacheMemory measures the heap that 100,000 cached sessions of 200
// bytes take, against the bound they are counted against.
func TestCacheMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates ~100 MB")
	}
	for _, bound := range []int64{64 << 20, 16 << 20} {
		t.Run(fmt.Sprintf("MaxBytes=%dMiB", bound>>20), func(t *testing.T) {
			keys := make([]string, 100_000)
			for i := range keys {
				keys[i] = digest(NewToken())
			}
			data := make([]byte, 200)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			c, _ := testCache(CacheOptions{MaxBytes: bound})
			for _, k := range keys {
				put(c, k, data)
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			used := int64(after.HeapAlloc) - int64(before.HeapAlloc)
			st := statsOf(c)
			t.Logf("%d sessions cached of 100000: %d bytes counted, %d bytes of heap (%.0f per session), bound %d",
				st.Entries, st.Bytes, used, float64(used)/float64(st.Entries), bound)
			if used > bound {
				t.Errorf("the cache took %d bytes of heap, over its bound of %d", used, bound)
			}
			if st.Bytes > bound {
				t.Errorf("Bytes = %d, over the bound of %d", st.Bytes, bound)
			}
			if bound == 64<<20 && st.Entries != 100_000 {
				t.Errorf("Entries = %d, want all 100000 within 64 MiB", st.Entries)
			}
			runtime.KeepAlive(c)
		})
	}
}

// fakeLog is a change log in memory: rows become visible when committed,
// in any order.
type fakeLog struct {
	mu       sync.Mutex
	rows     []change // committed
	boot     string
	err      error
	polls    int
	gapsAsks int
	trimmed  int64
	trims    int
}

func (f *fakeLog) commit(seq int64, key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rows = append(f.rows, change{seq, key})
	slices.SortFunc(f.rows, func(a, b change) int { return cmpInt(a.seq, b.seq) })
}

func (f *fakeLog) recent(context.Context) ([]int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	var out []int64
	for i := len(f.rows) - 1; i >= 0 && len(out) < recentSeqs; i-- {
		out = append(out, f.rows[i].seq)
	}
	return out, nil
}

func (f *fakeLog) poll(_ context.Context, after int64) ([]change, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.polls++
	if f.err != nil {
		return nil, f.err
	}
	var out []change
	for _, r := range f.rows {
		if r.seq > after && len(out) < pollBatch {
			out = append(out, r)
		}
	}
	return out, nil
}

func (f *fakeLog) gaps(_ context.Context, seqs []int64) ([]change, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gapsAsks++
	if f.err != nil {
		return nil, f.err
	}
	var out []change
	for _, r := range f.rows {
		if slices.Contains(seqs, r.seq) {
			out = append(out, r)
		}
	}
	return out, nil
}

func (f *fakeLog) trim(_ context.Context, from, below int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rows = slices.DeleteFunc(f.rows, func(r change) bool { return from <= r.seq && r.seq < below })
	f.trimmed = below
	f.trims++
	return f.err
}

func (f *fakeLog) min(context.Context) (int64, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.rows) == 0 {
		return 0, false, f.err
	}
	return f.rows[0].seq, true, f.err
}

func (f *fakeLog) max(context.Context) (int64, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.rows) == 0 {
		return 0, false, f.err
	}
	return f.rows[len(f.rows)-1].seq, true, f.err
}

func (f *fakeLog) restart(context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.boot, f.err
}

// testLog returns a synced cache and its change log reader on f.
func testLog(t *testing.T, f *fakeLog) (*cache, *changeLog, *int64) {
	t.Helper()
	c, now := testCache(CacheOptions{MaxEntries: 1000, MaxLag: time.Hour})
	c.synced.Store(false)
	l := &changeLog{c: c, r: f, jitter: func(d time.Duration) time.Duration { return d }}
	c.log = l
	if err := l.step(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !c.synced.Load() {
		t.Fatal("not synced after the first step")
	}
	return c, l, now
}

func step(t *testing.T, l *changeLog) {
	t.Helper()
	if err := l.step(context.Background()); err != nil {
		t.Fatalf("step() = %v", err)
	}
}

func TestChangeLogEvicts(t *testing.T) {
	f := &fakeLog{}
	f.commit(1, "old")
	c, l, _ := testLog(t, f)
	put(c, "a", []byte("x"))
	put(c, "b", []byte("x"))
	put(c, "old", []byte("x"))
	f.commit(2, "a")
	step(t, l)
	if has(c, "a") || !has(c, "b") || !has(c, "old") {
		t.Errorf("after a change of a: a %v, b %v, old %v; want false, true, true (seq 1 predates the sync)", has(c, "a"), has(c, "b"), has(c, "old"))
	}
	if st := statsOf(c); st.Invalidations != 1 {
		t.Errorf("Invalidations = %d, want 1", st.Invalidations)
	}
}

// TestChangeLogOutOfOrder commits seq 3 before seq 2, as concurrent
// transactions do: the reader sees 3, keeps 2 as a gap, and applies 2 when
// it becomes visible.
func TestChangeLogOutOfOrder(t *testing.T) {
	f := &fakeLog{}
	f.commit(1, "x")
	c, l, _ := testLog(t, f)
	put(c, "late", []byte("x"))
	f.commit(3, "early")
	step(t, l)
	if len(l.gaps) != 1 || l.gaps[0].seq != 2 {
		t.Fatalf("gaps = %v, want [2]", l.gaps)
	}
	f.commit(2, "late")
	step(t, l)
	if has(c, "late") {
		t.Error("a change committed out of order was never applied")
	}
	if len(l.gaps) != 0 {
		t.Errorf("gaps = %v after the gap filled, want none", l.gaps)
	}
}

func TestChangeLogGapTimeout(t *testing.T) {
	f := &fakeLog{}
	_, l, now := testLog(t, f)
	f.commit(2, "a") // 1 was rolled back
	step(t, l)
	if len(l.gaps) != 1 {
		t.Fatalf("gaps = %v, want [1]", l.gaps)
	}
	*now += int64(gapTimeout)
	step(t, l)
	if len(l.gaps) != 0 {
		t.Errorf("gaps = %v after gapTimeout, want none", l.gaps)
	}
}

// TestChangeLogOldGaps keeps a transaction open while more than youngSpan
// others commit: its gap is asked for by number, on the next poll.
func TestChangeLogOldGaps(t *testing.T) {
	f := &fakeLog{}
	c, l, now := testLog(t, f)
	put(c, "slow", []byte("x"))
	for seq := int64(2); seq <= 2+youngSpan+1500; seq++ {
		f.commit(seq, fmt.Sprint("k", seq))
	}
	step(t, l) // two pages; seq 1 is now an old gap
	if len(l.gaps) != 1 || l.gaps[0].seq != 1 {
		t.Fatalf("gaps = %v, want [1]", l.gaps)
	}
	f.commit(1, "slow")
	asks, polls := f.gapsAsks, f.polls
	*now += int64(time.Millisecond)
	step(t, l)
	if f.gapsAsks != asks+1 || f.polls != polls+1 || has(c, "slow") || len(l.gaps) != 0 {
		t.Errorf("old gap: %d gap queries, %d range queries, slow cached %v, gaps %v; want 1, 1, evicted, none left",
			f.gapsAsks-asks, f.polls-polls, has(c, "slow"), l.gaps)
	}
	step(t, l)
	if f.gapsAsks != asks+1 {
		t.Error("gaps asked for by number with none left")
	}
}

func TestChangeLogFailure(t *testing.T) {
	f := &fakeLog{}
	c, l, _ := testLog(t, f)
	put(c, "a", []byte("x"))
	_, inflight, _ := c.get("b", time.Now())
	f.err = errors.New("connection reset")
	if err := l.step(context.Background()); err == nil {
		t.Fatal("step() = nil on a failing log")
	}
	if has(c, "a") || c.synced.Load() {
		t.Error("a cache whose log failed still serves")
	}
	put(c, "c", []byte("x"))
	f.err = nil
	f.commit(1, "z")
	step(t, l) // resync
	c.fill(inflight, "b", Entry{Data: []byte("x"), Expiry: later}, "")
	if has(c, "c") || has(c, "b") {
		t.Error("a read made while the log was failing filled the cache")
	}
	put(c, "d", []byte("x"))
	if !has(c, "d") {
		t.Error("the cache does not fill after the log came back")
	}
}

func TestChangeLogReset(t *testing.T) {
	tests := []struct {
		name  string
		reset func(f *fakeLog)
	}{
		{"the server restarted", func(f *fakeLog) { f.boot = "later" }},
		{"the log was emptied", func(f *fakeLog) { f.rows = nil }},
		{"the log was recreated", func(f *fakeLog) { f.rows = []change{{1, "x"}} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeLog{}
			f.commit(5, "x")
			c, l, now := testLog(t, f)
			put(c, "a", []byte("x"))
			tt.reset(f)
			*now += int64(checkEvery)
			if err := l.step(context.Background()); err == nil {
				t.Fatal("step() = nil after the log was reset")
			}
			if has(c, "a") {
				t.Error("the cache kept its sessions after the log was reset")
			}
			step(t, l)
			if !c.synced.Load() {
				t.Error("no resync after the reset")
			}
		})
	}
}

func TestChangeLogTruncate(t *testing.T) {
	f := &fakeLog{}
	c, l, _ := testLog(t, f)
	put(c, "a", []byte("x"))
	put(c, "b", []byte("x"))
	f.commit(1, "")
	step(t, l)
	if has(c, "a") || has(c, "b") {
		t.Error("sessions survived a TRUNCATE")
	}
}

func TestChangeLogStall(t *testing.T) {
	f := &fakeLog{}
	c, l, now := testLog(t, f)
	put(c, "a", []byte("x"))
	*now += int64(retention / 2)
	*now++
	step(t, l) // too late: rows it has not read may be gone
	if has(c, "a") {
		t.Error("the cache kept its sessions after its reader stalled past retention/2")
	}
	if !c.synced.Load() {
		t.Error("no resync after the stall")
	}
}

func TestChangeLogTrim(t *testing.T) {
	f := &fakeLog{}
	_, l, now := testLog(t, f)
	for i := int64(1); i <= 120; i++ {
		f.commit(i, "k")
		*now += int64(time.Second)
		step(t, l)
	}
	// The reader saw seq 60 about a retention ago: what is below it goes.
	if f.trimmed < 55 || f.trimmed > 62 {
		t.Errorf("trimmed below %d after 120 s at one change a second, want about 60", f.trimmed)
	}
	if top, _, _ := f.max(context.Background()); top != 120 {
		t.Errorf("the newest row is %d, want 120 kept", top)
	}
	if low, _, _ := f.min(context.Background()); low != f.trimmed {
		t.Errorf("the lowest row is %d, want %d", low, f.trimmed)
	}
}

// TestChangeLogTrimBacklog checks that a backlog is trimmed a bounded
// range per poll: no statement spans more than trimSpan seqs.
func TestChangeLogTrimBacklog(t *testing.T) {
	f := &fakeLog{}
	_, l, now := testLog(t, f)
	for seq := int64(1); seq <= 3*trimSpan; seq++ {
		f.commit(seq, "k")
	}
	for range 62 { // a trim is due every 2 s; at 62 s the rows seen at 1 s may go
		*now += int64(time.Second)
		step(t, l)
	}
	before := f.trims
	for range 10 {
		*now += int64(time.Millisecond)
		step(t, l)
	}
	if got := f.trims - before; got < 2 || got > 10 {
		t.Errorf("%d more trim statements for a backlog of 3 spans, want 2 or more, one per poll", got)
	}
	if low, _, _ := f.min(context.Background()); low != 3*trimSpan {
		t.Errorf("the lowest row is %d after working off the backlog, want %d", low, 3*trimSpan)
	}
}

// memBackend is a Backend with one session row store and a change log, for
// the Store-level tests of the cache: it answers the cache's queries only.
type memBackend struct {
	fakeLog
	s     *Store
	reads int
	data  map[string][]byte
}

func (m *memBackend) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return 1, nil
}

func (m *memBackend) QueryRow(ctx context.Context, query string, args ...any) Row {
	switch query {
	case m.s.cq.load, m.s.q.find:
		m.fakeLog.mu.Lock()
		m.reads++
		d, ok := m.data[args[0].(string)]
		m.fakeLog.mu.Unlock()
		if !ok {
			return errRow{sql.ErrNoRows}
		}
		return memRow{d}
	case m.s.cq.restart:
		return memRow{""}
	case m.s.cq.max:
		top, ok, err := m.max(ctx)
		return memRow{sql.NullInt64{Int64: top, Valid: ok && err == nil}}
	}
	return errRow{fmt.Errorf("memBackend: unexpected %s", query)}
}

func (m *memBackend) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	switch query {
	case m.s.cq.recent:
		return &memRows{}, nil
	case m.s.cq.poll:
		rows, err := m.poll(ctx, args[0].(int64))
		return &memRows{rows: rows}, err
	}
	return nil, fmt.Errorf("memBackend: unexpected %s", query)
}

type memRow struct{ v any }

func (r memRow) Scan(dest ...any) error {
	switch v := r.v.(type) {
	case []byte:
		*dest[0].(*[]byte) = v
		if len(dest) == 3 { // the cache's read; Find's without it reads the data only
			dest[1].(*timeScan).t = later
			*dest[2].(*int64) = 1
		}
	case string:
		*dest[0].(*string) = v
	case sql.NullInt64:
		*dest[0].(*sql.NullInt64) = v
	}
	return nil
}

type memRows struct {
	rows []change
	i    int
}

func (r *memRows) Next() bool { r.i++; return r.i <= len(r.rows) }
func (r *memRows) Scan(dest ...any) error {
	*dest[0].(*int64), *dest[1].(*string) = r.rows[r.i-1].seq, r.rows[r.i-1].key
	return nil
}
func (r *memRows) Err() error   { return nil }
func (r *memRows) Close() error { return nil }

// TestStoreCache drives a Store with the cache on over a Backend in memory,
// in a bubble of fake time: the reader starts with the first read, a
// second read is a hit, a change in the log is seen within PollInterval,
// and Close stops the reader.
func TestStoreCache(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &memBackend{data: map[string][]byte{}}
		s, err := NewWithBackend(m, Postgres, Options{Cache: CacheOptions{MaxEntries: 100, PollInterval: 10 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		m.s = s
		defer s.Close()
		tok := NewToken()
		key, _ := s.key(tok)
		m.data[key] = []byte("v1")
		synctest.Wait()
		if s.cache.started.Load() {
			t.Fatal("the change log reader started before the first read")
		}
		ctx := context.Background()
		find := func(want string) {
			t.Helper()
			data, found, err := s.Find(ctx, tok)
			if err != nil || !found || string(data) != want {
				t.Fatalf("Find = %q, %v, %v, want %q", data, found, err, want)
			}
		}
		find("v1") // starts the reader; bypassed until its first poll
		time.Sleep(time.Millisecond)
		synctest.Wait()
		find("v1") // fills
		find("v1") // hits
		// The reader's first poll may also finish before the first read
		// asks the cache, which then fills at once instead of bypassing.
		st := s.CacheStats()
		wantHits, wantReads := uint64(1), 2
		if st.Bypassed == 0 {
			wantHits, wantReads = 2, 1
		}
		if st.Hits != wantHits || m.reads != wantReads {
			t.Errorf("stats %+v, %d reads; want %d hits, %d reads", st, m.reads, wantHits, wantReads)
		}
		m.fakeLog.mu.Lock()
		m.data[key] = []byte("v2")
		m.fakeLog.mu.Unlock()
		m.commit(1, key)
		time.Sleep(10 * time.Millisecond)
		synctest.Wait()
		find("v2")
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		// synctest.Test fails if the reader goroutine outlives the bubble.
	})
}

// TestGoldenChangeLogSQL pins the SQL of the cache and its change log for
// every dialect. Run with -update after a deliberate change and review
// the diff.
func TestGoldenChangeLogSQL(t *testing.T) {
	configs := []struct {
		name string
		opts Options
	}{
		{"default", Options{}},
		{"schema-owner", Options{Schema: "app", Table: "web_sessions", Owner: func([]byte) (string, error) { return "", nil }}},
		{"no-version", Options{Layout: Layout{Key: "sid", Data: "sess", Expiry: "expire", Version: NoColumn, Time: Timestamp, JSON: true}}},
	}
	for _, d := range Dialects {
		var b strings.Builder
		for _, cfg := range configs {
			opts := cfg.opts
			opts.Cache = CacheOptions{MaxEntries: 1}
			opts, err := opts.withDefaults()
			if err != nil {
				t.Fatal(err)
			}
			q := buildChangeQueries(d.d, &opts)
			add := func(name, sql string) { fmt.Fprintf(&b, "-- %s %s\n%s\n\n", cfg.name, name, sql) }
			for i, s := range q.create {
				add(fmt.Sprint("create[", i, "]"), s)
			}
			for i, tr := range q.triggers {
				add(fmt.Sprint("triggers[", i, "].check"), tr.check)
				add(fmt.Sprint("triggers[", i, "].create"), tr.create)
			}
			add("exists", q.exists)
			if q.restart != "" {
				add("restart", q.restart)
			}
			add("load", q.load)
			add("recent", q.recent)
			add("poll", q.poll)
			add("pollGaps", q.pollGaps)
			add("trim", q.trim)
			add("max", q.max)
		}
		got := b.String()
		path := filepath.Join("testdata", "sql", d.Name()+"-cache.golden")
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -update to create it)", err)
		}
		if got != string(want) {
			t.Errorf("cache SQL for %s differs from %s:\n%s", d, path, got)
		}
	}
}
