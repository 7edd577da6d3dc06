// Command gin is a visit counter on gin with gin-contrib/sessions, whose
// sessions are kept in SQL by sqlsession through ginstore: the cookie holds
// only a signed token.
//
//	cd examples && go run ./gin [-addr 127.0.0.1:8080] [-dsn DSN]
//
// Without -dsn the sessions go to the SQLite file sessions.db in the working
// directory. Set SESSION_HASH_KEY (openssl rand -hex 32) to keep sessions
// across restarts. The cookie is Secure: browsers and curl send it to
// 127.0.0.1 and localhost over plain HTTP, other hosts need HTTPS.
//
//	curl -b jar -c jar http://127.0.0.1:8080/                        # count=1 user=anonymous
//	curl -b jar -c jar -X POST 'http://127.0.0.1:8080/login?user=ada' # a new token, same data
//	curl -b jar -c jar http://127.0.0.1:8080/                        # count=2 user=ada
//	curl -b jar -c jar -X POST http://127.0.0.1:8080/logout
package main

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/examples/internal/mainapp"
)

// snippet:start
import (
	"github.com/gin-contrib/sessions"
	"github.com/sqlsession/sqlsession/ginstore"
	"github.com/sqlsession/sqlsession/gorillastore"
)

// snippet:end

func main() { mainapp.MainSigned(newApp) }

// newApp creates the session table if needed and returns the application,
// whose cookies are signed with hashKey (32 or 64 random bytes). cleanup
// stops the Store's background cleanup; it leaves db open.
func newApp(ctx context.Context, db *sql.DB, dialect sqlsession.Dialect, hashKey []byte) (_ http.Handler, cleanup func(), _ error) {
	store, err := sqlsession.New(db, dialect, sqlsession.Options{
		CleanupInterval: 10 * time.Minute, // delete expired sessions in the background
	})
	if err != nil {
		return nil, nil, err
	}
	if err := store.CreateTable(ctx); err != nil {
		store.Close()
		return nil, nil, fmt.Errorf("creating the session table: %w", err)
	}

	// snippet:start
	// store is a *sqlsession.Store; hashKey is 32 or 64 random bytes.
	sessionStore := ginstore.New(gorillastore.New(store, hashKey))
	r := gin.Default()
	r.Use(sessions.Sessions("session", sessionStore))
	// snippet:end
	routes(r, sessionStore)
	return r, func() { store.Close() }, nil
}

// routes adds the application's handlers to r.
func routes(r *gin.Engine, sessionStore ginstore.Store) {
	// gin-contrib/sessions only logs a failure to load a session and goes on
	// with a new one. Loading it first tells a database failure from a new
	// session; sessions.Default then returns the same session.
	r.Use(func(c *gin.Context) {
		if _, err := sessionStore.Get(c.Request, "session"); err != nil {
			fail(c, err)
		}
	})
	r.GET("/", func(c *gin.Context) {
		session := sessions.Default(c)
		count, _ := session.Get("count").(int)
		count++
		session.Set("count", count)
		if err := session.Save(); err != nil {
			fail(c, err)
			return
		}
		user, _ := session.Get("user").(string)
		c.String(http.StatusOK, "count=%d user=%s\n", count, cmp.Or(user, "anonymous"))
	})
	r.POST("/login", func(c *gin.Context) {
		user := c.Query("user")
		if user == "" {
			c.String(http.StatusBadRequest, "the user parameter is missing\n")
			return
		}
		// Regenerate saves the session under a new token and deletes the
		// old one: a token planted in the browser before (session
		// fixation) is worthless afterwards. It needs the gorilla session
		// behind sessions.Default(c), which the store's Get returns.
		session, err := sessionStore.Get(c.Request, "session")
		if err != nil {
			fail(c, err)
			return
		}
		session.Values["user"] = user
		if err := sessionStore.Regenerate(c.Request, c.Writer, session); err != nil {
			fail(c, err)
			return
		}
		c.String(http.StatusOK, "user=%s\n", user)
	})
	r.POST("/logout", func(c *gin.Context) {
		session := sessions.Default(c)
		session.Options(sessions.Options{Path: "/", MaxAge: -1}) // Save deletes the row and the cookie
		if err := session.Save(); err != nil {
			fail(c, err)
			return
		}
		c.String(http.StatusOK, "logged out\n")
	})
}

// fail logs err and answers 500 without showing it to the client.
func fail(c *gin.Context, err error) {
	slog.Error("request failed", "err", err)
	c.AbortWithStatus(http.StatusInternalServerError)
}
