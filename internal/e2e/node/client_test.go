package nodee2e_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/internal/dbtest"
)

// browser sends requests to both applications with one set of cookies, as a
// browser does for two servers on one host (cookies ignore ports). Unlike
// a browser it never lets a cookie expire, so that expiry is the servers'
// to enforce; a cookie is gone only when a server deletes it.
type browser struct {
	t       *testing.T
	c       *http.Client
	mu      sync.Mutex
	cookies map[string]string
}

func newBrowser(t *testing.T) *browser {
	return &browser{t: t, c: &http.Client{Timeout: time.Minute}, cookies: map[string]string{}}
}

// set sets a cookie, as a forger would; value "" removes it.
func (b *browser) set(name, value string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if value == "" {
		delete(b.cookies, name)
		return
	}
	b.cookies[name] = value
}

// cookie returns a cookie's value, "" when there is none.
func (b *browser) cookie(name string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cookies[name]
}

// do sends a request to base+path and returns its status and body.
func (b *browser) do(method, base, path string) (int, string, error) {
	req, err := http.NewRequest(method, base+path, nil)
	if err != nil {
		return 0, "", err
	}
	b.mu.Lock()
	names := make([]string, 0, len(b.cookies))
	for k := range b.cookies {
		names = append(names, k)
	}
	slices.Sort(names)
	var pairs []string
	for _, k := range names {
		pairs = append(pairs, k+"="+b.cookies[k])
	}
	b.mu.Unlock()
	if len(pairs) > 0 {
		req.Header.Set("Cookie", strings.Join(pairs, "; "))
	}
	res, err := b.c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, "", err
	}
	b.mu.Lock()
	for _, c := range res.Cookies() {
		if c.Value == "" || c.MaxAge < 0 || (!c.Expires.IsZero() && c.Expires.Before(time.Now())) {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	b.mu.Unlock()
	return res.StatusCode, string(body), nil
}

// want sends a request and checks for a 200 with the given body.
func (b *browser) want(method, base, path, body string) {
	b.t.Helper()
	code, got, err := b.do(method, base, path)
	if err != nil {
		b.t.Errorf("%s %s%s: %v", method, base, path, err)
		return
	}
	if code != 200 || got != body {
		b.t.Errorf("%s %s%s = %d %q, want 200 %q", method, base, path, code, got, body)
	}
}

// The cookie formats, written here from the packages' documentation and
// sources so that the tests check the codecs against an implementation of
// their own.

// expressSign returns express-session's cookie value for sid (before URL
// encoding): "s:" + sid + "." + base64(HMAC-SHA256(secret, sid)) without "=".
func expressSign(sid, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(sid))
	return "s:" + sid + "." + strings.TrimRight(base64.StdEncoding.EncodeToString(m.Sum(nil)), "=")
}

// expressSID returns the sid of an express-session cookie value (URL-encoded,
// as sent) when one of secrets signed it.
func expressSID(value string, secrets ...string) (string, bool) {
	v, err := url.QueryUnescape(value)
	if err != nil || !strings.HasPrefix(v, "s:") {
		return "", false
	}
	i := strings.LastIndexByte(v, '.')
	if i < 0 {
		return "", false
	}
	sid := v[2:i]
	for _, s := range secrets {
		if hmac.Equal([]byte(expressSign(sid, s)), []byte(v)) {
			return sid, true
		}
	}
	return "", false
}

// koaSign returns Keygrip's signature of the cookie name=value: base64url
// without padding of HMAC-SHA1(key, name + "=" + value).
func koaSign(name, value, key string) string {
	m := hmac.New(sha1.New, []byte(key))
	m.Write([]byte(name + "=" + value))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Cookie names and the koa store prefix (the packages' defaults).
const (
	expressCookie = "connect.sid"
	koaCookie     = "koa.sid"
	koaSig        = "koa.sid.sig"
	koaPrefix     = "koa:sess:"
)

// sidOf returns the sid in b's cookies for a koa or an express application
// signed with one of secrets ("" when there is no valid one).
func sidOf(b *browser, koa bool, secrets []string) string {
	if koa {
		sid := b.cookie(koaCookie)
		for _, k := range secrets {
			if sid != "" && hmac.Equal([]byte(koaSign(koaCookie, sid, k)), []byte(b.cookie(koaSig))) {
				return sid
			}
		}
		return ""
	}
	sid, _ := expressSID(b.cookie(expressCookie), secrets...)
	return sid
}

// setSession gives b the cookies of session sid signed with secret, as the
// Node application would set them.
func setSession(b *browser, koa bool, sid, secret string) {
	if koa {
		b.set(koaCookie, sid)
		b.set(koaSig, koaSign(koaCookie, sid, secret))
		return
	}
	b.set(expressCookie, url.QueryEscape(expressSign(sid, secret)))
}

// table is a session table shared by the two applications.
type table struct {
	db      *sql.DB
	d       sqlsession.Dialect
	schema  string
	name    string
	layout  sqlsession.Layout // the preset's columns
	express bool
}

func (tb table) quote(id string) string {
	if tb.d == sqlsession.MySQL {
		return "`" + id + "`"
	}
	return `"` + id + `"`
}

func (tb table) quoted() string { return dbtest.QuotedTable(tb.d, tb.schema, tb.name) }

func (tb table) param() string {
	if tb.d == sqlsession.Postgres {
		return "$1"
	}
	return "?"
}

// row returns the stored data of session sid as text, and whether there is
// a row.
func (tb table) row(t *testing.T, sid string) (string, bool) {
	t.Helper()
	key := tb.layout.KeyPrefix + sid
	var data sql.NullString
	q := "SELECT " + tb.quote(tb.layout.Data) + " FROM " + tb.quoted() + " WHERE " + tb.quote(tb.layout.Key) + " = " + tb.param()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := tb.db.QueryRowContext(ctx, q, key).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false
	}
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return data.String, true
}

// rows returns every row's key and data.
func (tb table) rows(t *testing.T) map[string]string {
	t.Helper()
	q := "SELECT " + tb.quote(tb.layout.Key) + ", " + tb.quote(tb.layout.Data) + " FROM " + tb.quoted()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rs, err := tb.db.QueryContext(ctx, q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rs.Close()
	all := map[string]string{}
	for rs.Next() {
		var k string
		var data sql.NullString
		if err := rs.Scan(&k, &data); err != nil {
			t.Fatal(err)
		}
		all[k] = data.String
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return all
}

// fields decodes a stored session into its top-level keys, each with its
// JSON text as stored.
func fields(data string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	err := json.Unmarshal([]byte(data), &m)
	return m, err
}
