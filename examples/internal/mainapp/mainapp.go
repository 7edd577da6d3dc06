// Package mainapp is the main function shared by the examples that run on
// database/sql.
package mainapp

import (
	"context"
	"database/sql"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/examples/internal/cookiekey"
	"github.com/sqlsession/sqlsession/examples/internal/database"
	"github.com/sqlsession/sqlsession/examples/internal/serve"
)

// Main reads the -addr and -dsn flags, opens the database, and serves the
// handler that newApp returns until an interrupt or SIGTERM, then runs
// newApp's cleanup. It exits with status 1 on an error.
func Main(newApp func(ctx context.Context, db *sql.DB, dialect sqlsession.Dialect) (_ http.Handler, cleanup func(), _ error)) {
	MainFunc(newApp, serve.HTTP)
}

// MainFunc is Main for an application that is not an http.Handler (fiber's
// App): serveApp serves it on addr until ctx is done.
func MainFunc[App any](newApp func(ctx context.Context, db *sql.DB, dialect sqlsession.Dialect) (_ App, cleanup func(), _ error), serveApp func(ctx context.Context, addr string, app App) error) {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	dsn := flag.String("dsn", "", database.Usage)
	flag.Parse()
	if err := run(*addr, *dsn, newApp, serveApp); err != nil {
		slog.Error(err.Error())
		os.Exit(1)
	}
}

// MainSigned is Main for the examples that sign their cookies: newApp also
// gets the signing key of [cookiekey.FromEnv].
func MainSigned(newApp func(ctx context.Context, db *sql.DB, dialect sqlsession.Dialect, hashKey []byte) (_ http.Handler, cleanup func(), _ error)) {
	Main(func(ctx context.Context, db *sql.DB, dialect sqlsession.Dialect) (http.Handler, func(), error) {
		hashKey, err := cookiekey.FromEnv()
		if err != nil {
			return nil, nil, err
		}
		return newApp(ctx, db, dialect, hashKey)
	})
}

// run serves the application until an interrupt or SIGTERM.
func run[App any](addr, dsn string, newApp func(context.Context, *sql.DB, sqlsession.Dialect) (App, func(), error), serveApp func(context.Context, string, App) error) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	db, dialect, err := database.Open(dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	app, cleanup, err := newApp(ctx, db, dialect)
	if err != nil {
		return err
	}
	defer cleanup()
	return serveApp(ctx, addr, app)
}
