package httpsession_test

import (
	"crypto/sha256"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/httpsession"
)

// Vectors made by the npm packages themselves: cookie-signature 1.0 and
// cookie 0.7 (what express-session 1.19 uses), keygrip 1.1.
const (
	nodeSID        = "Xq3DtaXg0PJ4-nVQmN3Lk7oRZ0a1HjFc"
	expressSecret  = "keyboard cat"
	expressHeader  = "connect.sid=s%3AXq3DtaXg0PJ4-nVQmN3Lk7oRZ0a1HjFc.Vx5egabVj5aw4UmBx9FQVuWctS8qHFL7XOSQabypF1s"
	expressHeader2 = "connect.sid=s%3Asid1AAAAAAAAAAAAAAAAAAAAAAAAAAAA.fvVBQCkADacZ40it1QjIz8wK%2F%2B1QBOEa0iq8PaMJYrE" // "+" and "/" escaped
	koaSigSHA1     = "5k_yM0Ruf-UdafrlqgUF-OS2B_4"                                                                      // Keygrip(["key one", ...]).sign("koa.sid=" + nodeSID)
	koaSigSHA256   = "6-ckickFFXk_eNVx7opCdlxakkvg5KgvfVDyyogjqaY"                                                      // Keygrip(["key one"], "sha256")
)

func TestExpressCookieToken(t *testing.T) {
	e := httpsession.ExpressCookie{Secrets: []string{expressSecret}}
	rotated := httpsession.ExpressCookie{Secrets: []string{"new secret", expressSecret}}
	tests := []struct {
		name   string
		codec  httpsession.ExpressCookie
		header string
		want   string
	}{
		{"express-session's cookie", e, expressHeader, nodeSID},
		{"escaped + and /", e, expressHeader2, "sid1AAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
		{"not URL-encoded", e, "connect.sid=s:" + nodeSID + ".Vx5egabVj5aw4UmBx9FQVuWctS8qHFL7XOSQabypF1s", nodeSID},
		{"quoted", e, `connect.sid="s%3AXq3DtaXg0PJ4-nVQmN3Lk7oRZ0a1HjFc.Vx5egabVj5aw4UmBx9FQVuWctS8qHFL7XOSQabypF1s"`, nodeSID},
		{"among others", e, "a=1; " + expressHeader + "; b=2", nodeSID},
		{"an older secret verifies", rotated, expressHeader, nodeSID},
		{"wrong secret", httpsession.ExpressCookie{Secrets: []string{"other"}}, expressHeader, ""},
		{"tampered id", e, strings.Replace(expressHeader, "Xq3D", "Xq3E", 1), ""},
		{"tampered signature", e, strings.Replace(expressHeader, "Vx5e", "Vx5f", 1), ""},
		{"padded signature", e, expressHeader + "%3D", ""},
		{"unsigned", e, "connect.sid=" + nodeSID, ""},
		{"no dot", e, "connect.sid=s%3A" + nodeSID, ""},
		{"other name", e, strings.Replace(expressHeader, "connect.sid", "sid", 1), ""},
		{"only the first cookie counts", e, "connect.sid=s%3Ajunk.junk; " + expressHeader, ""},
		{"bad escape", e, "connect.sid=s%3" + nodeSID, ""},
		{"none", e, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.codec.Token([]string{tt.header}, "connect.sid"); got != tt.want {
				t.Errorf("Token(%q) = %q, want %q", tt.header, got, tt.want)
			}
		})
	}
}

func TestExpressCookieCookies(t *testing.T) {
	e := httpsession.ExpressCookie{Secrets: []string{expressSecret, "old"}}
	for _, tt := range []struct{ sid, header string }{
		{nodeSID, expressHeader},
		{"sid1AAAAAAAAAAAAAAAAAAAAAAAAAAAA", expressHeader2},
	} {
		cs := e.Cookies(&http.Cookie{Name: "connect.sid", Value: tt.sid, Path: "/", HttpOnly: true})
		if len(cs) != 1 {
			t.Fatalf("Cookies() = %d cookies, want 1", len(cs))
		}
		if got := cs[0].Name + "=" + cs[0].Value; got != tt.header {
			t.Errorf("Cookies(%q) = %q, want express-session's %q", tt.sid, got, tt.header)
		}
		if !strings.Contains(cs[0].String(), "; Path=/; HttpOnly") {
			t.Errorf("Cookies() = %q lost the attributes", cs[0].String())
		}
	}
	if got := e.Sign(nodeSID); got != "s:"+nodeSID+".Vx5egabVj5aw4UmBx9FQVuWctS8qHFL7XOSQabypF1s" {
		t.Errorf("Sign(%q) = %q", nodeSID, got)
	}
	removal := e.Cookies(&http.Cookie{Name: "connect.sid", MaxAge: -1})
	if removal[0].Value != "" {
		t.Errorf("Cookies(removal) = %q, want an empty value", removal[0].Value)
	}
	if sid := e.NewToken(); len(sid) != 32 || !sqlsession.ValidToken(sid) || e.Token([]string{"connect.sid=" + e.Cookies(&http.Cookie{Name: "connect.sid", Value: sid})[0].Value}, "connect.sid") != sid {
		t.Errorf("NewToken() = %q does not round-trip, or is not 32 characters", sid)
	}
}

func TestKoaCookie(t *testing.T) {
	k := httpsession.KoaCookie{Keys: []string{"key one", "key two"}}
	rotated := httpsession.KoaCookie{Keys: []string{"key three", "key one"}}
	k256 := httpsession.KoaCookie{Keys: []string{"key one"}, Hash: sha256.New}
	pair := "koa.sid=" + nodeSID + "; koa.sid.sig=" + koaSigSHA1
	tests := []struct {
		name   string
		codec  httpsession.KoaCookie
		header string
		want   string
	}{
		{"Koa's cookies", k, pair, nodeSID},
		{"signature first", k, "koa.sid.sig=" + koaSigSHA1 + "; koa.sid=" + nodeSID, nodeSID},
		{"an older key verifies", rotated, pair, nodeSID},
		{"SHA-256", k256, "koa.sid=" + nodeSID + "; koa.sid.sig=" + koaSigSHA256, nodeSID},
		{"SHA-1 signature with SHA-256 keys", k256, pair, ""},
		{"wrong key", httpsession.KoaCookie{Keys: []string{"nope"}}, pair, ""},
		{"no signature", k, "koa.sid=" + nodeSID, ""},
		{"tampered id", k, strings.Replace(pair, "Xq3D", "Xq3E", 1), ""},
		{"tampered signature", k, strings.Replace(pair, "5k_y", "5k_z", 1), ""},
		{"signature of another name", k, "koa.sid=" + nodeSID + "; other.sig=" + koaSigSHA1, ""},
		{"none", k, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.codec.Token([]string{tt.header}, "koa.sid"); got != tt.want {
				t.Errorf("Token(%q) = %q, want %q", tt.header, got, tt.want)
			}
		})
	}
	cs := k.Cookies(&http.Cookie{Name: "koa.sid", Value: nodeSID, Path: "/", HttpOnly: true, MaxAge: 60})
	if len(cs) != 2 || cs[0].Value != nodeSID || cs[1].Name != "koa.sid.sig" || cs[1].Value != koaSigSHA1 {
		t.Fatalf("Cookies() = %v, want koa.sid=%s and koa.sid.sig=%s", cs, nodeSID, koaSigSHA1)
	}
	if cs[1].Path != "/" || !cs[1].HttpOnly || cs[1].MaxAge != 60 {
		t.Errorf("the signature cookie %q lacks the session cookie's attributes", cs[1].String())
	}
}

// TestCodecConfig checks the codecs' defaults and refusals in New.
func TestCodecConfig(t *testing.T) {
	for _, tt := range []struct {
		cfg  httpsession.Config
		name string // "" when New must fail
	}{
		{httpsession.Config{}, "session"},
		{httpsession.Config{Cookie: httpsession.ExpressCookie{Secrets: []string{"s"}}}, "connect.sid"},
		{httpsession.Config{Cookie: httpsession.KoaCookie{Keys: []string{"k"}}}, "koa.sid"},
		{httpsession.Config{Cookie: httpsession.KoaCookie{Keys: []string{"k"}}, CookieName: "app.sid"}, "app.sid"},
		{httpsession.Config{Cookie: httpsession.ExpressCookie{}}, ""},
		{httpsession.Config{Cookie: httpsession.ExpressCookie{Secrets: []string{""}}}, ""},
		{httpsession.Config{Cookie: httpsession.KoaCookie{}}, ""},
		{httpsession.Config{Cookie: httpsession.ExpressCookie{Secrets: []string{"s"}}, IdleTimeout: time.Hour}, ""},
	} {
		m, err := httpsession.New(newMemStore(), tt.cfg)
		switch {
		case tt.name == "" && err == nil:
			t.Errorf("New(%+v) = nil error, want ErrInvalidConfig", tt.cfg)
		case tt.name != "" && err != nil:
			t.Errorf("New(%+v) = %v", tt.cfg, err)
		case tt.name != "" && m.CookieName() != tt.name:
			t.Errorf("New(%+v).CookieName() = %q, want %q", tt.cfg, m.CookieName(), tt.name)
		}
	}
}
