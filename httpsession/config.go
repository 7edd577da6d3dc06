package httpsession

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Defaults used for zero [Config] fields.
const (
	DefaultCookieName = "session"
	DefaultLifetime   = 24 * time.Hour
	DefaultRetries    = 30
)

// Config configures a [Manager]. The zero value is valid and safe: a
// persistent, HttpOnly, Secure, SameSite=Lax cookie named "session" on
// Path=/, sessions that end 24 hours after they began, no idle timeout, a
// 500 response for database failures. Each field documents its default.
type Config struct {
	// CookieName is the session cookie's name. Default: the Cookie codec's
	// name, "session" for the default codec. With HostPrefix the cookie is
	// sent as "__Host-" + CookieName.
	CookieName string

	// Cookie is how the token travels in the cookie. Default nil:
	// [PlainCookie], a cookie holding the token itself. [ExpressCookie] and
	// [KoaCookie] speak the signed cookies of express-session and
	// koa-generic-session, so that a Go service and a Node.js app share
	// sessions (with a Store made from a nodesession preset, on the Node.js
	// app's table). With those two the Manager also keeps each session as
	// the Node.js middleware does: it writes no [MetaKey]; it keeps the
	// middleware's "cookie" object ([NodeCookieKey]) in the data, making one
	// for the sessions it creates and updating its expiry when it writes;
	// each write keeps the session until now plus the object's max age
	// (originalMaxAge, or maxAge for Koa), Lifetime for a session without
	// one; with ExpressCookie every request moves the expiry so, as
	// express-session does, at most once per tenth of the max age. Lifetime
	// is then the max age of the sessions the Manager creates, not an
	// absolute bound, and IdleTimeout must be 0. The keys of a session
	// that a request did not change keep their bytes and their order.
	Cookie CookieCodec

	// CookieDomain is the cookie's Domain attribute. Default "": the cookie
	// goes back only to the host that set it, the safest choice. It must be
	// empty with HostPrefix.
	CookieDomain string

	// CookiePath is the cookie's Path attribute. Default "/". It must be "/"
	// with HostPrefix.
	CookiePath string

	// SameSite is the cookie's SameSite attribute. Default
	// [http.SameSiteLaxMode]; [http.SameSiteDefaultMode] leaves the attribute
	// out; [http.SameSiteNoneMode] needs a Secure cookie.
	SameSite http.SameSite

	// InsecureCookie leaves out the cookie's Secure attribute, for
	// development over plain HTTP on a host other than localhost (browsers
	// accept Secure cookies from http://localhost). Default false: Secure.
	InsecureCookie bool

	// HostPrefix names the cookie "__Host-" + CookieName. Browsers accept
	// such a cookie only with Secure, Path=/ and no Domain, so no subdomain
	// can set or shadow it. Default false.
	HostPrefix bool

	// BrowserSession sends the cookie without Expires and Max-Age, so that
	// the browser drops it when it closes, except for sessions that opt in
	// with [Session.SetPersistent] ("remember me"). Default false: the
	// cookie lasts until the session's Lifetime ends, except for sessions
	// that opt out with SetPersistent(false).
	BrowserSession bool

	// Lifetime is the absolute lifetime of a session: it ends this long
	// after it began (or after its last [Session.Renew], which is when a user
	// signs in), however active it is. Default 24h.
	Lifetime time.Duration

	// IdleTimeout ends a session after this long without a request: each
	// request moves the session's expiry to now+IdleTimeout (within
	// Lifetime). So that reading a session does not write, the expiry moves
	// at most once per tenth of IdleTimeout. The Manager owns this rule:
	// leave the Store's [sqlsession.Options.IdleTimeout] at zero ([New]
	// refuses a Store that slides expiries itself). Default 0: no idle
	// timeout.
	IdleTimeout time.Duration

	// MaxDataSize is the largest session, in bytes, that the Manager
	// decodes or writes. A larger row is treated as missing and deleted; a
	// session that grows larger fails its commit. Default: the Store's
	// [sqlsession.Options.MaxDataSize] when the Store reports its options,
	// otherwise [sqlsession.DefaultMaxDataSize].
	MaxDataSize int

	// Retries bounds how often a commit that finds the session changed
	// since it was loaded (another request of the same session saved in
	// between) reads it again, applies this request's changes to what is
	// there now and tries again. Retries of one session take turns within a
	// Manager; a retry that collides again (with another instance) waits a
	// short, growing, jittered time first. When the tries run out the
	// commit fails, which goes to ErrorHandler. Default 30; -1: never retry.
	Retries int

	// ErrorHandler answers a request whose session could not be loaded or
	// committed because the Store failed: the handler's own response is not
	// sent, so a failure never passes for success. err wraps the Store's
	// error. Default: log err on Logger and answer 500 Internal Server
	// Error; when the request's context is done (the client went away,
	// which cancels loads), the line is logged at Debug level, not Error.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

	// Logger receives the default ErrorHandler's errors and warnings about
	// session rows that cannot be decoded. Default nil: [slog.Default] at
	// the time of logging.
	Logger *slog.Logger
}

// withDefaults validates c and fills in its defaults.
func (c Config) withDefaults() (Config, error) {
	if c.Cookie == nil {
		c.Cookie = PlainCookie{}
	}
	if ch, ok := c.Cookie.(checker); ok {
		if err := ch.check(); err != nil {
			return c, fmt.Errorf("%w: Cookie: %v", ErrInvalidConfig, err)
		}
	}
	if c.CookieName == "" {
		c.CookieName = c.Cookie.Name()
	}
	if !validCookieName(c.CookieName) {
		return c, fmt.Errorf("%w: CookieName %q is not a valid cookie name", ErrInvalidConfig, c.CookieName)
	}
	if c.CookiePath == "" {
		c.CookiePath = "/"
	}
	if strings.ContainsAny(c.CookiePath, ";\x7f") || !printable(c.CookiePath) {
		return c, fmt.Errorf("%w: CookiePath %q holds a character a cookie cannot", ErrInvalidConfig, c.CookiePath)
	}
	if strings.ContainsAny(c.CookieDomain, "; ") || !printable(c.CookieDomain) {
		return c, fmt.Errorf("%w: CookieDomain %q is not a domain", ErrInvalidConfig, c.CookieDomain)
	}
	if c.SameSite == 0 {
		c.SameSite = http.SameSiteLaxMode
	}
	if c.SameSite < http.SameSiteDefaultMode || c.SameSite > http.SameSiteNoneMode {
		return c, fmt.Errorf("%w: SameSite %d is not one of net/http's modes", ErrInvalidConfig, c.SameSite)
	}
	if c.SameSite == http.SameSiteNoneMode && c.InsecureCookie {
		return c, fmt.Errorf("%w: SameSite=None needs a Secure cookie: InsecureCookie must be false", ErrInvalidConfig)
	}
	if c.HostPrefix {
		switch {
		case c.InsecureCookie:
			return c, fmt.Errorf("%w: HostPrefix needs a Secure cookie: InsecureCookie must be false", ErrInvalidConfig)
		case c.CookieDomain != "":
			return c, fmt.Errorf("%w: HostPrefix forbids CookieDomain", ErrInvalidConfig)
		case c.CookiePath != "/":
			return c, fmt.Errorf("%w: HostPrefix needs CookiePath \"/\"", ErrInvalidConfig)
		}
	}
	if c.Lifetime == 0 {
		c.Lifetime = DefaultLifetime
	}
	switch {
	case c.Retries == 0:
		c.Retries = DefaultRetries
	case c.Retries == -1:
		c.Retries = 0
	}
	for _, f := range []struct {
		name string
		bad  bool
	}{
		{"Lifetime", c.Lifetime < time.Second},
		{"IdleTimeout", c.IdleTimeout < 0 || (c.IdleTimeout > 0 && c.IdleTimeout < time.Second)},
		{"MaxDataSize", c.MaxDataSize < 0},
		{"Retries", c.Retries < 0},
		{"IdleTimeout (it must be 0 with a Node.js Cookie codec)", c.IdleTimeout != 0 && isNode(c.Cookie)},
	} {
		if f.bad {
			return c, fmt.Errorf("%w: %s out of range", ErrInvalidConfig, f.name)
		}
	}
	return c, nil
}

// validCookieName reports whether name is an RFC 6265 cookie name: a
// token of printable ASCII without separators.
func validCookieName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// isNode reports whether c keeps sessions in a Node.js middleware's format.
func isNode(c CookieCodec) bool {
	_, ok := c.(nodeFormat)
	return ok
}
