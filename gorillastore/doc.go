// Package gorillastore keeps gorilla/sessions sessions in a SQL table through
// a [sqlsession.Store]: a [sessions.Store] whose cookie carries only a signed
// session token, never the data, so sessions have no 4 KB cookie limit and
// can be revoked on the server.
//
// gin (through the ginstore module) and echo (echo-contrib/session takes a
// [sessions.Store] as is) run on it too.
//
// # Quick start
//
//	sqlStore, err := sqlsession.New(db, sqlsession.Postgres, sqlsession.Options{})
//	if err != nil { ... }
//	if err := sqlStore.CreateTable(ctx); err != nil { ... }
//	store := gorillastore.New(sqlStore, hashKey) // 32 or 64 random bytes
//
//	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
//		session, err := store.Get(r, "session")
//		if err != nil { ... } // a database failure
//		session.Values["visits"] = visits(session) + 1
//		if err := session.Save(r, w); err != nil { ... }
//	})
//
// # Cookies and tokens
//
// Each new session gets a token from [sqlsession.NewToken] (256 random
// bits). The cookie holds that token signed, and with a block key encrypted,
// by [securecookie]; the table holds its SHA-256 digest (the sqlsession
// default), so neither a copy of the table nor a forged cookie names a live
// session. A missing, tampered, unknown or expired cookie gives a new empty
// session (IsNew true) and no error; errors report database failures only.
//
// A session's ID is its token. It is a secret like a password: do not show
// it, log it or put it in a URL.
//
// # Lifetime
//
// [Store.Options].MaxAge, or the session's own Options.MaxAge, sets both the
// cookie's Max-Age and the expiry of the row: a positive MaxAge keeps the
// session that many seconds after its last Save (less up to a tenth, see
// Writes); 0 gives a browser-session cookie and a row kept for the sqlsession
// Store's DefaultLifetime; a negative MaxAge deletes the row and the cookie
// on Save (log-out). Expired rows are removed by the sqlsession Store's
// cleanup ([sqlsession.Store.DeleteExpired]).
//
// # Writes
//
// Applications call Save on every request, and most requests change
// nothing. Save writes only what changed, deciding with sqlsession's one
// write rule, [sqlsession.Plan], as every sqlsession frontend does: write
// the data, only move the expiry, or do nothing. The Store remembers, for each
// session it loaded or saved, the SHA-256 of the stored data, the stored
// expiry and the row's version ([sqlsession.Store.Lookup] returns them).
// When the values encode to the same bytes and the stored expiry is within
// a tenth of the lifetime ([Store.TouchFraction]) of the one a write would
// give, Save does not touch the database and sets no cookie: the browser
// keeps the cookie of the write that stored those values, whose Max-Age
// and signed timestamp match the stored expiry. When the expiry is due,
// Save moves it with [sqlsession.Store.SaveIf], which writes the same
// values only if the row is still the version that was loaded, and renews
// the cookie. A session read and saved on every request is so written at
// most once per tenth of its lifetime.
//
// A request that only read a session therefore never sends its token back.
// That matters when requests of one browser overlap: a slow page that
// loaded the session before [Store.Regenerate] renewed its token, or before
// a log-out, and saves after it would otherwise hand the browser the old
// token, deleted meanwhile, and sign the user out (or back into the session
// just left). With SaveIf, a due expiry is not moved on a session that was
// deleted, renewed or changed since it was loaded, and no cookie is sent.
//
// A request that changed the session after another request deleted its
// token (a log-out, a revoke, a renewal) cannot bring it back either: for
// [sqlsession.Options.DeleteGrace] after a delete, the sqlsession Store
// refuses the token ([sqlsession.ErrDeleted]). Save then writes nothing,
// sends no cookie (neither the old token, nor an expired cookie that would
// erase the renewed one) and returns nil, and the session becomes new and
// empty. A Store with a negative DeleteGrace keeps no such memory: a late
// write then re-creates the session under its old token.
//
// What is remembered lives as long as the session object: the Store holds
// weak pointers to its sessions and drops an entry when the garbage
// collector reclaims the session, so its memory follows the requests in
// flight, with no limit to tune and nothing to clean up.
//
// # Log-in
//
// Call [Store.Regenerate] at log-in and whenever privileges change: it moves
// the session to a new token and deletes the old one, so a token planted in
// a browser before log-in (session fixation) is worthless afterwards.
//
// # Encoding
//
// Values are encoded with encoding/gob by default ([GobSerializer]); register
// your own types with [gob.Register]. [JSONSerializer] writes a JSON object
// instead, for string keys only. Both encode equal values to equal bytes
// (see each for the details), which is what lets Save skip unchanged
// sessions; a map stored inside a gob value is written in random order, so
// a session holding one is written on every Save. [Value] reads one value from stored data
// without a request, for code that scans the table.
//
// # Concurrency
//
// Requests of one client that run at the same time each load the session,
// and each Save replaces the stored values as a whole: the last Save wins,
// as with every gorilla store.
package gorillastore
