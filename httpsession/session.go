package httpsession

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sqlsession/sqlsession"
)

// Session is the session of one request: a set of keys with JSON values.
// Inside [Manager.Handler], [From] returns it. Changes are kept in memory
// and written by [Manager.Commit], which the Handler calls before the
// response's headers go out.
//
// Sessions come from [Manager.Handler] (through [From]) or [Manager.Load];
// the zero Session is not usable. A Session is safe for concurrent use by
// the goroutines of its request. The methods of a nil *Session return
// [ErrNoSession] (or nothing).
type Session struct {
	m   *Manager
	ctx context.Context // the request's, for Renew and Destroy

	mu        sync.Mutex
	state     int8
	token     string           // the cookie's token; for a new session "" until Renew or Commit
	entry     sqlsession.Entry // as loaded
	found     bool             // entry is a live row under token: writes are compare-and-swap
	hadCookie bool             // the request carried a session cookie
	dropped   bool             // the cookie's session was destroyed or renewed: expire the cookie unless replaced

	decoded      bool // values and meta hold the entry's data
	values       map[string]json.RawMessage
	meta         meta
	changed      map[string]struct{} // keys put or deleted by this request
	persistDirty bool                // SetPersistent changed meta.persist
	corrupt      string              // token of an unreadable row, deleted at commit
}

// Session states.
const (
	open      = iota
	committed // Commit ran (or failed): changes are refused
	aborted   // the handler panicked: nothing is committed
)

// checkKey refuses the reserved key and keys that would not survive a
// round trip through JSON.
func checkKey(key string) error {
	if key == MetaKey {
		return fmt.Errorf("%w: %q is reserved", ErrInvalidKey, key)
	}
	if !utf8.ValidString(key) {
		return fmt.Errorf("%w: %q is not valid UTF-8", ErrInvalidKey, key)
	}
	return nil
}

// decode makes values and meta hold the loaded data, once. Data that is
// not a session of this package is a miss: it is logged, the session
// becomes a new, empty one, and Commit deletes the row.
func (s *Session) decode() {
	if s.decoded {
		return
	}
	s.decoded = true
	if !s.found {
		if s.values == nil {
			s.values = map[string]json.RawMessage{}
		}
		return
	}
	values, md, hasMeta, err := decode(s.entry.Data, s.m.cfg.MaxDataSize)
	if err != nil {
		s.m.logger().WarnContext(s.ctx, "httpsession: unreadable session data; treated as missing and deleted", "error", err)
		s.corrupt, s.token, s.found, s.entry = s.token, "", false, sqlsession.Entry{}
		s.values = map[string]json.RawMessage{}
		return
	}
	if !hasMeta {
		// A row written by other software: its lifetime ends with it.
		md.created = s.entry.Expiry.Add(-s.m.cfg.Lifetime).Unix()
	}
	s.values, s.meta = values, md
}

func (s *Session) dirty() bool { return len(s.changed) > 0 || s.persistDirty }

func (s *Session) mark(key string) {
	if s.changed == nil {
		s.changed = make(map[string]struct{}, 4)
	}
	s.changed[key] = struct{}{}
}

// Get decodes the value of key into v, as [json.Unmarshal] does, and
// reports whether the session has key. An error means the value does not
// fit v, or key is invalid ([ErrInvalidKey]); a missing key is not an
// error. The first Get, Put or Delete of a request decodes the session's
// data.
func (s *Session) Get(key string, v any) (found bool, err error) {
	if s == nil {
		return false, ErrNoSession
	}
	if err := checkKey(key); err != nil {
		return false, err
	}
	s.mu.Lock()
	var raw []byte
	var ok bool
	if !s.decoded && s.found {
		// Reading one key of data nobody decoded yet needs no map.
		var valid bool
		if raw, ok, valid = rawValue(s.entry.Data, key, s.m.cfg.MaxDataSize); !valid {
			s.decode()
			raw, ok = s.values[key]
		}
	} else {
		s.decode()
		raw, ok = s.values[key]
	}
	s.mu.Unlock()
	if !ok {
		return false, nil
	}
	if err := unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("httpsession: get %q: %w", key, err)
	}
	return true, nil
}

// Put sets key to v, encoded with [json.Marshal] at once: a value that
// does not encode is an error here, not at commit. It returns
// [ErrInvalidKey] for an invalid key, an error wrapping
// [sqlsession.ErrTooLarge] for a value larger than [Config.MaxDataSize],
// and [ErrCommitted] once the session was committed. A later commit
// writes only the keys this request put or deleted, over what other
// requests of the session wrote meanwhile.
func (s *Session) Put(key string, v any) error {
	if s == nil {
		return ErrNoSession
	}
	if err := checkKey(key); err != nil {
		return err
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("httpsession: put %q: %w", key, err)
	}
	if n := len(raw) + len(key); n > s.m.cfg.MaxDataSize {
		return fmt.Errorf("httpsession: put %q: %w: %d bytes, limit %d", key, sqlsession.ErrTooLarge, n, s.m.cfg.MaxDataSize)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != open {
		return ErrCommitted
	}
	s.decode()
	s.values[key] = raw
	s.mark(key)
	return nil
}

// Delete removes key from the session. Deleting a missing key does
// nothing; so does Delete after the session was committed, which it logs.
func (s *Session) Delete(key string) {
	if s == nil || checkKey(key) != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != open {
		s.m.logger().WarnContext(s.ctx, "httpsession: Delete after the session was committed has no effect", "key", key)
		return
	}
	s.decode()
	if _, ok := s.values[key]; !ok && !s.found {
		return
	}
	delete(s.values, key)
	s.mark(key)
}

// Keys returns the session's keys in sorted order.
func (s *Session) Keys() []string {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.decode()
	keys := make([]string, 0, len(s.values))
	for k := range s.values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Renew moves the session to a new token, keeping its values: call it when
// a user signs in, so that a token planted in the browser before (session
// fixation) is worthless afterwards. The old token is deleted at once, and
// stays deleted: a request that loaded it earlier cannot bring it back. The
// session is saved under the new token, with a new cookie, at commit; its
// Lifetime starts again. Renew returns the Store's error, or
// [ErrCommitted].
func (s *Session) Renew() error {
	if s == nil {
		return ErrNoSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != open {
		return ErrCommitted
	}
	s.decode()
	if s.found {
		if err := s.m.store.Delete(context.WithoutCancel(s.ctx), s.token); err != nil {
			return fmt.Errorf("httpsession: renew: %w", err)
		}
	}
	s.dropped = s.dropped || s.found || s.hadCookie
	s.found, s.entry = false, sqlsession.Entry{}
	s.token = s.m.newToken()
	s.meta.created = time.Now().Unix()
	return nil
}

// Destroy deletes the session at once (log-out) and leaves the request a
// new, empty one: the cookie is expired at commit, unless the request puts
// values again, which then go to a new session under a new token. The
// deleted token stays deleted: requests that loaded it earlier cannot
// bring it back. Destroy returns the Store's error, or [ErrCommitted].
func (s *Session) Destroy() error {
	if s == nil {
		return ErrNoSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != open {
		return ErrCommitted
	}
	if s.found {
		if err := s.m.store.Delete(context.WithoutCancel(s.ctx), s.token); err != nil {
			return fmt.Errorf("httpsession: destroy: %w", err)
		}
	}
	s.dropped = s.dropped || s.found || s.hadCookie
	s.found, s.entry, s.token = false, sqlsession.Entry{}, ""
	s.decoded, s.values, s.meta = true, map[string]json.RawMessage{}, meta{}
	s.changed, s.persistDirty = nil, false
	return nil
}

// SetPersistent chooses the cookie of this session: persistent, lasting
// until the session's Lifetime ends ("remember me"), or a browser-session
// cookie that the browser drops when it closes. It overrides
// [Config.BrowserSession] for this session, and is saved with it. It
// returns [ErrCommitted] once the session was committed.
func (s *Session) SetPersistent(persistent bool) error {
	if s == nil {
		return ErrNoSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != open {
		return ErrCommitted
	}
	s.decode()
	if n := s.m.node; n != nil {
		obj, ok := s.values[NodeCookieKey]
		if !ok {
			obj = n.newObject(&s.m.cfg, persistent, s.m.cfg.Lifetime)
		}
		s.values[NodeCookieKey] = n.setPersistent(obj, persistent, s.m.cfg.Lifetime)
		s.mark(NodeCookieKey)
		return nil
	}
	p := int8(-1)
	if persistent {
		p = 1
	}
	if s.meta.persist != p {
		s.meta.persist, s.persistDirty = p, true
	}
	return nil
}

// Token returns the session's token, which the cookie carries: "" for a
// new session until it is committed. After [Session.Renew] it is the new
// token, for [sqlsession.Store.DeleteOthers] and [sqlsession.Store.SessionID].
// Keep it secret: it is the session's credential.
func (s *Session) Token() string {
	if s == nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token
}
