package gorillae2e

import (
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	ginsessions "github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
	"github.com/gorilla/sessions"
	echosession "github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"

	"github.com/sqlsession/sqlsession/ginstore"
	"github.com/sqlsession/sqlsession/gorillastore"
)

const cookieName = "session"

// user is a type of the application's own, stored through gob.
type user struct {
	Name  string
	Roles []string
}

func init() { gob.Register(user{}) }

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	gin.DefaultWriter = io.Discard
	gin.DefaultErrorWriter = io.Discard
	os.Exit(m.Run())
}

// bigValue is 64 KB of session data: sixteen times a cookie's limit.
var bigValue = func() string {
	var b strings.Builder
	for i := 0; b.Len() < 64<<10; i++ {
		sum := sha256.Sum256([]byte{byte(i), byte(i >> 8)})
		b.WriteString(hex.EncodeToString(sum[:]))
	}
	return b.String()[:64<<10]
}()

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// session is what the application needs of a framework's session API.
type session interface {
	Get(key string) any
	Set(key string, value any)
	Save() error
	Regenerate() error // log-in: a new token for the same values
	Logout() error     // MaxAge -1
}

// serve is the application, written once for every framework. Each path is
// one step of a visitor's life.
func serve(path string, s session) (int, string) {
	var err error
	body := "ok"
	switch path {
	case "/visit": // an anonymous visitor fills a cart
		s.Set("cart", "3 apples")
		err = s.Save()
	case "/login":
		s.Set("user", user{Name: "alice", Roles: []string{"admin"}})
		s.Set("n", 1)
		s.Set("uid", "u-alice") // the owner, for sqlsession's Options.Owner
		err = s.Regenerate()
	case "/whoami":
		u, ok := s.Get("user").(user)
		if !ok {
			return http.StatusOK, "anonymous"
		}
		body = fmt.Sprintf("%s %v n=%v cart=%v", u.Name, u.Roles, s.Get("n"), s.Get("cart"))
	case "/read": // a page that reads the session and saves it, as most do
		u, _ := s.Get("user").(user)
		body = u.Name
		err = s.Save()
	case "/incr":
		n, _ := s.Get("n").(int)
		s.Set("n", n+1)
		err = s.Save()
		body = fmt.Sprint(n + 1)
	case "/change":
		u, _ := s.Get("user").(user)
		u.Name = "bob"
		u.Roles = append(u.Roles, "editor")
		s.Set("user", u)
		err = s.Save()
	case "/big":
		s.Set("blob", bigValue)
		err = s.Save()
	case "/bigcheck":
		blob, _ := s.Get("blob").(string)
		body = fmt.Sprintf("%d %s", len(blob), digest(blob))
	case "/logout":
		err = s.Logout()
	case "/renew": // a new token for the same values, as at a change of privileges
		err = s.Regenerate()
	default:
		kind, id, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
		g, ok := gates.Load(id)
		if kind != "slow" && kind != "slow-put" || !ok {
			return http.StatusNotFound, "not found"
		}
		// /read, held between loading the session and saving it until the
		// test opens the gate; /slow-put/ also changes the session.
		close(g.(*gate).entered)
		<-g.(*gate).release
		u, _ := s.Get("user").(user)
		body = u.Name
		if kind == "slow-put" {
			s.Set("late", id)
		}
		err = s.Save()
	}
	if err != nil {
		return http.StatusInternalServerError, err.Error()
	}
	return http.StatusOK, body
}

// A gate holds a request to /slow/{id} or /slow-put/{id} after it loaded
// its session: entered is closed when it is held, and closing release lets
// it save and answer.
type gate struct {
	entered, release chan struct{}
}

// gates holds the gates of the slow requests, by id.
var gates sync.Map

// newGate returns a gate for /slow/{id}, removed when t ends.
func newGate(t *testing.T) (id string, g *gate) {
	id = fmt.Sprintf("%p", t)
	g = &gate{entered: make(chan struct{}), release: make(chan struct{})}
	gates.Store(id, g)
	t.Cleanup(func() { gates.Delete(id) })
	return id, g
}

// gorillaSession serves net/http and echo, which hand out *sessions.Session.
type gorillaSession struct {
	st *gorillastore.Store
	r  *http.Request
	w  http.ResponseWriter
	s  *sessions.Session
}

func (g gorillaSession) Get(key string) any        { return g.s.Values[key] }
func (g gorillaSession) Set(key string, value any) { g.s.Values[key] = value }
func (g gorillaSession) Save() error               { return g.s.Save(g.r, g.w) }
func (g gorillaSession) Regenerate() error         { return g.st.Regenerate(g.r, g.w, g.s) }
func (g gorillaSession) Logout() error {
	g.s.Options.MaxAge = -1
	return g.s.Save(g.r, g.w)
}

// ginSession goes through gin-contrib/sessions' own API.
type ginSession struct {
	st ginstore.Store
	c  *gin.Context
}

func (g ginSession) Get(key string) any        { return ginsessions.Default(g.c).Get(key) }
func (g ginSession) Set(key string, value any) { ginsessions.Default(g.c).Set(key, value) }
func (g ginSession) Save() error               { return ginsessions.Default(g.c).Save() }
func (g ginSession) Regenerate() error {
	// The registry hands back the session gin-contrib/sessions holds.
	s, err := g.st.Get(g.c.Request, cookieName)
	if err != nil {
		return err
	}
	return g.st.Regenerate(g.c.Request, g.c.Writer, s)
}
func (g ginSession) Logout() error {
	s := ginsessions.Default(g.c)
	s.Options(ginsessions.Options{Path: "/", MaxAge: -1})
	return s.Save()
}

// framework builds the application's handler on one web framework.
type framework struct {
	name    string
	handler func(st *gorillastore.Store) http.Handler
}

var frameworks = []framework{
	{"nethttp", func(st *gorillastore.Store) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, err := st.Get(r, cookieName)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			code, body := serve(r.URL.Path, gorillaSession{st, r, w, s})
			w.WriteHeader(code)
			io.WriteString(w, body)
		})
	}},
	{"gin", func(st *gorillastore.Store) http.Handler {
		store := ginstore.New(st)
		r := gin.New()
		r.Use(ginsessions.Sessions(cookieName, store))
		r.Any("/*path", func(c *gin.Context) {
			// gin-contrib/sessions only logs load errors: ask first.
			if _, err := store.Get(c.Request, cookieName); err != nil {
				c.String(http.StatusInternalServerError, err.Error())
				return
			}
			c.String(serve(c.Request.URL.Path, ginSession{store, c}))
		})
		return r
	}},
	{"echo", func(st *gorillastore.Store) http.Handler {
		e := echo.New()
		e.Use(echosession.Middleware(st))
		e.Any("/*", func(c echo.Context) error {
			s, err := echosession.Get(cookieName, c)
			if err != nil {
				return c.String(http.StatusInternalServerError, err.Error())
			}
			return c.String(serve(c.Request().URL.Path, gorillaSession{st, c.Request(), c.Response(), s}))
		})
		return e
	}},
}
