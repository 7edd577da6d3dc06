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
// empty key or value stores nothing. Keys are sqlsession tokens: a key that
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
// ([sqlsession.Store.Touch]) when only the expiry is due. An unchanged
// session is so written at most once per tenth of its idle timeout, and
// lives between nine tenths of the timeout and the timeout after its last
// use.
//
// "The same" is decided on the decoded session, not the bytes: fiber
// encodes its session map with encoding/gob, which writes map entries in
// random order, so an unchanged session of two keys or more encodes to new
// bytes on almost every request. The digest is taken over the decoded map
// with its entries sorted, at every depth. Data that does not decode as a
// fiber session (another middleware's, or a type this process has not
// registered) is compared byte for byte.
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
