package sqlsession

import (
	"errors"
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
	if !s.sweeping.CompareAndSwap(false, true) {
		return
	}
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		s.sweeping.Store(false)
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		defer s.sweeping.Store(false)
		s.deleteExpiredLogged()
	}()
}

// sweep runs one background cleanup unless one is already running.
func (s *Store) sweep() {
	if !s.sweeping.CompareAndSwap(false, true) {
		return
	}
	defer s.sweeping.Store(false)
	s.deleteExpiredLogged()
}

func (s *Store) deleteExpiredLogged() {
	n, err := s.DeleteExpired(s.ctx)
	log := s.opts.logger()
	switch {
	case err != nil && (s.ctx.Err() != nil || errors.Is(err, ErrClosed)):
		// Cancelled by Close: not worth a log line.
	case err != nil:
		log.Error("sqlsession: background cleanup failed", "table", s.opts.Table, "deleted", n, "err", err)
	case n > 0:
		log.Debug("sqlsession: deleted expired sessions", "table", s.opts.Table, "deleted", n)
	}
}
