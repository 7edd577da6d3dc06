package sqlsession

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// janitor runs sweeps about every interval until Close. newTimer is a
// parameter so that tests can drive it.
func (s *Store) janitor(interval time.Duration, newTimer func(time.Duration) *time.Timer) {
	defer s.wg.Done()
	for {
		t := newTimer(jitter(interval))
		select {
		case <-s.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		s.sweep()
	}
}

// jitter returns d ± 10%.
func jitter(d time.Duration) time.Duration {
	spread := int64(d) / 5
	if spread <= 0 {
		return d
	}
	return d - time.Duration(spread/2) + time.Duration(rand.Int64N(spread+1))
}

// tick counts an operation and starts a background sweep every
// Options.CleanupEvery operations.
func (s *Store) tick() {
	n := s.opts.CleanupEvery
	if n <= 0 || s.ops.Add(1)%uint64(n) != 0 {
		return
	}
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		s.sweep()
	}()
}

// sweep runs one background cleanup, bounded by Options.CleanupTimeout,
// unless one is running in this Store or, where the dialect has named locks,
// in another instance on the same table.
func (s *Store) sweep() {
	if !s.sweeping.CompareAndSwap(false, true) {
		return
	}
	defer s.sweeping.Store(false)
	ctx, cancel := context.WithTimeout(s.ctx, s.opts.CleanupTimeout)
	defer cancel()
	log := s.opts.logger()
	release, ok, err := s.lockSweep(ctx)
	switch {
	case err != nil && s.ctx.Err() == nil:
		log.Error("sqlsession: background cleanup could not take its lock", "table", s.opts.Table, "err", err)
		return
	case err != nil:
		return
	case !ok:
		log.Debug("sqlsession: another instance is sweeping; skipped", "table", s.opts.Table)
		return
	}
	defer release()
	n, err := s.deleteExpired(ctx, true)
	switch {
	case err != nil && (s.ctx.Err() != nil || errors.Is(err, ErrClosed)):
		// Cancelled by Close: not worth a log line.
	case err != nil:
		log.Error("sqlsession: background cleanup failed", "table", s.opts.Table, "deleted", n, "err", err)
	case n > 0:
		log.Debug("sqlsession: deleted expired sessions", "table", s.opts.Table, "deleted", n)
	}
}

// lockSweep takes the table's sweep lock on a pinned connection. Without
// named locks (SQLite, where writers queue anyway) or a [Pinner] backend it
// succeeds at once.
func (s *Store) lockSweep(ctx context.Context) (release func(), ok bool, err error) {
	p, isPinner := s.b.(Pinner)
	if s.q.lock == "" || !isPinner {
		return func() {}, true, nil
	}
	conn, unpin, err := p.Pin(ctx)
	if err != nil {
		return nil, false, err
	}
	var got int64
	if err := conn.QueryRow(ctx, s.q.lock, s.q.lockName).Scan(&got); err != nil {
		unpin()
		return nil, false, err
	}
	if got != 1 {
		unpin()
		return nil, false, nil
	}
	return func() {
		// The sweep's ctx may be done: unlock on a fresh one.
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if s.q.unlock != "" {
			var ignored any
			if err := conn.QueryRow(uctx, s.q.unlock, s.q.lockName).Scan(&ignored); err != nil {
				s.opts.logger().Error("sqlsession: releasing the sweep lock failed", "table", s.opts.Table, "err", err)
			}
		}
		unpin() // ends the transaction, and with it a transaction-level lock
	}, true, nil
}

// DeleteExpired removes the sessions that expired before the call, and the
// tombstones whose [Options.DeleteGrace] has passed, in batches, and returns
// how many rows it removed. It stops early, with the count so far, when ctx
// ends. Background cleanup ([Options.CleanupInterval],
// [Options.CleanupEvery]) calls it.
//
// By default it paces itself so that a large backlog never stalls live
// traffic (see [Options.CleanupPause]) and still drains at thousands of rows
// a second where the database allows: the pause after each batch keeps
// cleanup to a share of the time (a duty cycle on the time the batches
// took), and before each batch a probe (the Find statement for a key no
// session has, through the same Backend) compares the database's latency
// with its usual one: while it is markedly slower, DeleteExpired waits
// longer. On PostgreSQL, MySQL and MariaDB batches grow to
// [Options.CleanupBatchSize] rows and take a quarter of the time. On SQLite,
// where a batch holds up every other statement, each is sized to take about
// what a live read does (a few hundred microseconds), they take a tenth of
// the time, and a batch that stalled (a checkpoint of the write-ahead log)
// is followed by a pause 200 times as long.
//
// Statements take short locks and touch only the index range they need:
// on PostgreSQL and MySQL/MariaDB each batch starts at the expiry the last
// one reached (a keyset cursor), so it never walks the index entries of rows
// the sweep already deleted, which stay until a vacuum or purge; a row that
// expires behind the cursor while the sweep runs waits for the next one. On
// PostgreSQL the batch is a bounded set of keys picked through the expiry
// index with SKIP LOCKED, committed without waiting for the disk
// (synchronous_commit off for that transaction only: a crash can undo the
// last batches, whose rows the next sweep deletes; call DeleteExpired
// outside transactions of your own); on MySQL and MariaDB the keys are read
// without locks and then deleted by primary key, so that no gap lock holds
// up a live insert; on SQLite the write lock is released between batches.
func (s *Store) DeleteExpired(ctx context.Context) (int64, error) {
	return s.deleteExpired(ctx, false)
}

// deleteExpired is DeleteExpired, reported to a SweepTracer as a
// background sweep or not.
func (s *Store) deleteExpired(ctx context.Context, background bool) (total int64, err error) {
	ctx, tr := s.startSweep(ctx, background)
	batches := 0
	defer func() { tr.end(ctx, total, batches, err) }()
	if s.closed.Load() {
		return 0, ErrClosed
	}
	t := s.now()
	var cut []any
	if s.opts.Layout.versioned() {
		cut = []any{s.q.time(t), -t.UnixMilli()}
	} else {
		cut = []any{s.q.time(t)}
	}
	// The keyset cursor (see batchSQL), on dialects that keep one: each
	// batch starts at the expiry the last one reached. A row that expires
	// behind it during the sweep (a logout's tombstone) waits for the next.
	var from any = s.q.dead
	p := newPacer(&s.opts, s.d == SQLite)
	wait := func(d time.Duration) error {
		if d <= 0 {
			return ctx.Err()
		}
		tm := time.NewTimer(d)
		defer tm.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tm.C:
			return nil
		}
	}
	fail := func(err error) (int64, error) {
		return total, fmt.Errorf("sqlsession: delete expired: %w", err)
	}
	if p.adaptive {
		p.probed(s.probe(ctx))
	}
	for {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		size := p.batch()
		start := time.Now()
		n, last, err := s.deleteBatch(ctx, cut, from, size)
		batches++
		took := time.Since(start)
		total += n
		if err != nil {
			return fail(err)
		}
		if n < int64(size) {
			return total, nil
		}
		if last != nil {
			from = last
		}
		if err := wait(p.done(size, n, took)); err != nil {
			return fail(err)
		}
		for p.adaptive {
			d := p.probed(s.probe(ctx))
			if d == 0 {
				break
			}
			if err := wait(d); err != nil {
				return fail(err)
			}
		}
	}
}

// deleteBatch deletes at most size expired rows from the cursor from on:
// one statement, or on dialects that pick keys first, a read without locks
// and a delete by key. It returns the latest expiry it reached where the
// dialect keeps a cursor, nil otherwise.
func (s *Store) deleteBatch(ctx context.Context, cut []any, from any, size int) (n int64, last any, err error) {
	args := cut[:len(cut):len(cut)]
	if s.q.batchCursor {
		args = append(args, from)
	}
	args = append(args, int64(size))
	err = s.retry(ctx, func() (err error) {
		switch {
		case s.q.pickExpired != "":
			n, last, err = s.deletePicked(ctx, args, cut, size)
		case s.q.batchCursor:
			err = s.b.QueryRow(ctx, s.q.deleteBatch, args...).Scan(&n, &last)
		default:
			n, err = s.b.Exec(ctx, s.q.deleteBatch, args...)
		}
		return err
	})
	return n, last, err
}

// deletePicked reads up to size expired keys (pickExpired with args) with
// a plain (non-locking) read through the expiry index, then deletes those
// that are still expired (cut) by primary key, in statements of a few fixed
// sizes (the last key repeats to fill them), so that few statements are
// prepared. It reports size when the read found size keys, so that the
// caller goes on even if some of them were saved meanwhile, and with a
// cursor the expiry of the last key read.
func (s *Store) deletePicked(ctx context.Context, args, cut []any, size int) (int64, any, error) {
	rows, err := s.b.Query(ctx, s.q.pickExpired, args...)
	if err != nil {
		return 0, nil, err
	}
	keys := make([]any, 0, size+len(cut))
	var last any
	dest := []any{new(string)}
	if s.q.batchCursor {
		dest = append(dest, &last)
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return 0, nil, err
		}
		keys = append(keys, *dest[0].(*string))
	}
	if err := rows.Close(); err != nil {
		return 0, nil, err
	}
	if err := rows.Err(); err != nil {
		return 0, nil, err
	}
	picked := len(keys)
	for len(keys) > 0 {
		n := min(len(keys), maxKeysPerDelete)
		b := keyBucket(n)
		args := make([]any, 0, b+len(cut))
		args = append(args, keys[:n]...)
		for len(args) < b {
			args = append(args, keys[n-1])
		}
		args = append(args, cut...)
		if _, err := s.b.Exec(ctx, s.deleteKeysSQL(b), args...); err != nil {
			return 0, nil, err
		}
		keys = keys[n:]
	}
	return int64(picked), last, nil
}

// maxKeysPerDelete bounds the keys of one delete by key.
const maxKeysPerDelete = 1024

// keyBucket rounds n up to a power of two, at least 8.
func keyBucket(n int) int {
	b := 8
	for b < n {
		b *= 2
	}
	return b
}

// deleteKeysSQL returns the delete by n keys, n a keyBucket.
func (s *Store) deleteKeysSQL(n int) string { return bucketSQL(s.q.deleteKeys, n) }

// bucketSQL returns the statement for n keys of stmts, which has one for
// each keyBucket from 8 up: 8, 16, 32 and so on.
func bucketSQL(stmts []string, n int) string {
	i := 0
	for b := 8; b < n; b *= 2 {
		i++
	}
	return stmts[i]
}

// probe times the Find statement for a key no session has, through the
// Store's Backend: what a live read waits for now.
func (s *Store) probe(ctx context.Context) time.Duration {
	start := time.Now()
	var data []byte
	s.b.QueryRow(ctx, s.q.find, "", s.q.time(s.now())).Scan(&data)
	return time.Since(start)
}

// Adaptive pacing of DeleteExpired (Options.CleanupPause 0).
const (
	// paceFirst and paceMin bound the batch size from below: the first
	// batch, and the smallest.
	paceFirst, paceMin = 50, 10

	// On a server, a batch holds up no live statement (it locks only
	// expired rows): it takes its CPU, disk and WAL share, which the duty
	// cycle bounds. Batches double up to Options.CleanupBatchSize, and halve
	// while one takes longer than paceServerSlow (a batch size far larger
	// than the default, or an overloaded server). paceDuty is the share of
	// time that cleanup takes while nothing is slow.
	paceDuty       = 0.25
	paceServerSlow = 100 * time.Millisecond

	// Where a writer blocks every other statement (SQLite with one
	// connection), a live statement that arrives during a batch waits for
	// it, so a batch should take about what a live read does at its slow
	// end: the slow end of the recent probes (before there are enough of
	// them, paceProbes times the median one), within paceTargetMin and
	// paceTargetMax. A tenth of the time (paceDutyBlocking) goes to such
	// batches. A batch over paceStall times that target, paceStallMin and
	// the slow end of the recent probes (a checkpoint of the write-ahead
	// log, a busy machine) held live statements up longer than they wait
	// anyway: the pause after it is paceStallPause times as long, so that
	// stalls take about half a percent of the time and stay out of the live
	// p99. They bound the speed of a large sweep on SQLite.
	paceDutyBlocking             = 0.10
	paceProbes                   = 4
	paceTargetMin, paceTargetMax = 250 * time.Microsecond, 2 * time.Millisecond
	paceStall, paceStallPause    = 3, 200
	paceStallMin                 = 2 * time.Millisecond
	// paceTail recent probes give the slow end of a live read: the second
	// slowest, about their 97th percentile.
	paceTail, paceTailRank = 64, 2

	// A probe slower than paceSlow times the median one, and by more
	// than paceSlack, finds the database busy: the sweep waits, up to
	// paceBusyBatches times its last batch and at most paceMaxBusy before
	// one batch, after which the batch goes anyway: cleanup always makes
	// progress, at a smaller share of the time.
	paceSlow        = 2
	paceSlack       = 250 * time.Microsecond
	paceBusyBatches = 8
	paceMaxBusy     = 250 * time.Millisecond

	// paceMaxWait bounds a pause.
	paceMaxWait = 5 * time.Second
)

// pacer sizes the batches of DeleteExpired and the pauses between them from
// what it observes: how long each batch took and how fast the probes are.
// Its methods take durations, never the clock, so tests drive it directly.
type pacer struct {
	adaptive bool
	blocking bool          // a batch holds up every other statement (SQLite)
	max      int           // Options.CleanupBatchSize
	pause    time.Duration // the pause when not adaptive; negative: none
	size     int           // the next batch
	base     time.Duration // the median probe, tracked; 0 before the first
	took     time.Duration // the last batch
	waited   time.Duration // extra wait before the coming batch
	backoff  time.Duration // the next extra wait while busy

	probes [paceTail]time.Duration // the recent probes, a ring
	seen   int
}

func newPacer(o *Options, blocking bool) *pacer {
	p := &pacer{max: max(o.CleanupBatchSize, 1), pause: o.CleanupPause, adaptive: o.CleanupPause == 0, blocking: blocking}
	p.size = p.max
	if p.adaptive {
		p.size = min(paceFirst, p.max)
	}
	return p
}

// batch returns the size of the next batch.
func (p *pacer) batch() int { return p.size }

// target is how long a batch should take where it blocks live statements:
// about as long as the slow end of a live read, or before enough probes,
// paceProbes times the median one.
func (p *pacer) target() time.Duration {
	t := p.tail()
	if t == 0 {
		t = time.Duration(paceProbes * float64(p.base))
	}
	return min(max(t, paceTargetMin), paceTargetMax)
}

// done records a batch of size rows that deleted n and took took, and
// returns the pause before the next.
func (p *pacer) done(size int, n int64, took time.Duration) time.Duration {
	if !p.adaptive {
		return max(p.pause, 0)
	}
	p.took, p.waited = took, 0
	full := n >= int64(size)
	if !p.blocking {
		switch {
		case took > paceServerSlow:
			p.size = max(p.size/2, min(paceMin, p.max))
		case full:
			p.size = min(2*p.size, p.max)
		}
		return min(time.Duration(float64(took)*(1-paceDuty)/paceDuty), paceMaxWait)
	}
	t := p.target()
	if took > paceStall*t && took > paceStallMin && took > p.tail() {
		// Live traffic gets time to catch up. The batch halves, in case
		// its rows were the cause; batches that follow at their target
		// grow it back.
		p.size = max(p.size/2, min(paceMin, p.max))
		return min(paceStallPause*took, paceMaxWait)
	}
	switch {
	case took > t:
		// Scale down to the target, the rows' cost being what scales.
		p.size = max(int(float64(p.size)*float64(t)/float64(took)), min(paceMin, p.max))
	case full:
		p.size = min(p.size+max(p.size/4, 1), p.max)
	}
	return min(time.Duration(float64(took)*(1-paceDutyBlocking)/paceDutyBlocking), paceMaxWait)
}

// tail returns the slow end of the recent probes: what live reads wait for
// anyway.
func (p *pacer) tail() time.Duration {
	k := min(p.seen, paceTail)
	if k < paceTail/2 {
		return 0
	}
	recent := p.probes // a copy, sorted
	slices.Sort(recent[:k])
	return recent[k-paceTailRank]
}

// probed records a probe that took d and returns how much longer to wait
// before the next batch: 0 to go on.
func (p *pacer) probed(d time.Duration) time.Duration {
	if !p.adaptive {
		return 0
	}
	p.probes[p.seen%paceTail] = d
	p.seen++
	if p.base == 0 {
		p.base = d
		return 0
	}
	busy := d > paceSlow*p.base && d > p.base+paceSlack
	// The base follows the median probe: a step of a sixteenth towards
	// each one, so that the noise of a busy machine does not count as load
	// of the database.
	if d > p.base {
		p.base += p.base/16 + 1
	} else {
		p.base -= p.base / 16
	}
	limit := min(paceMaxBusy, paceBusyBatches*max(p.took, time.Millisecond))
	if !busy {
		p.backoff = 0
		return 0
	}
	if p.waited >= limit {
		// Busy for long: go on.
		p.waited, p.backoff = 0, 0
		return 0
	}
	p.backoff = min(max(2*p.backoff, p.took, time.Millisecond), limit-p.waited)
	p.waited += p.backoff
	return p.backoff
}
