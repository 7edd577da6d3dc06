// Command nethttp is a visit counter on net/http whose sessions are managed
// by alexedwards/scs and kept in SQL by sqlsession, through scsstore.
//
//	cd examples && go run ./nethttp [-addr 127.0.0.1:8080] [-dsn DSN]
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
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/examples/internal/database"
	"github.com/sqlsession/sqlsession/examples/internal/serve"
)

// snippet:start
import (
	"github.com/alexedwards/scs/v2"
	"github.com/sqlsession/sqlsession/scsstore"
)

// snippet:end

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	dsn := flag.String("dsn", "", database.Usage)
	flag.Parse()
	if err := run(*addr, *dsn); err != nil {
		slog.Error(err.Error())
		os.Exit(1)
	}
}

// run serves the application until an interrupt or SIGTERM.
func run(addr, dsn string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	db, dialect, err := database.Open(dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	handler, cleanup, err := newApp(ctx, db, dialect)
	if err != nil {
		return err
	}
	defer cleanup()
	return serve.HTTP(ctx, addr, handler)
}

// newApp creates the session table if needed and returns the application.
// cleanup stops the Store's background cleanup; it leaves db open.
func newApp(ctx context.Context, db *sql.DB, dialect sqlsession.Dialect) (_ http.Handler, cleanup func(), _ error) {
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
	sm := scs.New()
	sm.Store = scsstore.New(store) // store is a *sqlsession.Store
	mux := http.NewServeMux()
	handler := sm.LoadAndSave(mux)
	// snippet:end
	routes(mux, sm)
	return handler, func() { store.Close() }, nil
}

// routes adds the application's handlers to mux.
func routes(mux *http.ServeMux, sm *scs.SessionManager) {
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		count := sm.GetInt(r.Context(), "count") + 1
		sm.Put(r.Context(), "count", count)
		reply(w, "count=%d user=%s\n", count, cmp.Or(sm.GetString(r.Context(), "user"), "anonymous"))
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		user := r.FormValue("user")
		if user == "" {
			http.Error(w, "the user parameter is missing", http.StatusBadRequest)
			return
		}
		// A new token at login: a token planted in the browser before
		// (session fixation) is worthless afterwards.
		if err := sm.RenewToken(r.Context()); err != nil {
			fail(w, err)
			return
		}
		sm.Put(r.Context(), "user", user)
		reply(w, "user=%s\n", user)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := sm.Destroy(r.Context()); err != nil {
			fail(w, err)
			return
		}
		reply(w, "logged out\n")
	})
}

// reply writes a plain-text response.
func reply(w http.ResponseWriter, format string, args ...any) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, format, args...)
}

// fail logs err and answers 500 without showing it to the client.
func fail(w http.ResponseWriter, err error) {
	slog.Error("request failed", "err", err)
	http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
}
