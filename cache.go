package sqlsession

import (
	"context"
	"database/sql"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of [CacheOptions].
const (
	DefaultCacheBytes        = 64 << 20
	DefaultCacheMaxAge       = time.Minute
	DefaultCachePollInterval = 5 * time.Millisecond
	DefaultCacheMaxLag       = 50 * time.Millisecond
)

// CacheOptions configure the in-process session cache of a [Store]
// ([Options.Cache]). The zero value turns the cache off; setting MaxBytes or
// MaxEntries turns it on.
//
// With the cache on, [Store.Find] and [Store.Lookup] answer from memory
// when they can. The table stays the source of truth: [Store.CreateTable]
// installs a trigger that appends the key of every updated or deleted row
// to a change log (the table named Options.Table + "_changes") in the same
// transaction, whoever writes it (another instance, the command line,
// another application, SQL typed by hand), and each Store with the cache
// on reads that log every PollInterval and drops the sessions it names. (A
// row inserted under a new key needs no entry: no cache can hold it.) A
// session changed or deleted anywhere is therefore answered from memory
// for about PollInterval after its commit, never longer than MaxLag, and
// never once the Store has read the change; the Store's own writes drop
// their session at once. When the change log cannot be read, or is read
// late, the cache is bypassed (and emptied) until it has caught up. Each
// update or delete costs the database one more row insert. See the README
// and docs/scale.md for the measured bounds and costs.
type CacheOptions struct {
	// MaxBytes bounds the memory the cached sessions take, counting their
	// data, keys and bookkeeping. Default 64 MiB when only MaxEntries is
	// set. The least recently used sessions are dropped to stay within it.
	MaxBytes int64

	// MaxEntries bounds the number of cached sessions. Default 0: bounded
	// by MaxBytes only.
	MaxEntries int

	// MaxAge is the longest a session is answered from memory after it was
	// read from the table: the backstop for a change the change log cannot
	// show (see docs/scale.md). Default 1 minute.
	MaxAge time.Duration

	// PollInterval is how often the change log is read: one indexed query
	// that usually returns nothing. Default 5ms.
	PollInterval time.Duration

	// MaxLag is how far behind the change log the cache may be and still
	// answer: when the last complete read of the log began longer ago than
	// MaxLag (a slow database, a stalled process), reads go to the table
	// until it has caught up. It is therefore the bound on staleness: a
	// change committed anywhere is never answered from memory longer than
	// MaxLag after its commit (but for the cases docs/scale.md lists, which
	// MaxAge bounds). A larger MaxLag keeps the cache answering through
	// slower reads of the log, for a looser bound. Default 50ms.
	MaxLag time.Duration
}

func (c CacheOptions) enabled() bool { return c.MaxBytes > 0 || c.MaxEntries > 0 }

// withDefaults validates c and fills in its defaults.
func (c CacheOptions) withDefaults() (CacheOptions, error) {
	for _, f := range []struct {
		name string
		bad  bool
	}{
		{"Cache.MaxBytes", c.MaxBytes < 0},
		{"Cache.MaxEntries", c.MaxEntries < 0},
		{"Cache.MaxAge", c.MaxAge < 0},
		{"Cache.PollInterval", c.PollInterval < 0},
		{"Cache.MaxLag", c.MaxLag < 0},
	} {
		if f.bad {
			return c, fmt.Errorf("%w: %s must not be negative", ErrInvalidOptions, f.name)
		}
	}
	if !c.enabled() {
		if c != (CacheOptions{}) {
			return c, fmt.Errorf("%w: Cache needs MaxBytes or MaxEntries to turn it on", ErrInvalidOptions)
		}
		return c, nil
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultCacheBytes
	}
	if c.MaxAge == 0 {
		c.MaxAge = DefaultCacheMaxAge
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultCachePollInterval
	}
	if c.MaxLag == 0 {
		c.MaxLag = DefaultCacheMaxLag
	}
	if c.MaxLag < c.PollInterval {
		return c, fmt.Errorf("%w: Cache.MaxLag %v is shorter than Cache.PollInterval %v", ErrInvalidOptions, c.MaxLag, c.PollInterval)
	}
	return c, nil
}

// CacheStats is a snapshot of the session cache's counters, from
// [Store.CacheStats]. Counters only grow; Entries, Bytes and Lag are the
// state at the time of the snapshot.
type CacheStats struct {
	// Hits are reads answered from memory; Misses reads that went to the
	// table while the cache was serving.
	Hits, Misses uint64
	// Bypassed are reads that went to the table because the cache could
	// not vouch for its contents: the change log was not read recently
	// enough (CacheOptions.MaxLag), or could not be read.
	Bypassed uint64
	// Evictions are sessions dropped to make room (MaxBytes, MaxEntries).
	Evictions uint64
	// Expirations are sessions dropped because they expired or were held
	// longer than CacheOptions.MaxAge.
	Expirations uint64
	// Invalidations are sessions dropped because their row changed: read
	// from the change log, or written by this Store.
	Invalidations uint64
	// Flushes count the times the whole cache was emptied: the change log
	// could not be read or was read too late, the database restarted,
	// the table was cleared or truncated.
	Flushes uint64
	// Polls and PollErrors count the reads of the change log.
	Polls, PollErrors uint64
	// Entries and Bytes are what the cache holds now, Bytes as counted
	// against CacheOptions.MaxBytes.
	Entries int
	Bytes   int64
	// Lag is how long ago the last complete read of the change log began;
	// -1 before the first one.
	Lag time.Duration
}

// CacheStats returns a snapshot of the cache's counters; the zero
// CacheStats when the cache is off. It is cheap enough to export as
// metrics on every scrape.
func (s *Store) CacheStats() CacheStats {
	c := s.cache
	if c == nil {
		return CacheStats{}
	}
	st := CacheStats{
		Bypassed:   c.bypassed.Load(),
		Flushes:    c.flushes.Load(),
		Polls:      c.polls.Load(),
		PollErrors: c.pollErrors.Load(),
		Lag:        -1,
	}
	if c.synced.Load() {
		st.Lag = time.Duration(c.mono() - c.caughtUp.Load())
	}
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		st.Hits += sh.hits
		st.Misses += sh.misses
		st.Evictions += sh.evictions
		st.Expirations += sh.expirations
		st.Invalidations += sh.invalidations
		st.Entries += len(sh.m)
		st.Bytes += sh.bytes
		sh.mu.Unlock()
	}
	return st
}

// entryOverhead is what a cached session costs beyond its key, data and
// owner bytes: the entry, the map slot and allocator rounding, measured
// (TestCacheMemory) for sessions of 200 bytes with 43-byte keys, and
// rounded up.
const entryOverhead = 256

// Shards and generation stripes. A shard is one lock, map and LRU list;
// each shard keeps stripesPerShard generation counters, which the keys
// hashing to them share.
const (
	maxShards       = 64
	stripesPerShard = 64
)

// cache is the in-process session cache: sharded LRU maps from stored key
// to session, with the generations that keep a read that began before an
// invalidation from filling the cache after it.
//
// The rule that keeps it correct: an entry is only ever added by fill,
// with a ticket taken before the database read that produced it; every
// invalidation of a key bumps the key's stripe generation under the
// shard's lock, and every flush bumps the epoch, so fill refuses data read
// before either.
type cache struct {
	o      CacheOptions
	seed   maphash.Seed
	shards []shard
	mask   uint64
	base   time.Time
	clock  func() int64 // monotonic nanoseconds; replaced in tests

	epoch    atomic.Uint64 // bumped by every flush
	synced   atomic.Bool   // the poller has read the change log since the last flush
	caughtUp atomic.Int64  // mono time at which the last complete poll began

	started atomic.Bool
	log     *changeLog
	trace   func(CacheEvent, int) // reports events to a CacheTracer; nil without one

	bypassed, flushes, polls, pollErrors atomic.Uint64
}

type shard struct {
	mu         sync.Mutex
	m          map[string]*entry
	lru        entry // sentinel: lru.next is the most recently used
	bytes      int64
	maxBytes   int64
	maxEntries int
	gens       [stripesPerShard]uint64

	hits, misses, evictions, expirations, invalidations uint64
	_                                                   [64]byte // keep shards on separate cache lines
}

// entry is one cached session. Its fields never change once it is in the
// map (a new read replaces the entry), so data may be copied outside the
// shard's lock.
type entry struct {
	key     string
	data    []byte
	expiry  time.Time
	version int64
	owner   string
	filled  int64 // mono time of the read that produced it
	size    int64

	prev, next *entry
}

func newCache(o CacheOptions) *cache {
	n := maxShards
	// Small caches get fewer shards, so that the per-shard bounds (the
	// totals divided evenly) stay useful.
	for n > 1 && (o.MaxEntries > 0 && o.MaxEntries/n < 16 || o.MaxBytes/int64(n) < 64<<10) {
		n /= 2
	}
	c := &cache{o: o, seed: maphash.MakeSeed(), shards: make([]shard, n), mask: uint64(n - 1), base: time.Now()}
	c.clock = func() int64 { return int64(time.Since(c.base)) }
	for i := range c.shards {
		sh := &c.shards[i]
		sh.m = map[string]*entry{}
		sh.lru.next, sh.lru.prev = &sh.lru, &sh.lru
		sh.maxBytes = o.MaxBytes / int64(n)
		if o.MaxEntries > 0 {
			sh.maxEntries = max(1, o.MaxEntries/n)
		}
	}
	return c
}

func (c *cache) mono() int64 { return c.clock() }

// ticket is what a read learns before it asks the database, for fill.
type ticket struct {
	shard  *shard
	stripe int
	gen    uint64
	epoch  uint64
}

func (c *cache) locate(key string) (*shard, int) {
	h := maphash.String(c.seed, key)
	return &c.shards[h&c.mask], int(h>>32) % stripesPerShard
}

// serving reports whether the cache may answer: the change log has been
// read since the last flush, and recently enough.
func (c *cache) serving() bool {
	return c.synced.Load() && c.mono()-c.caughtUp.Load() <= int64(c.o.MaxLag)
}

// get returns the cached session of key if there is a live one, and
// otherwise a ticket for filling it after reading the database; serving is
// false when the cache can vouch for nothing (see [cache.serving]). The
// returned entry must not be modified.
func (c *cache) get(key string, now time.Time) (e *entry, t ticket, serving bool) {
	if !c.serving() {
		c.bypassed.Add(1)
		return nil, ticket{}, false
	}
	sh, stripe := c.locate(key)
	sh.mu.Lock()
	t = ticket{shard: sh, stripe: stripe, gen: sh.gens[stripe], epoch: c.epoch.Load()}
	e = sh.m[key]
	expired := false
	switch {
	case e == nil:
		sh.misses++
	case !now.Before(e.expiry) || c.mono()-e.filled >= int64(c.o.MaxAge):
		sh.remove(e)
		sh.expirations++
		sh.misses++
		e, expired = nil, true
	default:
		sh.hits++
		sh.touch(e)
	}
	sh.mu.Unlock()
	if expired && c.trace != nil {
		c.trace(CacheExpire, 1)
	}
	return e, t, true
}

// fill caches a session read from the database with the ticket taken
// before the read. It does nothing when the key was invalidated or the
// cache flushed since, or when the change log has not been read since the
// last flush: the read may predate a change that fill cannot know of.
func (c *cache) fill(t ticket, key string, e Entry, owner string) {
	if t.shard == nil || !c.synced.Load() {
		return
	}
	n := &entry{key: key, expiry: e.Expiry, version: e.Version, owner: owner, filled: c.mono()}
	n.data = append(make([]byte, 0, len(e.Data)), e.Data...)
	n.size = entryOverhead + int64(len(key)+cap(n.data)+len(owner))
	sh := t.shard
	if n.size > sh.maxBytes {
		return
	}
	sh.mu.Lock()
	evicted := 0
	defer func() {
		sh.mu.Unlock()
		if evicted > 0 && c.trace != nil {
			c.trace(CacheEvict, evicted)
		}
	}()
	if sh.gens[t.stripe] != t.gen || c.epoch.Load() != t.epoch || !c.synced.Load() {
		return
	}
	if old := sh.m[key]; old != nil {
		sh.remove(old)
	}
	sh.m[key] = n
	sh.bytes += n.size
	n.next, n.prev = sh.lru.next, &sh.lru
	n.next.prev, sh.lru.next = n, n
	for sh.bytes > sh.maxBytes || sh.maxEntries > 0 && len(sh.m) > sh.maxEntries {
		sh.remove(sh.lru.prev)
		sh.evictions++
		evicted++
	}
}

// invalidate drops key and refuses fills from reads that began before.
func (c *cache) invalidate(key string) {
	sh, stripe := c.locate(key)
	sh.mu.Lock()
	sh.gens[stripe]++
	e := sh.m[key]
	if e != nil {
		sh.remove(e)
		sh.invalidations++
	}
	sh.mu.Unlock()
	if e != nil && c.trace != nil {
		c.trace(CacheInvalidate, 1)
	}
}

// invalidateOwner drops every session of owner but the one of keep, and
// refuses every fill in flight (their keys are unknown).
func (c *cache) invalidateOwner(owner, keep string) {
	c.epoch.Add(1)
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		for k, e := range sh.m {
			if e.owner == owner && k != keep {
				sh.remove(e)
				sh.invalidations++
				n++
			}
		}
		sh.mu.Unlock()
	}
	if n > 0 && c.trace != nil {
		c.trace(CacheInvalidate, n)
	}
}

// flush empties the cache and refuses every fill in flight.
func (c *cache) flush() {
	c.epoch.Add(1)
	c.flushes.Add(1)
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		clear(sh.m)
		sh.lru.next, sh.lru.prev = &sh.lru, &sh.lru
		sh.bytes = 0
		sh.mu.Unlock()
	}
	if c.trace != nil {
		c.trace(CacheFlush, n)
	}
}

// desync stops the cache from answering and empties it, until the poller
// has read the change log again.
func (c *cache) desync() {
	c.synced.Store(false)
	c.flush()
}

// resync lets the cache answer again after the poller has read the change
// log from a point at or before start.
func (c *cache) resync(start int64) {
	// A read that began before the sync may predate a change the sync
	// counts as seen: its fill is refused.
	c.epoch.Add(1)
	c.caughtUp.Store(start)
	c.synced.Store(true)
}

func (sh *shard) remove(e *entry) {
	delete(sh.m, e.key)
	sh.bytes -= e.size
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

// touch makes e the most recently used entry.
func (sh *shard) touch(e *entry) {
	if sh.lru.next == e {
		return
	}
	e.prev.next, e.next.prev = e.next, e.prev
	e.next, e.prev = sh.lru.next, &sh.lru
	e.next.prev, sh.lru.next = e, e
}

// Store hooks.

// cachedRead is the read path of Find and Lookup with the cache on: memory
// when it has the session, else the primary, whose answer fills the cache
// (a replica behind the change log would fill it with what the log already
// dropped). ok is false when the cache is bypassed: the caller then reads
// as it does without a cache, replica first.
func (s *Store) cachedRead(ctx context.Context, key string, now time.Time) (_ Entry, found, ok bool, err error) {
	c := s.cache
	s.startPoller()
	e, t, serving := c.get(key, now)
	switch {
	case !serving:
		s.traceCache(ctx, CacheBypass)
		return Entry{}, false, false, nil
	case e != nil:
		s.traceCache(ctx, CacheHit)
		return Entry{Data: append(make([]byte, 0, len(e.data)), e.data...), Expiry: e.expiry, Version: e.version}, true, true, nil
	}
	s.traceCache(ctx, CacheMiss)
	var loaded Entry
	exp := timeScan{f: s.opts.Layout.Time}
	var owner sql.NullString
	dest := []any{&loaded.Data, &exp}
	if s.opts.Layout.versioned() {
		dest = append(dest, &loaded.Version)
	}
	if s.opts.Owner != nil {
		dest = append(dest, &owner)
	}
	err = s.b.QueryRow(ctx, s.cq.load, key, s.q.time(now)).Scan(dest...)
	data, found, err := s.found(ctx, key, loaded.Data, err)
	if !found || err != nil {
		return Entry{}, found, true, err
	}
	loaded.Data, loaded.Expiry = data, exp.t
	c.fill(t, key, loaded, owner.String)
	return loaded, true, true, nil
}

// forget drops key from the cache after this Store wrote it.
func (s *Store) forget(key string) {
	if s.cache != nil {
		s.cache.invalidate(key)
	}
}

// forgetOwner drops the sessions of owner, but the one of keep, after this
// Store deleted them.
func (s *Store) forgetOwner(owner, keep string) {
	if s.cache != nil {
		s.cache.invalidateOwner(owner, keep)
	}
}

// forgetAll empties the cache after this Store cleared the table.
func (s *Store) forgetAll() {
	if s.cache != nil {
		s.cache.flush()
	}
}
