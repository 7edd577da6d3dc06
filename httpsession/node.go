package httpsession

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/sqlsession/sqlsession"
)

// NodeCookieKey is the key under which express-session and
// koa-generic-session keep a description of the session's cookie in the
// session data. With [ExpressCookie] or [KoaCookie] the Manager keeps it
// as they do (see [Config.Cookie]); handlers may read it, and should not
// change it.
const NodeCookieKey = "cookie"

// nodeFormat is implemented by codecs whose Node.js middleware keeps a
// cookie object in the session data and decides the session's expiry
// from it. With one, the Manager writes no MetaKey, and keeps the object
// as that middleware does.
type nodeFormat interface {
	// newObject returns the cookie object of a new session whose cookie
	// lasts maxAge (persistent) or until the browser closes.
	newObject(cfg *Config, persistent bool, maxAge time.Duration) json.RawMessage
	// maxAge returns the session's lifetime as its cookie object says,
	// and whether its cookie is persistent.
	maxAge(obj json.RawMessage) (time.Duration, bool)
	// stamp returns obj as written for a session that now expires at exp.
	stamp(obj json.RawMessage, exp time.Time) json.RawMessage
	// setPersistent returns obj for a persistent cookie lasting maxAge, or
	// a browser-session cookie.
	setPersistent(obj json.RawMessage, persistent bool, maxAge time.Duration) json.RawMessage
	// slides reports whether every request moves the expiry, as
	// express-session's touch does; otherwise only writes move it.
	slides() bool
}

// express-session's Cookie, serialized as its toJSON writes it: the
// fields in this order, undefined ones left out.
func (ExpressCookie) newObject(cfg *Config, persistent bool, maxAge time.Duration) json.RawMessage {
	b := []byte(`{"originalMaxAge":`)
	if persistent {
		b = strconv.AppendInt(b, maxAge.Milliseconds(), 10)
		b = append(b, `,"expires":"1970-01-01T00:00:00.000Z"`...) // stamped at write
	} else {
		b = append(b, `null,"expires":null`...)
	}
	if !cfg.InsecureCookie {
		b = append(b, `,"secure":true`...)
	}
	b = append(b, `,"httpOnly":true`...)
	if cfg.CookieDomain != "" {
		b = append(b, `,"domain":`...)
		b = appendString(b, cfg.CookieDomain)
	}
	b = append(b, `,"path":`...)
	b = appendString(b, cfg.CookiePath)
	switch cfg.SameSite {
	case http.SameSiteLaxMode:
		b = append(b, `,"sameSite":"lax"`...)
	case http.SameSiteStrictMode:
		b = append(b, `,"sameSite":"strict"`...)
	case http.SameSiteNoneMode:
		b = append(b, `,"sameSite":"none"`...)
	}
	return append(b, '}')
}

// maxAge is the cookie's originalMaxAge: express-session moves the
// expiry to now + originalMaxAge on every request. A null one is a
// browser-session cookie.
func (ExpressCookie) maxAge(obj json.RawMessage) (time.Duration, bool) {
	return msField(obj, "originalMaxAge")
}

// stamp sets "expires", unless it is null (a browser-session cookie).
func (ExpressCookie) stamp(obj json.RawMessage, exp time.Time) json.RawMessage {
	if v, ok := field(obj, "expires"); !ok || string(v) == "null" {
		return obj
	}
	return setField(obj, "expires", isoTime(exp))
}

func (ExpressCookie) setPersistent(obj json.RawMessage, persistent bool, maxAge time.Duration) json.RawMessage {
	if !persistent {
		return setField(setField(obj, "originalMaxAge", []byte("null")), "expires", []byte("null"))
	}
	obj = setField(obj, "originalMaxAge", strconv.AppendInt(nil, maxAge.Milliseconds(), 10))
	return setField(obj, "expires", []byte(`"1970-01-01T00:00:00.000Z"`))
}

func (ExpressCookie) slides() bool { return true }

// koa-generic-session's session.cookie: its cookie options, defaults
// after the app's, with maxAge in milliseconds.
func (KoaCookie) newObject(cfg *Config, persistent bool, maxAge time.Duration) json.RawMessage {
	b := []byte(`{`)
	if cfg.CookieDomain != "" {
		b = append(b, `"domain":`...)
		b = appendString(b, cfg.CookieDomain)
		b = append(b, ',')
	}
	if !cfg.InsecureCookie {
		b = append(b, `"secure":true,`...)
	}
	switch cfg.SameSite {
	case http.SameSiteLaxMode:
		b = append(b, `"sameSite":"lax",`...)
	case http.SameSiteStrictMode:
		b = append(b, `"sameSite":"strict",`...)
	case http.SameSiteNoneMode:
		b = append(b, `"sameSite":"none",`...)
	}
	b = append(b, `"httpOnly":true,"path":`...)
	b = appendString(b, cfg.CookiePath)
	b = append(b, `,"overwrite":true,"signed":true`...)
	if persistent {
		b = append(b, `,"maxAge":`...)
		b = strconv.AppendInt(b, maxAge.Milliseconds(), 10)
	}
	return append(b, '}')
}

// maxAge is the cookie's maxAge (or maxage, which koa-generic-session
// renames before saving): each save keeps the session that long.
func (KoaCookie) maxAge(obj json.RawMessage) (time.Duration, bool) {
	if d, ok := msField(obj, "maxAge"); ok {
		return d, true
	}
	return msField(obj, "maxage")
}

func (KoaCookie) stamp(obj json.RawMessage, _ time.Time) json.RawMessage { return obj }

func (KoaCookie) setPersistent(obj json.RawMessage, persistent bool, maxAge time.Duration) json.RawMessage {
	obj = deleteField(obj, "maxage")
	if !persistent {
		return deleteField(obj, "maxAge")
	}
	return setField(obj, "maxAge", strconv.AppendInt(nil, maxAge.Milliseconds(), 10))
}

func (KoaCookie) slides() bool { return false }

// isoTime is t as JavaScript's Date.prototype.toJSON writes it, quoted.
func isoTime(t time.Time) []byte {
	return []byte(`"` + t.UTC().Format("2006-01-02T15:04:05.000Z") + `"`)
}

// msField reads a positive number of milliseconds from obj's key.
func msField(obj json.RawMessage, key string) (time.Duration, bool) {
	v, ok := field(obj, key)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil || f <= 0 || f > float64(100*365*24*time.Hour/time.Millisecond) {
		return 0, false
	}
	return time.Duration(f * float64(time.Millisecond)), true
}

// field returns the raw value of a top-level key of the JSON object obj.
func field(obj []byte, key string) ([]byte, bool) {
	v, found, ok := rawValue(obj, key, len(obj))
	return v, found && ok
}

// objectFields returns the top-level keys of a valid JSON object in their
// order, with their raw values, as written (escaped keys decoded); nil
// when obj is not a valid object.
func objectFields(obj []byte) (keys []string, vals [][]byte) {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return nil, nil
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return []string{}, [][]byte{}
	}
	for {
		if i >= len(obj) || obj[i] != '"' {
			return nil, nil
		}
		end := scanString(obj, i)
		if end < 0 {
			return nil, nil
		}
		var k string
		if json.Unmarshal(obj[i:end], &k) != nil {
			return nil, nil
		}
		if i = skipSpace(obj, end); i >= len(obj) || obj[i] != ':' {
			return nil, nil
		}
		i = skipSpace(obj, i+1)
		vend := scanValue(obj, i, 1)
		if vend < 0 {
			return nil, nil
		}
		keys, vals = append(keys, k), append(vals, obj[i:vend])
		if i = skipSpace(obj, vend); i >= len(obj) {
			return nil, nil
		}
		if obj[i] == '}' {
			return keys, vals
		}
		if obj[i] != ',' {
			return nil, nil
		}
		i = skipSpace(obj, i+1)
	}
}

// setField returns obj with key set to val, in its place, or appended.
// Other keys keep their order and bytes. An obj that is not an object
// becomes {key: val}.
func setField(obj []byte, key string, val []byte) []byte {
	keys, vals := objectFields(obj)
	replaced := false
	for i, k := range keys {
		if k == key {
			vals[i], replaced = val, true
		}
	}
	if !replaced {
		keys, vals = append(keys, key), append(vals, val)
	}
	return writeObject(keys, vals)
}

// deleteField returns obj without key.
func deleteField(obj []byte, key string) []byte {
	keys, vals := objectFields(obj)
	if keys == nil {
		return obj
	}
	var k2 []string
	var v2 [][]byte
	for i, k := range keys {
		if k != key {
			k2, v2 = append(k2, k), append(v2, vals[i])
		}
	}
	return writeObject(k2, v2)
}

func writeObject(keys []string, vals [][]byte) []byte {
	b := []byte{'{'}
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = append(b, vals[i]...)
	}
	return append(b, '}')
}

// encodeNode writes values as a JSON object without MetaKey, for a Node.js
// middleware: the keys of orig, the data loaded, first, in their order
// (each one's value as in values, which for keys no one changed are
// orig's bytes), then new keys in sorted order.
func encodeNode(orig []byte, values map[string]json.RawMessage) []byte {
	keys, _ := objectFields(orig)
	seen := make(map[string]bool, len(keys))
	out := make([]string, 0, len(values))
	for _, k := range keys {
		if _, ok := values[k]; ok && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	rest := make([]string, 0, len(values)-len(out))
	for k := range values {
		if !seen[k] && k != NodeCookieKey {
			rest = append(rest, k)
		}
	}
	if _, ok := values[NodeCookieKey]; ok && !seen[NodeCookieKey] {
		out = append(out, NodeCookieKey) // first, where Node.js puts it
	}
	slices.Sort(rest)
	out = append(out, rest...)
	vals := make([][]byte, len(out))
	for i, k := range out {
		vals[i] = values[k]
	}
	return writeObject(out, vals)
}

// prepare returns the data and expiry that a write of values stores now:
// the Manager's format, or with a Node.js codec the middleware's, its
// cookie object stamped with the new expiry. orig is the data loaded, whose
// key order a Node.js format keeps.
func (m *Manager) prepare(orig []byte, values map[string]json.RawMessage, md meta, now time.Time) ([]byte, time.Time) {
	if m.node == nil {
		return encode(values, md), m.expiry(md, now)
	}
	obj, ok := values[NodeCookieKey]
	exp := m.nodeExpiry(obj, now)
	if ok {
		values[NodeCookieKey] = m.node.stamp(obj, exp)
	}
	return encodeNode(orig, values), exp
}

// nodeExpiry is when a session with the cookie object obj expires if it
// is written or touched now: after the object's max age, or Lifetime.
func (m *Manager) nodeExpiry(obj json.RawMessage, now time.Time) time.Time {
	d, ok := m.node.maxAge(obj)
	if !ok {
		d = m.cfg.Lifetime
	}
	return now.Add(d).Truncate(time.Millisecond)
}

// commitNode commits a session kept in a Node.js middleware's format.
// Like the middleware, it sends the cookie again with every write, so that
// the browser keeps it as long as the row.
func (m *Manager) commitNode(ctx context.Context, s *Session, now time.Time) (*http.Cookie, error) {
	ctx = context.WithoutCancel(ctx)
	if s.found && !s.decoded && !s.dirty() {
		// Read only: express-session moves the expiry (a touch), Koa
		// does not; the object's max age needs no decoding of the rest.
		if !m.node.slides() {
			return nil, nil
		}
		obj, _ := field(s.entry.Data, NodeCookieKey)
		return nil, m.touchNode(ctx, s, s.entry.Data, m.nodeExpiry(obj, now))
	}
	s.decode()
	if !s.found {
		if len(s.values) == 0 {
			if s.dropped {
				return m.expiredCookie(), nil
			}
			return nil, nil
		}
		if _, ok := s.values[NodeCookieKey]; !ok {
			s.values[NodeCookieKey] = m.node.newObject(&m.cfg, !m.cfg.BrowserSession, m.cfg.Lifetime)
		}
		if s.token == "" {
			s.token = m.newToken()
		}
		data, exp := m.prepare(nil, s.values, s.meta, now)
		if err := m.store.Save(ctx, s.token, data, exp); err != nil {
			return nil, fmt.Errorf("httpsession: commit: %w", err)
		}
		return m.nodeCookie(s, exp, now), nil
	}
	if !s.dirty() {
		if !m.node.slides() {
			return nil, nil
		}
		return nil, m.touchNode(ctx, s, s.entry.Data, m.nodeExpiry(s.values[NodeCookieKey], now))
	}
	if _, ok := s.values[NodeCookieKey]; ok {
		s.mark(NodeCookieKey) // its expiry is rewritten
	}
	data, exp := m.prepare(s.entry.Data, s.values, s.meta, now)
	switch m.store.Decide(s.entry, true, data, exp) {
	case sqlsession.ActionNone:
		return nil, nil
	case sqlsession.ActionTouch:
		return nil, m.touchNode(ctx, s, data, exp)
	}
	gone, err := m.saveMerged(ctx, s, data, exp, now)
	if err != nil || gone {
		return nil, err
	}
	return m.nodeCookie(s, exp, now), nil
}

// touchNode moves the expiry of an unchanged session when it is more than
// a tenth of its max age away from exp.
func (m *Manager) touchNode(ctx context.Context, s *Session, data []byte, exp time.Time) error {
	if m.store.Decide(s.entry, true, data, exp) != sqlsession.ActionTouch {
		return nil
	}
	if err := m.store.Touch(ctx, s.token, exp); err != nil {
		return fmt.Errorf("httpsession: commit: %w", err)
	}
	return nil
}

// nodeCookie is the cookie of a session written until exp: persistent
// when its cookie object has a max age.
func (m *Manager) nodeCookie(s *Session, exp, now time.Time) *http.Cookie {
	_, persistent := m.node.maxAge(s.values[NodeCookieKey])
	return m.cookie(s.token, persistent, exp, now)
}
