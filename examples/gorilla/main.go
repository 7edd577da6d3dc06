// Command gorilla is a visit counter on net/http with gorilla/sessions,
// whose sessions are kept in SQL by sqlsession through gorillastore: the
// cookie holds only a signed token.
//
//	cd examples && go run ./gorilla [-addr 127.0.0.1:8080] [-dsn DSN]
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

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/examples/internal/mainapp"
)

// snippet:start
import "github.com/sqlsession/sqlsession/gorillastore"

// snippet:end

// cookieName is the name of the session and of its cookie.
const cookieName = "session"

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
	sessionStore := gorillastore.New(store, hashKey) // a gorilla sessions.Store
	// snippet:end
	return routes(sessionStore), func() { store.Close() }, nil
}

// routes returns the application's handlers.
func routes(sessionStore *gorillastore.Store) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		session, err := sessionStore.Get(r, cookieName)
		if err != nil { // the database failed: a bad cookie is a new session
			fail(w, err)
			return
		}
		count, _ := session.Values["count"].(int)
		count++
		session.Values["count"] = count
		if err := session.Save(r, w); err != nil {
			fail(w, err)
			return
		}
		user, _ := session.Values["user"].(string)
		reply(w, "count=%d user=%s\n", count, cmp.Or(user, "anonymous"))
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		user := r.FormValue("user")
		if user == "" {
			http.Error(w, "the user parameter is missing", http.StatusBadRequest)
			return
		}
		session, err := sessionStore.Get(r, cookieName)
		if err != nil {
			fail(w, err)
			return
		}
		session.Values["user"] = user
		// Regenerate saves the session under a new token and deletes the
		// old one: a token planted in the browser before (session
		// fixation) is worthless afterwards.
		if err := sessionStore.Regenerate(r, w, session); err != nil {
			fail(w, err)
			return
		}
		reply(w, "user=%s\n", user)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		session, err := sessionStore.Get(r, cookieName)
		if err != nil {
			fail(w, err)
			return
		}
		session.Options.MaxAge = -1 // Save deletes the row and the cookie
		if err := session.Save(r, w); err != nil {
			fail(w, err)
			return
		}
		reply(w, "logged out\n")
	})
	return mux
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
