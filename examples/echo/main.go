// Command echo is a visit counter on echo with echo-contrib/session, whose
// sessions are kept in SQL by sqlsession through gorillastore: the cookie
// holds only a signed token.
//
//	cd examples && go run ./echo [-addr 127.0.0.1:8080] [-dsn DSN]
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
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/examples/internal/mainapp"
)

// snippet:start
import (
	"github.com/labstack/echo-contrib/session"
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
	sessionStore := gorillastore.New(store, hashKey)
	e := echo.New()
	e.Use(session.Middleware(sessionStore))
	// snippet:end
	routes(e, sessionStore)
	return e, func() { store.Close() }, nil
}

// routes adds the application's handlers to e.
func routes(e *echo.Echo, sessionStore *gorillastore.Store) {
	// Errors are logged, and answered with a 500 that does not show them.
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		if he := (*echo.HTTPError)(nil); !errors.As(err, &he) {
			slog.Error("request failed", "err", err)
		}
		e.DefaultHTTPErrorHandler(err, c)
	}
	e.GET("/", func(c echo.Context) error {
		sess, err := session.Get("session", c)
		if err != nil { // the database failed: a bad cookie is a new session
			return err
		}
		count, _ := sess.Values["count"].(int)
		count++
		sess.Values["count"] = count
		if err := sess.Save(c.Request(), c.Response()); err != nil {
			return err
		}
		user, _ := sess.Values["user"].(string)
		return c.String(http.StatusOK, fmt.Sprintf("count=%d user=%s\n", count, cmp.Or(user, "anonymous")))
	})
	e.POST("/login", func(c echo.Context) error {
		user := c.QueryParam("user")
		if user == "" {
			return c.String(http.StatusBadRequest, "the user parameter is missing\n")
		}
		sess, err := session.Get("session", c)
		if err != nil {
			return err
		}
		sess.Values["user"] = user
		// Regenerate saves the session under a new token and deletes the
		// old one: a token planted in the browser before (session
		// fixation) is worthless afterwards.
		if err := sessionStore.Regenerate(c.Request(), c.Response(), sess); err != nil {
			return err
		}
		return c.String(http.StatusOK, "user="+user+"\n")
	})
	e.POST("/logout", func(c echo.Context) error {
		sess, err := session.Get("session", c)
		if err != nil {
			return err
		}
		sess.Options.MaxAge = -1 // Save deletes the row and the cookie
		if err := sess.Save(c.Request(), c.Response()); err != nil {
			return err
		}
		return c.String(http.StatusOK, "logged out\n")
	})
}
