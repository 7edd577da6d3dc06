package fiberstore

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/sqlsession/sqlsession"
)

var _ fiber.Storage = (*Storage)(nil)

// noExpiry is the expiry a value stored with exp 0 gets: the last second of
// year 9999, far beyond any session, and still a small number of Unix
// milliseconds for every dialect's BIGINT or INTEGER column.
var noExpiry = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// Storage is a [fiber.Storage] keeping its values in a [sqlsession.Store].
// Keys are the Store's tokens (hashed before they reach the table, unless
// the Store has [sqlsession.Options.PlainTokens]) and values are its session
// data.
//
// A Storage skips writes that would change nothing, and drops stored
// sessions that fiber's session middleware could not decode: see "Writes"
// and "Sessions that do not decode" in the package documentation.
//
// Create one with [New], and set Opaque, if at all, before use. A Storage is
// then safe for concurrent use by multiple goroutines, as its Store is. The
// zero Storage has no Store: its methods return an error wrapping
// [sqlsession.ErrInvalidOptions].
type Storage struct {
	// Opaque turns decoding off: Get returns whatever bytes the table holds,
	// as a plain byte store, even a session of fiber's middleware that does
	// not decode, and Set compares values byte for byte (an unchanged
	// session of two keys or more is then written on most Sets, since fiber
	// encodes its map in random order). Set it for a Storage used without
	// fiber's session middleware in a process that has not registered the
	// sessions' types with gob. Default false.
	Opaque bool

	store *sqlsession.Store

	mu    sync.Mutex
	seen  map[[sha256.Size]byte]seen              // by SHA-256 of the key
	known map[[sha256.Size]byte][sha256.Size]byte // digest by SHA-256 of the session data
}

// seen is what the table held for a key when Get last read it.
type seen struct {
	sum    [sha256.Size]byte // digest of the value
	expiry time.Time
}

// maxRemembered bounds the keys a Storage remembers between a Get and the
// Set that follows it, which consumes the entry. When full, Get forgets an
// arbitrary entry to make room: the Set of that key then writes, as it
// would without the memory. At about 100 bytes an entry, a full Storage
// holds about 1 MB.
const maxRemembered = 10000

// maxKnown bounds the session payloads a Storage remembers the digest of,
// so that each is decoded once, not on every Get. At about 100 bytes an
// entry, a full Storage holds about 1 MB more.
const maxKnown = 10000

// New returns a Storage on s. It does no I/O: create the table once with
// [sqlsession.Store.CreateTable]. The Storage's [Storage.Close] closes s.
func New(s *sqlsession.Store) *Storage {
	return &Storage{store: s}
}

// errNoStore is returned by every method of a Storage without a Store.
var errNoStore = fmt.Errorf("fiberstore: Storage has no *sqlsession.Store (use fiberstore.New): %w", sqlsession.ErrInvalidOptions)

// GetWithContext returns the value stored under key, or nil and a nil error
// when there is none: the key is unknown, deleted, expired, or not a valid
// token at all (see [sqlsession.ValidToken]), as a tampered cookie may be.
// The error reports database failures only. Each call returns a new slice,
// which the caller may keep and modify.
//
// It reads with [sqlsession.Store.Lookup] and remembers a digest of the
// value and its expiry for the next Set of key.
//
// A session of fiber's session middleware that does not decode (a type
// that is no longer registered with gob, a corrupt or crafted row) would
// make the middleware fail every request that carries its cookie, with an
// error instead of a page, until the row expired. Unless the Storage is
// Opaque, GetWithContext logs it to the Store's [sqlsession.Options.Logger]
// (by the session's public id, never the key), deletes the row and returns
// nil, so the middleware starts a fresh session. It decodes a session as
// the middleware does, and once per distinct stored value, not on every
// call: see "Sessions that do not decode" in the package documentation.
func (s *Storage) GetWithContext(ctx context.Context, key string) ([]byte, error) {
	if s.store == nil {
		return nil, errNoStore
	}
	e, found, err := s.store.Lookup(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("fiberstore: get: %w", err)
	}
	if !found {
		return nil, nil
	}
	sum, err := s.sum(e.Data)
	if err != nil {
		s.take(key)
		s.logger().WarnContext(ctx, "fiberstore: session data does not decode; row deleted",
			"session", s.store.SessionID(key), "err", err)
		if err := s.store.Delete(ctx, key); err != nil {
			return nil, fmt.Errorf("fiberstore: get: %w", err)
		}
		return nil, nil
	}
	s.remember(key, seen{sum: sum, expiry: e.Expiry})
	return e.Data, nil
}

// sum returns the digest of a stored value, as digest does, or the bytes'
// own digest when the Storage is Opaque. A session's digest is remembered
// by the SHA-256 of its bytes: each distinct payload is decoded once.
func (s *Storage) sum(data []byte) ([sha256.Size]byte, error) {
	if s.Opaque {
		return byteDigest(data), nil
	}
	f := sessionFormat(data)
	if f == notSession {
		return byteDigest(data), nil
	}
	k := sha256.Sum256(data)
	s.mu.Lock()
	d, ok := s.known[k]
	s.mu.Unlock()
	if ok {
		return d, nil
	}
	d, err := digestOf(data, f)
	if err != nil {
		return d, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.known == nil {
		s.known = make(map[[sha256.Size]byte][sha256.Size]byte)
	}
	if len(s.known) >= maxKnown {
		for old := range s.known { // evict one at random
			delete(s.known, old)
			break
		}
	}
	s.known[k] = d
	return d, nil
}

func (s *Storage) logger() *slog.Logger {
	if l := s.store.Options().Logger; l != nil {
		return l
	}
	return slog.Default()
}

// Get is [Storage.GetWithContext] with [context.Background].
func (s *Storage) Get(key string) ([]byte, error) {
	return s.GetWithContext(context.Background(), key)
}

// SetWithContext stores val under key for exp, replacing any value the key
// had.
//
// As in fiber's own storages, an empty key or an empty val stores nothing
// and returns nil, and an exp of 0 means no expiry: the value stays until it
// is deleted or the table is reset (its stored expiry is the end of year
// 9999). This keeps fiber's contract rather than sqlsession's, which would
// give a zero expiry [sqlsession.Options.DefaultLifetime]: fiber's session
// middleware always passes its idle timeout, never 0, so the fallback could
// never help sessions, and the callers that do pass 0 (application code,
// other middleware sharing the Storage) rely on fiber's meaning.
//
// A negative exp, which fiber's contract leaves open, is not an expiry in
// the past either: gofiber/storage's PostgreSQL, SQLite and Redis drivers
// store such a value without expiry. SetWithContext stores it too, for the
// Store's
// [sqlsession.Options.DefaultLifetime] from now, as sqlsession stores a
// session saved without an expiry: a negative duration that a caller's
// arithmetic produced keeps the value, and never keeps it forever.
//
// What to write is decided by sqlsession's write rule, [sqlsession.Plan],
// the one every sqlsession frontend follows, with a slack of a tenth of
// exp. A key the last Get did not find is written. When that Get found a
// value equal to val (the same session, for data of fiber's session
// middleware, however its map came out encoded), SetWithContext does not
// write if the stored expiry is within a tenth of exp of now+exp, and
// moves the expiry alone ([sqlsession.Store.Touch], which never brings
// back a deleted value) otherwise. fiber's session middleware sets every
// session it loaded, to slide its idle timeout: an unchanged session is
// written at most once per tenth of the timeout.
//
// A key deleted less than the Store's [sqlsession.Options.DeleteGrace] ago
// (by [Storage.DeleteWithContext], a log-out or a session id renewal of
// fiber's middleware, or a revoke) is not stored again: the Store refuses
// it with [sqlsession.ErrDeleted], and SetWithContext returns nil, since
// fiber's Storage contract has no such outcome and the session middleware
// would fail the request over it. For a session that is what must happen:
// a request that loaded it before its log-out cannot bring it back. Other
// middleware that deletes a key and sets it again soon after (fiber's
// cache or limiter) would lose those values silently: give it a Storage on
// a Store of its own, on its own table, with a negative DeleteGrace, which
// keeps no deleted keys.
//
// A key that [sqlsession.ValidToken] rejects (longer than
// [sqlsession.MaxTokenLength] bytes, or holding a space, a control
// character or a byte outside ASCII) is not stored: the error wraps
// [sqlsession.ErrInvalidToken]. Session ids of fiber's session middleware,
// UUIDs and IP addresses are all valid keys. A val over
// [sqlsession.Options.MaxDataSize] gets an error wrapping
// [sqlsession.ErrTooLarge].
func (s *Storage) SetWithContext(ctx context.Context, key string, val []byte, exp time.Duration) error {
	if s.store == nil {
		return errNoStore
	}
	if key == "" || len(val) == 0 {
		return nil
	}
	if !sqlsession.ValidToken(key) {
		return fmt.Errorf("fiberstore: set: key of %d bytes is not 1 to %d bytes of printable ASCII without spaces: %w",
			len(key), sqlsession.MaxTokenLength, sqlsession.ErrInvalidToken)
	}
	if exp < 0 {
		exp = s.store.Options().DefaultLifetime
	}
	expiry := noExpiry
	if exp != 0 {
		expiry = time.Now().Add(exp)
	}
	have, found := s.take(key)
	changed := !found || !s.same(have.sum, val)
	switch sqlsession.Plan(found, changed, have.expiry, expiry, exp/10) {
	case sqlsession.ActionNone:
		return nil // the table holds val until about expiry
	case sqlsession.ActionTouch:
		if err := s.store.Touch(ctx, key, expiry); err != nil {
			return fmt.Errorf("fiberstore: set: %w", err)
		}
		return nil
	}
	err := s.store.Save(ctx, key, val, expiry)
	if errors.Is(err, sqlsession.ErrDeleted) {
		return nil // deleted while the request ran: it stays deleted
	}
	if err != nil {
		return fmt.Errorf("fiberstore: set: %w", err)
	}
	return nil
}

// same reports whether val has the digest sum. A val that does not decode
// (which fiber's middleware never writes) is never the same as a value Get
// found.
func (s *Storage) same(sum [sha256.Size]byte, val []byte) bool {
	d, err := s.sum(val)
	return err == nil && d == sum
}

// remember records what Get found under key, making room if needed.
func (s *Storage) remember(key string, e seen) {
	k := sha256.Sum256([]byte(key))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = make(map[[sha256.Size]byte]seen)
	}
	if _, ok := s.seen[k]; !ok && len(s.seen) >= maxRemembered {
		for old := range s.seen {
			delete(s.seen, old)
			break
		}
	}
	s.seen[k] = e
}

// take returns and forgets what Get found under key.
func (s *Storage) take(key string) (seen, bool) {
	k := sha256.Sum256([]byte(key))
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.seen[k]
	if ok {
		delete(s.seen, k)
	}
	return e, ok
}

// Set is [Storage.SetWithContext] with [context.Background].
func (s *Storage) Set(key string, val []byte, exp time.Duration) error {
	return s.SetWithContext(context.Background(), key, val, exp)
}

// DeleteWithContext removes the value stored under key. Deleting a key that
// holds nothing, or that is not a valid token, is not an error.
//
// The key stays deleted for the Store's [sqlsession.Options.DeleteGrace]
// (1 hour by default): a Set of it stores nothing until then (see
// [Storage.SetWithContext]), so a request of fiber's session middleware
// that loaded the session before its log-out cannot bring it back. Give
// middleware that deletes keys and sets them again (cache, limiter) a
// Storage on a Store of its own with a negative DeleteGrace.
func (s *Storage) DeleteWithContext(ctx context.Context, key string) error {
	if s.store == nil {
		return errNoStore
	}
	s.take(key)
	if err := s.store.Delete(ctx, key); err != nil {
		return fmt.Errorf("fiberstore: delete: %w", err)
	}
	return nil
}

// Delete is [Storage.DeleteWithContext] with [context.Background].
func (s *Storage) Delete(key string) error {
	return s.DeleteWithContext(context.Background(), key)
}

// ResetWithContext deletes every value: it empties the Store's table (see
// [sqlsession.Store.Clear]). Give the Storage a table of its own if the
// table also holds sessions of other frontends.
func (s *Storage) ResetWithContext(ctx context.Context) error {
	if s.store == nil {
		return errNoStore
	}
	s.mu.Lock()
	clear(s.seen)
	s.mu.Unlock()
	if err := s.store.Clear(ctx); err != nil {
		return fmt.Errorf("fiberstore: reset: %w", err)
	}
	return nil
}

// Reset is [Storage.ResetWithContext] with [context.Background].
func (s *Storage) Reset() error {
	return s.ResetWithContext(context.Background())
}

// Close closes the Store (see [sqlsession.Store.Close]), which stops its
// background cleanup. It never closes the *sql.DB or pool behind the Store,
// which stays the caller's. Close is idempotent; afterwards the other methods
// return errors wrapping [sqlsession.ErrClosed].
func (s *Storage) Close() error {
	if s.store == nil {
		return errNoStore
	}
	if err := s.store.Close(); err != nil {
		return fmt.Errorf("fiberstore: close: %w", err)
	}
	return nil
}
