// Command gin is a visit counter on gin whose sessions are managed by
// sqlsession's own httpsession and kept in SQL. gin has no adapter for
// net/http middleware, but a gin engine is an http.Handler: the middleware
// wraps the engine.
//
//	cd examples && go run ./httpsession/gin [-addr 127.0.0.1:8080] [-dsn DSN]
//
// Without -dsn the sessions go to the SQLite file sessions.db in the working
// directory. The cookie is Secure: browsers and curl send it to 127.0.0.1
// and localhost over plain HTTP, other hosts need HTTPS. Try it with curl
// and a cookie jar:
//
//	curl -b jar -c jar http://127.0.0.1:8080/                        # count=1 user=anonymous
//	curl -b jar -c jar -X POST 'http://127.0.0.1:8080/login?user=ada' # a new token, same data
//	curl -b jar -c jar http://127.0.0.1:8080/                        # count=2 user=ada
//	curl -b jar -c jar -X POST http://127.0.0.1:8080/logout
package main

import (
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/examples/httpsession/internal/counter"
	"github.com/sqlsession/sqlsession/examples/internal/mainapp"
)

// snippet:start
import "github.com/sqlsession/sqlsession/httpsession"

// snippet:end

func main() { mainapp.Main(newApp) }

// newApp creates the session table if needed and returns the application.
// cleanup stops the Store's background cleanup; it leaves db open.
func newApp(ctx context.Context, db *sql.DB, dialect sqlsession.Dialect) (_ http.Handler, cleanup func(), _ error) {
	store, err := counter.NewStore(ctx, db, dialect)
	if err != nil {
		return nil, nil, err
	}

	// snippet:start
	// store is a *sqlsession.Store
	sessions, err := httpsession.New(store, httpsession.Config{IdleTimeout: time.Hour})
	if err != nil {
		return nil, nil, err
	}
	r := gin.Default()
	handler := sessions.Handler(r) // serve handler, not r
	// snippet:end
	routes(r)
	return handler, func() { store.Close() }, nil
}

// routes adds the application's handlers to r. Each finds its session with
// httpsession.From(c.Request.Context()).
func routes(r *gin.Engine) {
	r.GET("/", func(c *gin.Context) {
		s := httpsession.From(c.Request.Context())
		var count int
		user := "anonymous"
		if _, err := s.Get("count", &count); err != nil {
			fail(c, err)
			return
		}
		if _, err := s.Get("user", &user); err != nil {
			fail(c, err)
			return
		}
		count++
		if err := s.Put("count", count); err != nil {
			fail(c, err)
			return
		}
		c.String(http.StatusOK, "count=%d user=%s\n", count, user)
	})
	r.POST("/login", func(c *gin.Context) {
		user := c.Query("user")
		if user == "" {
			c.String(http.StatusBadRequest, "the user parameter is missing\n")
			return
		}
		s := httpsession.From(c.Request.Context())
		// A new token at login: a token planted in the browser before
		// (session fixation) is worthless afterwards.
		if err := s.Renew(); err != nil {
			fail(c, err)
			return
		}
		if err := s.Put("user", user); err != nil {
			fail(c, err)
			return
		}
		c.String(http.StatusOK, "user=%s\n", user)
	})
	r.POST("/logout", func(c *gin.Context) {
		if err := httpsession.From(c.Request.Context()).Destroy(); err != nil {
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
