package httpsession

import (
	"net/http"
	"strings"
	"time"

	"github.com/sqlsession/sqlsession"
)

// cookieToken returns the value of the first cookie called name, in the
// Cookie header lines, that is a token the Store accepts
// ([sqlsession.ValidToken]); "" when there is none. It never fails: a
// malformed header is no cookie.
func cookieToken(lines []string, name string) string {
	v, _ := findCookie(lines, name, plainToken)
	return v
}

// plainToken reports whether v is a token the Store accepts and that a
// cookie can carry unquoted.
func plainToken(v string) bool {
	return sqlsession.ValidToken(v) && !strings.ContainsAny(v, `",\`)
}

// findCookie returns the value of the first cookie called name in the
// Cookie header lines that accept takes (nil: any), and whether there is
// one. It parses as net/http, the npm cookie package and Koa's cookies do
// (pairs split on ";", spaces and tabs trimmed, one pair of double quotes
// removed) without allocating.
func findCookie(lines []string, name string, accept func(string) bool) (string, bool) {
	for _, line := range lines {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			k, v, ok := strings.Cut(part, "=")
			if !ok || trim(k) != name {
				continue
			}
			v = trim(v)
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			if accept == nil || accept(v) {
				return v, true
			}
		}
	}
	return "", false
}

// trim removes ASCII spaces and tabs from both ends of s.
func trim(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// cookie returns the session cookie carrying token. A persistent cookie
// expires at expires; otherwise it is a browser-session cookie.
func (m *Manager) cookie(token string, persistent bool, expires, now time.Time) *http.Cookie {
	c := &http.Cookie{
		Name:     m.cookieName,
		Value:    token,
		Path:     m.cfg.CookiePath,
		Domain:   m.cfg.CookieDomain,
		Secure:   !m.cfg.InsecureCookie,
		HttpOnly: true,
		SameSite: m.cfg.SameSite,
	}
	if persistent {
		c.Expires = expires.UTC()
		c.MaxAge = int((expires.Sub(now) + time.Second - 1) / time.Second)
		if c.MaxAge <= 0 {
			c.MaxAge = -1
		}
	}
	return c
}

// expiredCookie returns a cookie that makes the browser drop the session
// cookie.
func (m *Manager) expiredCookie() *http.Cookie {
	c := m.cookie("", false, time.Time{}, time.Time{})
	c.Expires = time.Unix(1, 0).UTC()
	c.MaxAge = -1
	return c
}

// SetCookie adds c to h as a Set-Cookie header, with the headers that keep
// shared caches from storing it or serving the response to other users.
func SetCookie(h http.Header, c *http.Cookie) {
	if c == nil {
		return
	}
	h.Add("Set-Cookie", c.String())
	h.Add("Vary", "Cookie")
	h.Add("Cache-Control", `no-cache="Set-Cookie"`)
}
