// Command pgx is a visit counter on net/http with alexedwards/scs whose
// sessions are kept in PostgreSQL through a native pgx pool, by pgxstore: no
// database/sql in between.
//
//	cd examples && go run ./pgx -dsn postgres://user:pass@127.0.0.1:5432/db [-addr 127.0.0.1:8080]
//
// -dsn defaults to $DATABASE_URL. Try it with curl and a cookie jar:
//
//	curl -b jar -c jar http://127.0.0.1:8080/                        # count=1 user=anonymous
//	curl -b jar -c jar -X POST 'http://127.0.0.1:8080/login?user=ada' # a new token, same data
//	curl -b jar -c jar http://127.0.0.1:8080/                        # count=2 user=ada
//	curl -b jar -c jar -X POST http://127.0.0.1:8080/logout
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/examples/internal/scsapp"
	"github.com/sqlsession/sqlsession/examples/internal/serve"
	"github.com/sqlsession/sqlsession/scsstore"
)

// snippet:start
import "github.com/sqlsession/sqlsession/pgxstore"

// snippet:end

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	dsn := flag.String("dsn", os.Getenv("DATABASE_URL"), "PostgreSQL URL (postgres://user:pass@127.0.0.1:5432/db) or key/value connection string")
	flag.Parse()
	if err := run(*addr, *dsn); err != nil {
		slog.Error(err.Error())
		os.Exit(1)
	}
}

// run serves the application until an interrupt or SIGTERM.
func run(addr, dsn string) error {
	if dsn == "" {
		return errors.New("pgx: no database: give -dsn postgres://... or set DATABASE_URL")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return err
	}
	defer pool.Close()
	handler, cleanup, err := newApp(ctx, pool)
	if err != nil {
		return err
	}
	defer cleanup()
	return serve.HTTP(ctx, addr, handler)
}

// newApp creates the session table if needed and returns the application.
// cleanup stops the Store's background cleanup; it leaves pool open.
func newApp(ctx context.Context, pool *pgxpool.Pool) (_ http.Handler, cleanup func(), _ error) {
	// snippet:start
	store, err := pgxstore.New(pool, sqlsession.Options{ // pool is a *pgxpool.Pool
		CleanupInterval: 10 * time.Minute, // delete expired sessions in the background
	})
	// snippet:end
	if err != nil {
		return nil, nil, err
	}
	if err := store.CreateTable(ctx); err != nil {
		store.Close()
		return nil, nil, fmt.Errorf("creating the session table: %w", err)
	}

	sm := scs.New()
	sm.Store = scsstore.New(store)
	mux := http.NewServeMux()
	scsapp.Routes(mux, sm)
	return sm.LoadAndSave(mux), func() { store.Close() }, nil
}
