// Command nethttp is a visit counter on net/http whose sessions are managed
// by sqlsession's own httpsession and kept in SQL.
//
//	cd examples && go run ./httpsession/nethttp [-addr 127.0.0.1:8080] [-dsn DSN]
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
	"net/http"
	"time"

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
	mux := http.NewServeMux()
	handler := sessions.Handler(mux)
	// snippet:end
	mux.HandleFunc("GET /{$}", counter.Visit)
	mux.HandleFunc("POST /login", counter.Login)
	mux.HandleFunc("POST /logout", counter.Logout)
	return handler, func() { store.Close() }, nil
}
