// Package scsapp is the visit counter that the scs examples serve: the same
// handlers whichever router (net/http, chi) or database layer (database/sql,
// pgx, GORM) an example shows.
package scsapp

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/alexedwards/scs/v2"
)

// Routes adds the handlers to mux: GET / counts visits, POST /login?user=X
// renews the token and stores the user, POST /logout destroys the session.
func Routes(mux *http.ServeMux, sm *scs.SessionManager) {
	mux.HandleFunc("GET /{$}", Visit(sm))
	mux.HandleFunc("POST /login", Login(sm))
	mux.HandleFunc("POST /logout", Logout(sm))
}

// Visit counts the session's visits and shows its user.
func Visit(sm *scs.SessionManager) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		count := sm.GetInt(r.Context(), "count") + 1
		sm.Put(r.Context(), "count", count)
		reply(w, "count=%d user=%s\n", count, cmp.Or(sm.GetString(r.Context(), "user"), "anonymous"))
	}
}

// Login stores the user parameter in the session, under a new token.
func Login(sm *scs.SessionManager) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
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
	}
}

// Logout destroys the session: its row is deleted.
func Logout(sm *scs.SessionManager) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := sm.Destroy(r.Context()); err != nil {
			fail(w, err)
			return
		}
		reply(w, "logged out\n")
	}
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
