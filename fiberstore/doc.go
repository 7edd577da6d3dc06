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
