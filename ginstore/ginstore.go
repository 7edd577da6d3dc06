package ginstore

import (
	"github.com/gin-contrib/sessions"
	"github.com/sqlsession/sqlsession/gorillastore"
)

var _ sessions.Store = Store{}

// Store is a gin-contrib/sessions [sessions.Store]: a [gorillastore.Store]
// with the Options method that gin needs. Get, New, Save, Regenerate and
// MaxAge are the embedded Store's; its Options field is Store.Store.Options.
//
// A Store is a small value that shares the embedded *gorillastore.Store:
// copies act on the same sessions and settings. It is safe for concurrent
// use once configured. The zero Store has no gorillastore.Store and must not
// be used.
type Store struct {
	*gorillastore.Store
}

// New returns s as a gin-contrib/sessions Store, for
// sessions.Sessions(name, store).
func New(s *gorillastore.Store) Store {
	return Store{s}
}

// Options replaces the cookie settings of new sessions, as gin-contrib's own
// stores do: every field comes from opts, so give HttpOnly, Secure and
// SameSite again if you want them. MaxAge also sets the lifetime of the rows
// and the signature age limit (see [gorillastore.Store.MaxAge]). Call it
// before serving requests.
func (s Store) Options(opts sessions.Options) {
	s.Store.Options = opts.ToGorillaOptions()
	s.Store.MaxAge(opts.MaxAge)
}
