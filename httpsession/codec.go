package httpsession

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/sqlsession/sqlsession"
)

// A CookieCodec is how the session token travels in cookies: the cookie's
// default name, the tokens of new sessions, how a token is read from a
// request's cookies and how it is written into Set-Cookie headers.
// [Config.Cookie] holds one; the default is [PlainCookie]. [ExpressCookie]
// and [KoaCookie] speak the cookies of the Node.js session middlewares.
// A CookieCodec must be safe for concurrent use.
type CookieCodec interface {
	// Name returns the cookie's default name, used when Config.CookieName
	// is empty.
	Name() string
	// NewToken returns the token of a new session. It must be a valid
	// token ([sqlsession.ValidToken]) that no one can guess.
	NewToken() string
	// Token returns the session token carried by the cookie called name in
	// the Cookie header lines of a request (r.Header["Cookie"]), "" when
	// there is none or it is not valid: malformed, unsigned or wrongly
	// signed. It must never panic, whatever the header holds.
	Token(cookieHeader []string, name string) string
	// Cookies returns the cookies to send for c, the session cookie as the
	// Manager built it with the token as its value (or "" with MaxAge -1
	// when the cookie is being removed): c itself, or c with an encoded
	// value, and any companion cookie, such as a signature.
	Cookies(c *http.Cookie) []*http.Cookie
}

// checker is implemented by codecs whose fields New validates.
type checker interface{ check() error }

// PlainCookie is the default [CookieCodec]: a cookie named "session" whose
// value is the token itself, 256 random bits ([sqlsession.NewToken]). The
// token is its own proof: it needs no signature.
type PlainCookie struct{}

// Name returns [DefaultCookieName].
func (PlainCookie) Name() string { return DefaultCookieName }

// NewToken returns [sqlsession.NewToken].
func (PlainCookie) NewToken() string { return sqlsession.NewToken() }

// Token returns the value of the first cookie called name that is a token
// the Store accepts.
func (PlainCookie) Token(cookieHeader []string, name string) string {
	return cookieToken(cookieHeader, name)
}

// Cookies returns c.
func (PlainCookie) Cookies(c *http.Cookie) []*http.Cookie { return []*http.Cookie{c} }

// ExpressCookie is the [CookieCodec] of express-session (1.x): a cookie
// named "connect.sid" whose value is "s:" + sid + "." + signature, URL-
// encoded, where the signature is the standard base64 of
// HMAC-SHA256(secret, sid) without "=" padding. Session ids are 32
// characters of URL-safe base64 (24 random bytes), as express-session makes
// them. A cookie issued by express-session with the same secrets is
// accepted, and one issued here is accepted by express-session.
//
// With an ExpressCookie the Manager keeps sessions as express-session
// does: see [Config.Cookie].
type ExpressCookie struct {
	// Secrets are express-session's secret option: the first signs, every
	// one verifies, so that a new secret can go first while cookies signed
	// with the old one still work. At least one, none empty.
	Secrets []string
}

// Name returns "connect.sid", express-session's default.
func (ExpressCookie) Name() string { return "connect.sid" }

// NewToken returns a new session id in express-session's format.
func (ExpressCookie) NewToken() string { return newSID() }

func (e ExpressCookie) check() error {
	if len(e.Secrets) == 0 {
		return errors.New("ExpressCookie needs at least one secret")
	}
	for _, s := range e.Secrets {
		if s == "" {
			return errors.New("ExpressCookie has an empty secret")
		}
	}
	return nil
}

// Token returns the session id of the first cookie called name, when its
// signature verifies with one of the secrets; "" otherwise. Like
// express-session, it reads only the first cookie of that name, ignores a
// value without the "s:" prefix, and splits the id from the signature at
// the last ".".
func (e ExpressCookie) Token(cookieHeader []string, name string) string {
	v, ok := findCookie(cookieHeader, name, nil)
	if !ok {
		return ""
	}
	if strings.IndexByte(v, '%') >= 0 {
		if d, err := url.PathUnescape(v); err == nil {
			v = d
		}
	}
	return e.unsign(v)
}

// unsign returns the sid of a signed value "s:" + sid + "." + signature,
// "" when it does not verify.
func (e ExpressCookie) unsign(v string) string {
	rest, ok := strings.CutPrefix(v, "s:")
	if !ok {
		return ""
	}
	dot := strings.LastIndexByte(rest, '.')
	if dot < 0 {
		return ""
	}
	sid, sig := rest[:dot], rest[dot+1:]
	if !sqlsession.ValidToken(sid) {
		return ""
	}
	ok = false
	var buf [88]byte // base64 of the largest sum, 64 bytes
	for _, secret := range e.Secrets {
		// Every secret is tried, in constant time each, whatever matched.
		if subtle.ConstantTimeCompare([]byte(sig), appendSig(buf[:0], sha256.New, base64.RawStdEncoding, secret, sid)) == 1 {
			ok = true
		}
	}
	if !ok {
		return ""
	}
	return sid
}

// Sign returns the cookie value that express-session sends for the session
// id sid, before URL-encoding: "s:" + sid + "." + signature, signed with
// the first secret.
func (e ExpressCookie) Sign(sid string) string {
	if len(e.Secrets) == 0 {
		return ""
	}
	return "s:" + sid + "." + expressSig(sid, e.Secrets[0])
}

// Cookies returns c with its value signed and URL-encoded, as
// express-session writes it; a removal cookie keeps its empty value.
func (e ExpressCookie) Cookies(c *http.Cookie) []*http.Cookie {
	out := *c
	if c.Value != "" {
		out.Value = encodeURIComponent(e.Sign(c.Value))
	}
	return []*http.Cookie{&out}
}

// expressSig is cookie-signature's signature of val: base64 of
// HMAC-SHA256(secret, val) without trailing "=".
func expressSig(val, secret string) string {
	return string(appendSig(nil, sha256.New, base64.RawStdEncoding, secret, val))
}

// appendSig appends the encoding enc of HMAC(h, key, data) to b. With b's
// capacity enough for it, the sum and its encoding stay off the heap.
func appendSig(b []byte, h func() hash.Hash, enc *base64.Encoding, key, data string) []byte {
	m := hmac.New(h, []byte(key))
	io.WriteString(m, data)
	var sum [64]byte
	return enc.AppendEncode(b, m.Sum(sum[:0]))
}

// KoaCookie is the [CookieCodec] of koa-generic-session (2.x) with Koa's
// signed cookies: a cookie named "koa.sid" holding the session id, and a
// second cookie "koa.sid.sig" holding its Keygrip signature, the URL-safe
// base64 without padding of HMAC(key, "koa.sid=" + sid), SHA-1 unless Hash
// says otherwise. Session ids are 32 characters of URL-safe base64, as
// koa-generic-session makes them. A pair of cookies set by Koa with the
// same keys is accepted, and one set here is accepted by Koa.
//
// With a KoaCookie the Manager keeps sessions as koa-generic-session does:
// see [Config.Cookie].
type KoaCookie struct {
	// Keys are the Koa app's keys (app.keys): the first signs, every one
	// verifies. At least one, none empty.
	Keys []string

	// Hash is Keygrip's algorithm. Default nil: SHA-1, Keygrip's default;
	// sha256.New for new Keygrip(keys, "sha256").
	Hash func() hash.Hash
}

// Name returns "koa.sid", koa-generic-session's default.
func (KoaCookie) Name() string { return "koa.sid" }

// NewToken returns a new session id in koa-generic-session's format.
func (KoaCookie) NewToken() string { return newSID() }

func (k KoaCookie) check() error {
	if len(k.Keys) == 0 {
		return errors.New("KoaCookie needs at least one key")
	}
	for _, key := range k.Keys {
		if key == "" {
			return errors.New("KoaCookie has an empty key")
		}
	}
	return nil
}

// Token returns the value of the first cookie called name when the first
// cookie called name + ".sig" signs it with one of the keys; "" otherwise.
// Like Koa's cookies, it reads the values as they are, without URL-
// decoding, and removes one pair of double quotes.
func (k KoaCookie) Token(cookieHeader []string, name string) string {
	v, ok := findCookie(cookieHeader, name, nil)
	if !ok || !sqlsession.ValidToken(v) {
		return ""
	}
	sig, ok := findCookie(cookieHeader, name+".sig", nil)
	if !ok {
		return ""
	}
	data := name + "=" + v
	match := false
	var buf [88]byte // base64 of the largest sum, 64 bytes
	for _, key := range k.Keys {
		if subtle.ConstantTimeCompare([]byte(sig), appendSig(buf[:0], k.hash(), base64.RawURLEncoding, key, data)) == 1 {
			match = true
		}
	}
	if !match {
		return ""
	}
	return v
}

// Cookies returns c and its signature cookie, named c.Name + ".sig", with
// the same attributes, as Koa's cookies.set does.
func (k KoaCookie) Cookies(c *http.Cookie) []*http.Cookie {
	sig := *c
	sig.Name = c.Name + ".sig"
	if len(k.Keys) > 0 {
		sig.Value = k.sign(c.Name+"="+c.Value, k.Keys[0])
	}
	return []*http.Cookie{c, &sig}
}

// sign is Keygrip's signature of data with key.
func (k KoaCookie) sign(data, key string) string {
	return string(appendSig(nil, k.hash(), base64.RawURLEncoding, key, data))
}

// hash is Keygrip's algorithm: Hash, or SHA-1.
func (k KoaCookie) hash() func() hash.Hash {
	if k.Hash == nil {
		return sha1.New
	}
	return k.Hash
}

// newSID returns a session id as uid-safe(24) makes it: 24 random bytes,
// URL-safe base64 without padding, 32 characters.
func newSID() string {
	var b [24]byte
	rand.Read(b[:]) // never fails: see [rand.Read]
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// encodeURIComponent escapes s as JavaScript's encodeURIComponent does:
// every byte but ASCII letters, digits and -_.!~*'() becomes %XX.
func encodeURIComponent(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.!~*'()", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
