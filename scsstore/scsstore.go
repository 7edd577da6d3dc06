package scsstore

import (
	"context"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/sqlsession/sqlsession"
)

// Store is an scs session store on a [sqlsession.Store]. Create one with
// [New]; the zero Store is not usable. It is safe for concurrent use by
// multiple goroutines, as the sqlsession.Store it wraps is.
//
// Errors come from the sqlsession.Store unchanged, so [errors.Is] finds its
// sentinels, such as [sqlsession.ErrTooLarge] and [sqlsession.ErrClosed].
type Store struct {
	s *sqlsession.Store
}

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
	return &Store{s: s}
}

// FindCtx returns the data of the live session with the given token, or a
// key from [Store.AllCtx]. An unknown, expired or malformed token gives
// found false and a nil error; err reports database failures only. It calls
// [sqlsession.Store.Find].
func (st *Store) FindCtx(ctx context.Context, token string) (b []byte, found bool, err error) {
	return st.s.Find(ctx, token)
}

// CommitCtx stores b under token until expiry, replacing the session's data
// and expiry if it exists. It calls [sqlsession.Store.Save].
func (st *Store) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	return st.s.Save(ctx, token, b, expiry)
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
// map.
func (st *Store) AllCtx(ctx context.Context) (map[string][]byte, error) {
	m := make(map[string][]byte)
	for e, err := range st.s.All(ctx) {
		if err != nil {
			return nil, err
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
