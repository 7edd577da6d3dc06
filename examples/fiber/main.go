// Command fiber is a visit counter on fiber v3 whose sessions, managed by
// fiber's session middleware, are kept in SQL by sqlsession through
// fiberstore.
//
//	cd examples && go run ./fiber [-addr 127.0.0.1:8080] [-dsn DSN]
//
// Without -dsn the sessions go to the SQLite file sessions.db in the working
// directory. Try it with curl and a cookie jar:
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
	"net"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/recover"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/examples/internal/mainapp"
	"github.com/sqlsession/sqlsession/examples/internal/serve"
)

// snippet:start
import (
	"github.com/gofiber/fiber/v3/middleware/session"
	"github.com/sqlsession/sqlsession/fiberstore"
)

// snippet:end

func main() {
	mainapp.MainFunc(newApp, func(ctx context.Context, addr string, app *fiber.App) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		slog.Info("listening", "url", "http://"+ln.Addr().String())
		return serveApp(ctx, ln, app)
	})
}

// serveApp serves app on ln until ctx is done, then shuts it down
// gracefully and returns.
func serveApp(ctx context.Context, ln net.Listener, app *fiber.App) error {
	done := make(chan error, 1)
	go func() { done <- app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	select {
	case err := <-done: // the server failed on its own
		return err
	case <-ctx.Done():
	}
	slog.Info("shutting down")
	err := app.ShutdownWithTimeout(serve.ShutdownTimeout)
	ln.Close() // stops a server that Shutdown came too early for
	return errors.Join(err, <-done)
}

// newApp creates the session table if needed and returns the application.
// cleanup stops the Store's background cleanup; it leaves db open.
func newApp(ctx context.Context, db *sql.DB, dialect sqlsession.Dialect) (_ *fiber.App, cleanup func(), _ error) {
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

	app := fiber.New(fiber.Config{ErrorHandler: fail})
	// fiber's session middleware panics when it cannot load a session (the
	// database failed): recover answers 500 instead.
	app.Use(recover.New())
	// snippet:start
	app.Use(session.New(session.Config{
		Storage:        fiberstore.New(store), // store is a *sqlsession.Store
		CookieHTTPOnly: true,
	}))
	// snippet:end
	routes(app)
	return app, func() { store.Close() }, nil
}

// routes adds the application's handlers to app.
func routes(app *fiber.App) {
	app.Get("/", func(c fiber.Ctx) error {
		sess := session.FromContext(c)
		count, _ := sess.Get("count").(int)
		count++
		sess.Set("count", count) // saved by the middleware after the handler
		user, _ := sess.Get("user").(string)
		return c.SendString(fmt.Sprintf("count=%d user=%s\n", count, cmp.Or(user, "anonymous")))
	})
	app.Post("/login", func(c fiber.Ctx) error {
		user := c.Query("user")
		if user == "" {
			return c.Status(fiber.StatusBadRequest).SendString("the user parameter is missing\n")
		}
		sess := session.FromContext(c)
		// A new session id at login: an id planted in the browser before
		// (session fixation) is worthless afterwards.
		if err := sess.Regenerate(); err != nil {
			return err
		}
		sess.Set("user", user)
		return c.SendString("user=" + user + "\n")
	})
	app.Post("/logout", func(c fiber.Ctx) error {
		if err := session.FromContext(c).Destroy(); err != nil {
			return err
		}
		return c.SendString("logged out\n")
	})
}

// fail logs a handler's error and answers 500 without showing it to the
// client (fiber's own errors, such as 404, keep their status).
func fail(c fiber.Ctx, err error) error {
	if fe := (*fiber.Error)(nil); errors.As(err, &fe) {
		return c.Status(fe.Code).SendString(fe.Message)
	}
	slog.Error("request failed", "err", err)
	return c.SendStatus(fiber.StatusInternalServerError)
}
