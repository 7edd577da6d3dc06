package sqlsession

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Store keeps sessions in one SQL table. Its methods map a session token to
// opaque data with an expiry; frontends (scs, gorilla/sessions, fiber, net/http)
// keep the cookie and the encoding.
//
// Create one with [New] or [NewWithBackend], call [Store.CreateTable] once at
// start-up if the table may be missing, and [Store.Close] at shutdown. A Store
// is safe for concurrent use by multiple goroutines. The zero Store is not
// usable.
type Store struct {
	b    Backend
	d    Dialect
	opts Options
	q    queries
	now  func() time.Time
	enc  *crypter // nil without Options.Keys

	batch *readBatcher  // nil without Options.BatchReads
	cache *cache        // nil without Options.Cache
	cq    changeQueries // the cache's statements

	handleKey [32]byte

	tr tracers // Options.Tracer and its optional interfaces

	mu       sync.Mutex // guards closed transitions against wg.Add
	closed   atomic.Bool
	ctx      context.Context // cancelled by Close; parent of background sweeps
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	sweeping atomic.Bool
	ops      atomic.Uint64

	owned     io.Closer // closed by Close: see NewOwning
	closeOnce sync.Once
	closeErr  error
}

// New returns a Store on db, speaking dialect. It validates opts and does no
// I/O. The Store never closes db. On MySQL and SQLite it keeps its statements
// prepared (closed by [Store.Close]), so that each operation is one round
// trip without the driver's interpolateParams; on PostgreSQL the drivers
// cache statements themselves.
func New(db *sql.DB, dialect Dialect, opts Options) (*Store, error) {
	if db == nil {
		return nil, fmt.Errorf("%w: nil *sql.DB", ErrInvalidOptions)
	}
	if dialect == MySQL || dialect == SQLite {
		return NewWithBackend(newPreparedBackend(db), dialect, opts)
	}
	return NewWithBackend(SQLBackend(db), dialect, opts)
}

// NewWithBackend returns a Store running its queries through b: the seam that
// modules for other database layers use (see [Backend]). It validates opts and
// does no I/O. A goroutine starts only if [Options.CleanupInterval] is set,
// or, with [Options.Cache], at the first read.
func NewWithBackend(b Backend, dialect Dialect, opts Options) (*Store, error) {
	if b == nil {
		return nil, fmt.Errorf("%w: nil Backend", ErrInvalidOptions)
	}
	if dialect.d == nil {
		return nil, fmt.Errorf("%w: zero Dialect", ErrInvalidOptions)
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Store{b: b, d: dialect, opts: opts, q: buildQueries(dialect.d, &opts), now: time.Now, tr: newTracers(opts.Tracer)}
	if len(opts.Keys) > 0 {
		if s.enc, err = newCrypter(opts.Keys); err != nil {
			return nil, err
		}
	}
	rand.Read(s.handleKey[:])
	if opts.BatchReads {
		s.batch = &readBatcher{s: s}
	}
	if opts.Cache.enabled() {
		s.cq = buildChangeQueries(dialect.d, &s.opts)
		s.cache = newCache(opts.Cache)
		s.cache.trace = s.cacheEvents()
		s.cache.log = s.newChangeLog()
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if opts.CleanupInterval > 0 {
		s.wg.Add(1)
		go s.janitor(opts.CleanupInterval, time.NewTimer)
	}
	return s, nil
}

// Dialect returns the Store's dialect.
func (s *Store) Dialect() Dialect { return s.d }

// Options returns the Store's options with every default filled in.
func (s *Store) Options() Options { return s.opts }

// NewOwning is [NewWithBackend] for a Store that owns what its Backend
// uses: [Store.Close] calls owned.Close once, after stopping background
// work. A module that opens its own pool for the Store (pgxstore.Open) uses
// it; a Store made any other way never closes anything it was given.
func NewOwning(b Backend, dialect Dialect, opts Options, owned io.Closer) (*Store, error) {
	if owned == nil {
		return nil, fmt.Errorf("%w: nil io.Closer", ErrInvalidOptions)
	}
	s, err := NewWithBackend(b, dialect, opts)
	if err != nil {
		return nil, err
	}
	s.owned = owned
	return s, nil
}

// Close stops background cleanup, cancelling a sweep in progress, and the
// cache's reader of the change log, and waits for them to end. Afterwards every database method returns [ErrClosed]. Close
// is idempotent. It never closes the *sql.DB, pool or Backend the Store was
// given, except what [NewOwning] hands over, which it closes once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed.Store(true)
		s.mu.Unlock()
		s.cancel()
		s.wg.Wait()
		if s.owned != nil {
			s.closeErr = s.owned.Close()
		}
	})
	return s.closeErr
}
