package sqlsession

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
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
	n, err := s.DeleteExpired(ctx)
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

// DeleteExpired removes the sessions that expired before the call, in
// statements of at most [Options.CleanupBatchSize] rows with a pause between
// them ([Options.CleanupPause]), and returns how many it removed. It stops early, with the count so far, when ctx ends. Background
// cleanup ([Options.CleanupInterval], [Options.CleanupEvery]) calls it.
func (s *Store) DeleteExpired(ctx context.Context) (int64, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	t := s.now()
	args := []any{s.q.time(t), -t.UnixMilli(), int64(s.opts.CleanupBatchSize)}
	if !s.opts.Layout.versioned() {
		args = []any{args[0], args[2]}
	}
	batch := int64(s.opts.CleanupBatchSize)
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, fmt.Errorf("sqlsession: delete expired: %w", err)
		}
		var n int64
		start := time.Now()
		err := s.retry(ctx, func() (err error) {
			n, err = s.b.Exec(ctx, s.q.deleteBatch, args...)
			return err
		})
		total += n
		if err != nil {
			return total, fmt.Errorf("sqlsession: delete expired: %w", err)
		}
		if n < batch {
			return total, nil
		}
		if err := s.pause(ctx, time.Since(start)); err != nil {
			return total, fmt.Errorf("sqlsession: delete expired: %w", err)
		}
	}
}

// pause waits between two cleanup batches: Options.CleanupPause, or as long
// as the last batch took.
func (s *Store) pause(ctx context.Context, took time.Duration) error {
	d := s.opts.CleanupPause
	switch {
	case d < 0:
		return nil
	case d == 0:
		d = took
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
