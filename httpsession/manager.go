package httpsession

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/sqlsession/sqlsession"
)

// Store is what a [Manager] needs of a session store. [*sqlsession.Store]
// implements it, whatever its backend (database/sql, pgxstore, gormstore);
// the methods' contracts are the ones documented there.
type Store interface {
	Lookup(ctx context.Context, token string) (e sqlsession.Entry, found bool, err error)
	Save(ctx context.Context, token string, data []byte, expiry time.Time) error
	SaveIf(ctx context.Context, token string, data []byte, expiry time.Time, version int64) error
	Touch(ctx context.Context, token string, expiry time.Time) error
	Delete(ctx context.Context, token string) error
	Decide(loaded sqlsession.Entry, found bool, data []byte, expiry time.Time) sqlsession.Action
}

var _ Store = (*sqlsession.Store)(nil)

// optionser is implemented by stores that report their options, as
// [*sqlsession.Store] does.
type optionser interface {
	Options() sqlsession.Options
}

// Manager loads and commits the sessions of HTTP requests in a [Store].
// Create one with [New]; the zero Manager is not usable. A Manager is safe
// for concurrent use by multiple goroutines.
type Manager struct {
	store      Store
	cfg        Config
	cookieName string
	plain      bool       // the Cookie codec is PlainCookie: no encoding
	node       nodeFormat // sessions kept in a Node.js middleware's format; nil otherwise
	locks      tokenLocks
}

// New returns a Manager keeping its sessions in store. It validates cfg and
// does no I/O. The Manager never closes store.
//
// A [*sqlsession.Store] must have a version column (the default
// [sqlsession.Layout]) and no [sqlsession.Options.IdleTimeout] of its own
// (set [Config.IdleTimeout] instead); New returns [ErrInvalidConfig]
// otherwise.
func New(store Store, cfg Config) (*Manager, error) {
	if store == nil {
		return nil, fmt.Errorf("%w: nil Store", ErrInvalidConfig)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if o, ok := store.(optionser); ok {
		opts := o.Options()
		if opts.Layout.Version == sqlsession.NoColumn {
			return nil, fmt.Errorf("%w: the Store's table has no version column (Layout.Version is NoColumn): the Manager's writes compare and swap on it", ErrInvalidConfig)
		}
		if opts.IdleTimeout > 0 {
			return nil, fmt.Errorf("%w: the Store has IdleTimeout set; set Config.IdleTimeout instead, so that the Manager alone moves expiries, within Lifetime", ErrInvalidConfig)
		}
		if cfg.MaxDataSize == 0 {
			cfg.MaxDataSize = opts.MaxDataSize
		}
	}
	if cfg.MaxDataSize == 0 {
		cfg.MaxDataSize = sqlsession.DefaultMaxDataSize
	}
	m := &Manager{store: store, cfg: cfg, cookieName: cfg.CookieName}
	_, m.plain = cfg.Cookie.(PlainCookie)
	m.node, _ = cfg.Cookie.(nodeFormat)
	if cfg.HostPrefix {
		m.cookieName = "__Host-" + cfg.CookieName
	}
	return m, nil
}

// CookieName returns the name of the session cookie, with the "__Host-"
// prefix when [Config.HostPrefix] is set.
func (m *Manager) CookieName() string { return m.cookieName }

// Token returns the session token that r's cookie carries, "" when it has
// none that the Store could accept, or none that [Config.Cookie] accepts
// (a signature that does not verify). With the default codec it does not
// allocate.
func (m *Manager) Token(r *http.Request) string {
	if m.plain {
		return cookieToken(r.Header["Cookie"], m.cookieName)
	}
	return m.cfg.Cookie.Token(r.Header["Cookie"], m.cookieName)
}

// SetCookie adds c, a cookie that [Manager.Commit] returned, to h as
// Set-Cookie headers encoded by [Config.Cookie] (for [KoaCookie], two: the
// cookie and its signature), with the headers that keep shared caches from
// storing it, as the package's [SetCookie] does. Frameworks that call
// Commit themselves write its cookie with this method: the package's
// SetCookie writes the cookie as it is, which is right only for the
// default codec.
func (m *Manager) SetCookie(h http.Header, c *http.Cookie) {
	if c == nil {
		return
	}
	if m.plain {
		SetCookie(h, c)
		return
	}
	for _, wc := range m.cfg.Cookie.Cookies(c) {
		h.Add("Set-Cookie", wc.String())
	}
	h.Add("Vary", "Cookie")
	h.Add("Cache-Control", `no-cache="Set-Cookie"`)
}

// newToken returns the token of a new session.
func (m *Manager) newToken() string {
	if m.plain {
		return sqlsession.NewToken()
	}
	return m.cfg.Cookie.NewToken()
}

// Load returns the session with the given token, as the cookie carried it:
// the live session of the Store, or a new, empty one when token is "",
// unknown, expired or deleted. It reads the Store once and decodes nothing:
// a session's data is decoded by the first method that needs it. err
// reports a failure of the Store only; a missing session is not an error.
//
// Load and [Manager.Commit] are what [Manager.Handler] does before and
// after the handler; frameworks that are not net/http can call them
// directly, putting the session in the request's context with
// [NewContext].
func (m *Manager) Load(ctx context.Context, token string) (*Session, error) {
	s := &Session{m: m, ctx: ctx}
	return s, m.load(ctx, s, token)
}

func (m *Manager) load(ctx context.Context, s *Session, token string) error {
	if token == "" {
		return nil
	}
	s.hadCookie = true
	e, found, err := m.store.Lookup(ctx, token)
	if err != nil {
		return fmt.Errorf("httpsession: load: %w", err)
	}
	if found {
		s.token, s.entry, s.found = token, e, true
	}
	return nil
}

// Commit writes what the request changed in s to the Store, and returns the
// cookie to send, nil when the cookie does not change. Its value is the
// token: write it with [Manager.SetCookie], which encodes it with
// [Config.Cookie]. It writes nothing
// for a session that was only read (except to move its expiry, at most
// once per tenth of [Config.IdleTimeout]), and nothing for a new session
// that stayed empty. When another request saved the session since it was
// loaded, Commit reads it again and applies only this request's changes,
// key by key ([Config.Retries]); when the session was deleted, renewed or
// has expired meanwhile, this request's changes are dropped: a logged-out
// session never comes back. Commit is not cut short when ctx is cancelled
// (a client that goes away does not lose the request's changes); ctx's
// values reach the Store.
//
// After Commit, and after a failed Commit, the session's mutating methods
// return [ErrCommitted]. A second Commit does nothing.
func (m *Manager) Commit(ctx context.Context, s *Session) (*http.Cookie, error) {
	if s == nil {
		return nil, ErrNoSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != open {
		return nil, nil
	}
	s.state = committed
	return m.commit(ctx, s)
}

func (m *Manager) commit(ctx context.Context, s *Session) (c *http.Cookie, err error) {
	now := time.Now()
	switch {
	case m.node != nil:
		c, err = m.commitNode(ctx, s, now)
	case s.found && !s.decoded && !s.dirty():
		err = m.commitUnread(ctx, s, now)
	default:
		s.decode()
		if s.found {
			c, err = m.commitLoaded(ctx, s, now)
		} else {
			c, err = m.commitNew(ctx, s, now)
		}
	}
	if err == nil && s.corrupt != "" {
		if err = m.store.Delete(context.WithoutCancel(ctx), s.corrupt); err != nil {
			return nil, fmt.Errorf("httpsession: commit: deleting an unreadable session: %w", err)
		}
	}
	return c, err
}

// commitUnread commits a loaded session that the request neither decoded
// nor changed: at most a Touch, decided without decoding the data unless
// the expiry may move.
func (m *Manager) commitUnread(ctx context.Context, s *Session, now time.Time) error {
	if m.cfg.IdleTimeout <= 0 {
		return nil // the expiry is the absolute deadline, already stored
	}
	if m.store.Decide(s.entry, true, s.entry.Data, now.Add(m.cfg.IdleTimeout)) != sqlsession.ActionTouch {
		return nil
	}
	// The expiry may move: the absolute deadline, in the data, caps it.
	if s.decode(); !s.found {
		return nil // unreadable: deleted by commit
	}
	exp := m.expiry(s.meta, now)
	if m.store.Decide(s.entry, true, s.entry.Data, exp) != sqlsession.ActionTouch {
		return nil
	}
	if err := m.store.Touch(context.WithoutCancel(ctx), s.token, exp); err != nil {
		return fmt.Errorf("httpsession: commit: %w", err)
	}
	return nil
}

// commitLoaded commits a session that was loaded and decoded: a
// compare-and-swap write if its data changed, a Touch if only its expiry
// should move.
func (m *Manager) commitLoaded(ctx context.Context, s *Session, now time.Time) (*http.Cookie, error) {
	data := s.entry.Data
	if s.dirty() {
		data = encode(s.values, s.meta)
	}
	exp := m.expiry(s.meta, now)
	switch m.store.Decide(s.entry, true, data, exp) {
	case sqlsession.ActionTouch:
		if err := m.store.Touch(context.WithoutCancel(ctx), s.token, exp); err != nil {
			return nil, fmt.Errorf("httpsession: commit: %w", err)
		}
	case sqlsession.ActionWrite:
		gone, err := m.saveMerged(context.WithoutCancel(ctx), s, data, exp, now)
		if err != nil || gone {
			return nil, err
		}
	}
	if s.persistDirty {
		return m.cookie(s.token, m.persistent(s.meta), s.meta.deadline(m.cfg.Lifetime), now), nil
	}
	return nil, nil
}

// commitNew commits a session that has no row: it gets one, under a new
// token, only if it holds values.
func (m *Manager) commitNew(ctx context.Context, s *Session, now time.Time) (*http.Cookie, error) {
	if len(s.values) == 0 {
		if s.dropped {
			return m.expiredCookie(), nil
		}
		return nil, nil
	}
	if s.meta.created == 0 {
		s.meta.created = now.Unix()
	}
	if s.token == "" {
		s.token = m.newToken()
	}
	exp := m.expiry(s.meta, now)
	if err := m.store.Save(context.WithoutCancel(ctx), s.token, encode(s.values, s.meta), exp); err != nil {
		return nil, fmt.Errorf("httpsession: commit: %w", err)
	}
	return m.cookie(s.token, m.persistent(s.meta), s.meta.deadline(m.cfg.Lifetime), now), nil
}

// saveMerged writes data with compare-and-swap on the version loaded. When
// another request saved first, it reads the session again, applies this
// request's changes to it and tries again: at once the first time, after a
// jittered wait afterwards. Retries of one session queue on a lock of this
// Manager, so that requests of one session on one instance take turns
// instead of colliding again; only writers on other instances (or ones not
// yet in the queue) can make a retry fail. gone reports a session that was
// deleted, renewed or expired meanwhile: nothing is written then.
func (m *Manager) saveMerged(ctx context.Context, s *Session, data []byte, exp, now time.Time) (gone bool, err error) {
	err = m.store.SaveIf(ctx, s.token, data, exp, s.entry.Version)
	if !errors.Is(err, sqlsession.ErrConflict) {
		if err != nil {
			return false, fmt.Errorf("httpsession: commit: %w", err)
		}
		return false, nil
	}
	unlock := m.locks.lock(s.token)
	defer unlock()
	for try := 1; ; try++ {
		if try > m.cfg.Retries {
			return false, fmt.Errorf("httpsession: commit: the session kept changing, %d tries: %w", try, err)
		}
		if try > 1 {
			time.Sleep(backoff(try - 2))
		}
		e, found, err := m.store.Lookup(ctx, s.token)
		if err != nil {
			return false, fmt.Errorf("httpsession: commit: %w", err)
		}
		if !found {
			m.logger().DebugContext(ctx, "httpsession: session ended during the request; its changes are dropped")
			return true, nil
		}
		values, md, hasMeta, derr := decode(e.Data, m.cfg.MaxDataSize)
		if derr != nil {
			m.logger().WarnContext(ctx, "httpsession: unreadable session data; session deleted", "error", derr)
			if err := m.store.Delete(ctx, s.token); err != nil {
				return false, fmt.Errorf("httpsession: commit: deleting an unreadable session: %w", err)
			}
			return true, nil
		}
		if !hasMeta {
			md.created = e.Expiry.Add(-m.cfg.Lifetime).Unix()
		}
		for k := range s.changed {
			if v, ok := s.values[k]; ok {
				values[k] = v
			} else {
				delete(values, k)
			}
		}
		if s.persistDirty {
			md.persist = s.meta.persist
		}
		s.entry, s.values, s.meta = e, values, md
		data, exp = m.prepare(e.Data, values, md, now)
		switch m.store.Decide(e, true, data, exp) {
		case sqlsession.ActionNone:
			return false, nil // another request wrote what this one would
		case sqlsession.ActionTouch:
			if err := m.store.Touch(ctx, s.token, exp); err != nil {
				return false, fmt.Errorf("httpsession: commit: %w", err)
			}
			return false, nil
		}
		err = m.store.SaveIf(ctx, s.token, data, exp, e.Version)
		if !errors.Is(err, sqlsession.ErrConflict) {
			if err != nil {
				return false, fmt.Errorf("httpsession: commit: %w", err)
			}
			return false, nil
		}
	}
}

// tokenLocks is a lock per session token, held by commits that retry.
type tokenLocks struct {
	mu sync.Mutex
	m  map[string]*tokenLock
}

type tokenLock struct {
	mu   sync.Mutex
	refs int // holders and waiters
}

// lock locks token and returns the unlock function.
func (l *tokenLocks) lock(token string) (unlock func()) {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*tokenLock{}
	}
	k := l.m[token]
	if k == nil {
		k = &tokenLock{}
		l.m[token] = k
	}
	k.refs++
	l.mu.Unlock()
	k.mu.Lock()
	return func() {
		k.mu.Unlock()
		l.mu.Lock()
		if k.refs--; k.refs == 0 {
			delete(l.m, token)
		}
		l.mu.Unlock()
	}
}

// backoff is the wait before retry number try+2 of a commit: random, up to
// 1ms, 2ms, 4ms and then 8ms. It stays short so that a commit that lost
// a few times is not overtaken by fresh ones that try at once: every lost
// try means another commit succeeded, so the tries of the instances
// sharing a session make progress together.
func backoff(try int) time.Duration {
	return time.Duration(rand.Int64N(int64(time.Millisecond<<min(try, 3)))) + 1
}

// expiry is when a session with meta md expires if it is written now: at
// the end of its lifetime, or sooner after IdleTimeout.
func (m *Manager) expiry(md meta, now time.Time) time.Time {
	exp := md.deadline(m.cfg.Lifetime)
	if m.cfg.IdleTimeout > 0 {
		if idle := now.Add(m.cfg.IdleTimeout); idle.Before(exp) {
			exp = idle
		}
	}
	// Whole milliseconds, as the Store keeps them, so that an unchanged
	// expiry compares equal.
	return exp.Truncate(time.Millisecond)
}

// persistent reports whether a session with meta md gets a persistent
// cookie.
func (m *Manager) persistent(md meta) bool {
	switch md.persist {
	case 1:
		return true
	case -1:
		return false
	}
	return !m.cfg.BrowserSession
}

func (m *Manager) logger() *slog.Logger {
	if m.cfg.Logger != nil {
		return m.cfg.Logger
	}
	return slog.Default()
}

// fail answers a request whose session failed to load or commit.
func (m *Manager) fail(w http.ResponseWriter, r *http.Request, err error) {
	if m.cfg.ErrorHandler != nil {
		m.cfg.ErrorHandler(w, r, err)
		return
	}
	level := slog.LevelError
	if r.Context().Err() != nil {
		level = slog.LevelDebug // the client went away: not a failure of the server
	}
	m.logger().Log(r.Context(), level, err.Error(), "method", r.Method, "path", r.URL.Path)
	http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
}
