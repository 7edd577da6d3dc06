package scsstore

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/sqlsession/sqlsession"
)

// Store is an scs session store on a [sqlsession.Store]. Create one with
// [New]; the zero Store is not usable. Set Codec, if at all, before use; the
// Store is then safe for concurrent use by multiple goroutines, as the
// sqlsession.Store it wraps is.
//
// Errors come from the sqlsession.Store unchanged, so [errors.Is] finds its
// sentinels, such as [sqlsession.ErrTooLarge] and [sqlsession.ErrClosed].
type Store struct {
	// Codec is the Codec of the scs.SessionManager. FindCtx decodes each
	// session with it, to drop rows that scs could not decode and, when the
	// sqlsession Store slides expiry ([sqlsession.Options.IdleTimeout]), to
	// read each session's deadline (see "Sliding expiry" in the package
	// documentation). Default nil: [scs.GobCodec].
	Codec scs.Codec

	// Opaque turns decoding off: FindCtx and AllCtx return whatever bytes
	// were committed, as a plain byte store, for use without a
	// SessionManager. Corrupt rows and scs deadlines are then left to scs.
	// Default false.
	Opaque bool

	s    *sqlsession.Store
	idle time.Duration // the sqlsession Store's IdleTimeout

	// decoded remembers the deadlines of payloads that decoded, by their
	// SHA-256: a session read again and again unchanged is decoded once,
	// not on every request (a gob decode costs about 200 allocations).
	mu      sync.Mutex
	decoded map[[sha256.Size]byte]time.Time
}

// maxDecoded bounds the payloads a Store remembers as decoding.
const maxDecoded = 10000

var (
	_ scs.Store            = (*Store)(nil)
	_ scs.CtxStore         = (*Store)(nil)
	_ scs.IterableStore    = (*Store)(nil)
	_ scs.IterableCtxStore = (*Store)(nil)
)

// New returns an scs store that keeps its sessions in s, which must not be
// nil. Closing s (at shutdown, after the server has stopped) is up to the
// caller; the returned Store holds nothing else.
func New(s *sqlsession.Store) *Store {
	return &Store{s: s, idle: s.Options().IdleTimeout}
}

// FindCtx returns the data of the live session with the given token, or a
// key from [Store.AllCtx]. An unknown, expired or malformed token gives
// found false and a nil error; err reports database failures only. It calls
// [sqlsession.Store.Find], which moves the expiry of a sliding session.
//
// Data that the Codec cannot decode (a corrupt row, a type no longer
// registered with gob) would make scs fail every request of that session
// until it expired: FindCtx logs it, deletes the row and reports it not
// found, so the user gets a fresh session instead. When the sqlsession Store
// slides expiry, a session past its scs deadline (the SessionManager's
// Lifetime) is expired too: FindCtx deletes it and reports it not found.
func (st *Store) FindCtx(ctx context.Context, token string) (b []byte, found bool, err error) {
	b, found, err = st.s.Find(ctx, token)
	if !found || err != nil || st.Opaque {
		return b, found, err
	}
	deadline, derr := st.deadline(b)
	switch {
	case derr != nil:
		st.logger().WarnContext(ctx, "scsstore: session data does not decode; row deleted",
			"session", st.s.SessionID(token), "err", derr)
	case st.idle > 0 && !deadline.IsZero() && !time.Now().Before(deadline):
	default:
		return b, true, nil
	}
	if err := st.s.Delete(ctx, token); err != nil {
		return nil, false, err
	}
	return nil, false, nil
}

func (st *Store) logger() *slog.Logger {
	if l := st.s.Options().Logger; l != nil {
		return l
	}
	return slog.Default()
}

// CommitCtx stores b under token until expiry, replacing the session's data
// and expiry if it exists. It calls [sqlsession.Store.Save]: a token deleted
// while the request ran (a logout, a revoke, a renewal) is not re-created,
// and that is not an error. When the
// sqlsession Store slides expiry, the expiry is at most now plus its
// IdleTimeout, as scs's own IdleTimeout would make it.
func (st *Store) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	if st.idle > 0 {
		if idle := time.Now().Add(st.idle); idle.Before(expiry) {
			expiry = idle
		}
	}
	err := st.s.Save(ctx, token, b, expiry)
	if errors.Is(err, sqlsession.ErrDeleted) {
		// The session was logged out, revoked or renewed while this
		// request ran: it stays gone, and scs has nothing to report.
		return nil
	}
	return err
}

// deadline decodes session data b as scs will and returns its deadline.
func (st *Store) deadline(b []byte) (time.Time, error) {
	sum := sha256.Sum256(b)
	st.mu.Lock()
	d, ok := st.decoded[sum]
	st.mu.Unlock()
	if ok {
		return d, nil
	}
	codec := st.Codec
	if codec == nil {
		codec = scs.GobCodec{}
	}
	d, err := decode(codec, b)
	if err != nil {
		return d, err
	}
	st.mu.Lock()
	if st.decoded == nil {
		st.decoded = make(map[[sha256.Size]byte]time.Time)
	}
	if len(st.decoded) >= maxDecoded {
		for k := range st.decoded { // evict one at random
			delete(st.decoded, k)
			break
		}
	}
	st.decoded[sum] = d
	st.mu.Unlock()
	return d, nil
}

// DeleteCtx removes the session with the given token; an unknown token is
// not an error. It calls [sqlsession.Store.Delete].
func (st *Store) DeleteCtx(ctx context.Context, token string) error {
	return st.s.Delete(ctx, token)
}

// AllCtx returns the data of every live session, keyed by a name that
// FindCtx, CommitCtx and DeleteCtx accept: with hashed tokens (the
// sqlsession default) a handle valid in this process, not the token. With no
// live session it returns an empty, non-nil map. It reads the whole table
// into memory through [sqlsession.Store.All]; on an error it returns a nil
// map. Sessions that do not decode are left out, and so, when the
// sqlsession Store slides expiry, are sessions past their scs deadline, as
// [Store.FindCtx] does.
func (st *Store) AllCtx(ctx context.Context) (map[string][]byte, error) {
	m := make(map[string][]byte)
	now := time.Now()
	for e, err := range st.s.All(ctx) {
		if err != nil {
			return nil, err
		}
		if !st.Opaque {
			d, err := st.deadline(e.Data)
			if err != nil || st.idle > 0 && !d.IsZero() && !now.Before(d) {
				continue
			}
		}
		m[e.Key] = e.Data
	}
	return m, nil
}

// Find is [Store.FindCtx] with [context.Background]: no deadline.
func (st *Store) Find(token string) (b []byte, found bool, err error) {
	return st.FindCtx(context.Background(), token)
}

// Commit is [Store.CommitCtx] with [context.Background]: no deadline.
func (st *Store) Commit(token string, b []byte, expiry time.Time) error {
	return st.CommitCtx(context.Background(), token, b, expiry)
}

// Delete is [Store.DeleteCtx] with [context.Background]: no deadline.
func (st *Store) Delete(token string) error {
	return st.DeleteCtx(context.Background(), token)
}

// All is [Store.AllCtx] with [context.Background]: no deadline.
func (st *Store) All() (map[string][]byte, error) {
	return st.AllCtx(context.Background())
}

// decode runs codec.Decode, turning a panic into an error: on some malformed
// input gob panics rather than failing (a nested map key whose type cannot be
// a key), and the data comes from a table.
func decode(codec scs.Codec, b []byte) (d time.Time, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("scsstore: malformed session data: %v", r)
		}
	}()
	d, _, err = codec.Decode(b)
	return d, err
}
