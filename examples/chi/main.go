// Command chi is a visit counter on the chi router whose sessions are
// managed by alexedwards/scs and kept in SQL by sqlsession, through scsstore.
//
//	cd examples && go run ./chi [-addr 127.0.0.1:8080] [-dsn DSN]
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
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/examples/internal/mainapp"
	"github.com/sqlsession/sqlsession/examples/internal/scsapp"
)

// snippet:start
import (
	"github.com/alexedwards/scs/v2"
	"github.com/sqlsession/sqlsession/scsstore"
)

// snippet:end

func main() { mainapp.Main(newApp) }

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
	r := chi.NewRouter()
	r.Use(sm.LoadAndSave)
	// snippet:end
	r.Get("/", scsapp.Visit(sm))
	r.Post("/login", scsapp.Login(sm))
	r.Post("/logout", scsapp.Logout(sm))
	return r, func() { store.Close() }, nil
}
