// Package fiberstore keeps the data of fiber's session middleware (and any
// other user of fiber's Storage interface) in a SQL table, through a
// [sqlsession.Store].
//
// # Quick start
//
//	store, err := sqlsession.New(db, sqlsession.Postgres, sqlsession.Options{})
//	if err != nil {
//		return err
//	}
//	if err := store.CreateTable(ctx); err != nil {
//		return err
//	}
//	app := fiber.New()
//	app.Use(session.New(session.Config{Storage: fiberstore.New(store)}))
//
// # The Storage contract
//
// [Storage] implements fiber v3's [fiber.Storage], including its
// ...WithContext methods; the methods without a context use
// [context.Background]. fiber v2's Storage interface is the subset without
// the ...WithContext methods, so fiber v2's session middleware takes a
// Storage as well.
//
// It follows fiber's conventions where they differ from sqlsession's: a
// missing key gives nil and a nil error, an expiry of 0 means none, and an
// empty key or value stores nothing. A negative expiry, which fiber leaves
// open and gofiber/storage's PostgreSQL, SQLite and Redis drivers take as
// none, gives the value the Store's [sqlsession.Options.DefaultLifetime],
// as sqlsession does for a session saved without an expiry. Keys are sqlsession tokens: a key that
// [sqlsession.ValidToken] rejects reads as missing and cannot be set (the
// error wraps [sqlsession.ErrInvalidToken]), so a forged cookie never
// reaches the database.
//
// # Writes
//
// fiber's session middleware sets every session it loaded at the end of
// each request, changed or not, to slide its idle timeout. A Storage keeps
// those Sets from writing: Get reads with [sqlsession.Store.Lookup] and
// remembers a digest of the value and its stored expiry; the next Set of
// the same key does not write when the value is the same and the stored
// expiry is within a tenth of exp of now+exp, and moves the expiry alone
// ([sqlsession.Store.Touch]) when only the expiry is due: sqlsession's one
// write rule, [sqlsession.Plan], with a slack of a tenth of exp. An
// unchanged session is so written at most once per tenth of its idle
// timeout, and lives between nine tenths of the timeout and the timeout
// after its last use.
//
// A deleted key stays deleted for the Store's
// [sqlsession.Options.DeleteGrace]: a Set of it stores nothing and returns
// nil, so a request that loaded a session before its log-out or its id
// renewal cannot bring it back. Middleware that deletes keys and sets them
// again (cache, limiter) needs a Storage on a Store of its own with a
// negative DeleteGrace.
//
// "The same" is decided on the decoded session, not the bytes: fiber
// encodes its session map with encoding/gob, which writes map entries in
// random order, so an unchanged session of two keys or more encodes to new
// bytes on almost every request. The digest is taken over the decoded map
// with its entries sorted, at every depth. Each distinct stored value is
// decoded once, not on every Get: the digests of up to 10,000 of them are
// kept by the SHA-256 of their bytes (about 1 MB). Values that are not
// sessions of fiber's middleware (see below) are compared byte for byte,
// without decoding.
//
// # Sessions that do not decode
//
// fiber's session middleware fails every request whose session it cannot
// decode (fiber v3.1 panics in its middleware, which fiber's recover
// middleware turns into a 500), and since the row stays, so does every
// later request with that cookie until the row expires. A session stops
// decoding when a type it holds is no longer registered with gob after a
// deploy, or when its row is corrupt or crafted.
//
// Get therefore checks the sessions it returns, as the middleware will read
// them. It recognises a session of fiber's middleware (v3 or v2) by the
// first gob message of its data, the definition of the session map's type,
// without decoding anything; limiter, CSRF and other values do not open
// with that message and are returned untouched. It decodes a session as
// fiber does, into a map that already exists, so that memory follows the
// bytes of the row rather than the sizes the row claims: Get costs what the
// middleware's own decoding of that row costs, and a 100-byte row claiming
// millions of entries costs kilobytes, not hundreds of megabytes. A session
// that does not decode is logged to the Store's
// [sqlsession.Options.Logger] (by its public id from
// [sqlsession.Store.SessionID]), its row deleted, and Get reports it
// missing: the middleware starts a fresh session. Set [Storage.Opaque] to
// turn this off, for a process that uses the Storage without the sessions'
// types registered.
//
// The memory behind this is bounded: a Set consumes what the Get before it
// left, Delete and Reset drop it, and at most 10,000 keys are held (about
// 1 MB), an arbitrary one giving way to a new one; a key forgotten that way
// is simply written on its next Set.
//
// # Ownership
//
// [Storage.Close] closes the Store, stopping its background cleanup, and
// leaves the *sql.DB alone: the pool stays the caller's to close.
//
// # Per-user features
//
// The table holds session data as fiber's middleware encoded it. [Value]
// reads one value, such as a user id, back out of it; as
// [sqlsession.Options.Owner] it lets the Store list and revoke a user's
// sessions ("sign out everywhere").
package fiberstore
