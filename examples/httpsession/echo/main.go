// Command echo is a visit counter on echo v4 whose sessions are managed by
// sqlsession's own httpsession, through echo's adapter for net/http
// middleware, and kept in SQL.
//
//	cd examples && go run ./httpsession/echo [-addr 127.0.0.1:8080] [-dsn DSN]
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
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

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
	e := echo.New()
	e.Use(echo.WrapMiddleware(sessions.Handler))
	// snippet:end
	routes(e)
	return e, func() { store.Close() }, nil
}

// routes adds the application's handlers to e. Each finds its session with
// httpsession.From(c.Request().Context()).
func routes(e *echo.Echo) {
	// Errors are logged, and answered with a 500 that does not show them.
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		if he := (*echo.HTTPError)(nil); !errors.As(err, &he) {
			slog.Error("request failed", "err", err)
		}
		e.DefaultHTTPErrorHandler(err, c)
	}
	e.GET("/", func(c echo.Context) error {
		s := httpsession.From(c.Request().Context())
		var count int
		user := "anonymous"
		if _, err := s.Get("count", &count); err != nil {
			return err
		}
		if _, err := s.Get("user", &user); err != nil {
			return err
		}
		count++
		if err := s.Put("count", count); err != nil {
			return err
		}
		return c.String(http.StatusOK, fmt.Sprintf("count=%d user=%s\n", count, user))
	})
	e.POST("/login", func(c echo.Context) error {
		user := c.QueryParam("user")
		if user == "" {
			return c.String(http.StatusBadRequest, "the user parameter is missing\n")
		}
		s := httpsession.From(c.Request().Context())
		// A new token at login: a token planted in the browser before
		// (session fixation) is worthless afterwards.
		if err := s.Renew(); err != nil {
			return err
		}
		if err := s.Put("user", user); err != nil {
			return err
		}
		return c.String(http.StatusOK, "user="+user+"\n")
	})
	e.POST("/logout", func(c echo.Context) error {
		if err := httpsession.From(c.Request().Context()).Destroy(); err != nil {
			return err
		}
		return c.String(http.StatusOK, "logged out\n")
	})
}
