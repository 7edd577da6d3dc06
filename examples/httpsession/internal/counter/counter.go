// Package counter is what the httpsession examples share: their main
// function and Store ([Main], [NewStore]), and the visit counter that the
// net/http and chi examples serve, as plain net/http handlers.
package counter

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/sqlsession/sqlsession/httpsession"
)

// Visit counts the session's visits and shows its user.
func Visit(w http.ResponseWriter, r *http.Request) {
	s := httpsession.From(r.Context())
	var count int
	user := "anonymous"
	if _, err := s.Get("count", &count); err != nil {
		fail(w, err)
		return
	}
	if _, err := s.Get("user", &user); err != nil {
		fail(w, err)
		return
	}
	count++
	if err := s.Put("count", count); err != nil {
		fail(w, err)
		return
	}
	reply(w, "count=%d user=%s\n", count, user)
}

// Login stores the user parameter in the session, under a new token.
func Login(w http.ResponseWriter, r *http.Request) {
	user := r.FormValue("user")
	if user == "" {
		http.Error(w, "the user parameter is missing", http.StatusBadRequest)
		return
	}
	s := httpsession.From(r.Context())
	// A new token at login: a token planted in the browser before
	// (session fixation) is worthless afterwards.
	if err := s.Renew(); err != nil {
		fail(w, err)
		return
	}
	if err := s.Put("user", user); err != nil {
		fail(w, err)
		return
	}
	reply(w, "user=%s\n", user)
}

// Logout destroys the session: its row is deleted and the cookie expired.
func Logout(w http.ResponseWriter, r *http.Request) {
	if err := httpsession.From(r.Context()).Destroy(); err != nil {
		fail(w, err)
		return
	}
	reply(w, "logged out\n")
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
