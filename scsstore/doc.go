// Package scsstore keeps the sessions of [github.com/alexedwards/scs/v2] in
// a SQL table through a [sqlsession.Store].
//
// [New] wraps a Store in an adapter that implements scs's [scs.Store],
// [scs.CtxStore], [scs.IterableStore] and [scs.IterableCtxStore]. scs keeps
// the cookie and encodes the session values; sqlsession keeps the rows.
//
// # Quick start
//
//	store, err := sqlsession.New(db, sqlsession.Postgres, sqlsession.Options{
//		CleanupInterval: 10 * time.Minute,
//	})
//	if err != nil {
//		return err
//	}
//	defer store.Close()
//	if err := store.CreateTable(ctx); err != nil {
//		return err
//	}
//
//	sm := scs.New()
//	sm.Store = scsstore.New(store)
//	http.ListenAndServe(":4000", sm.LoadAndSave(mux))
//
// # Tokens
//
// sqlsession stores the SHA-256 digest of each token by default, so a copy of
// the table holds no usable token. Leave scs's
// [scs.SessionManager.HashTokenInStore] off: it would hash the tokens a second
// time, and it breaks [scs.SessionManager.Iterate], which hands the keys of
// [Store.AllCtx] back to the store unchanged.
//
// With hashed tokens [Store.AllCtx] cannot return the tokens themselves. Its
// keys are handles that [Store.FindCtx], [Store.CommitCtx] and
// [Store.DeleteCtx] of the same process accept in place of the token, so
// [scs.SessionManager.Iterate] reads, changes ([scs.SessionManager.Put] then
// [scs.SessionManager.Commit]) and destroys sessions as it does with any
// other store.
//
// # Expired sessions
//
// scs's own stores start a cleanup goroutine of their own. This adapter does
// not: set [sqlsession.Options.CleanupInterval] (or CleanupEvery) on the
// Store, or call [sqlsession.Store.DeleteExpired] from a job of yours.
// Expired rows are never found or listed, whether or not they are deleted
// yet. Closing the [sqlsession.Store] stops its cleanup.
//
// # Sliding expiry
//
// To end sessions after a time without use, set
// [sqlsession.Options.IdleTimeout] on the Store and leave scs's
// [scs.SessionManager.IdleTimeout] at zero:
//
//	store, err := sqlsession.New(db, sqlsession.Postgres, sqlsession.Options{
//		IdleTimeout: 30 * time.Minute,
//	})
//	...
//	sm := scs.New()
//	sm.Lifetime = 24 * time.Hour // the absolute limit, from sign-in
//	sm.Store = scsstore.New(store)
//
// scs's IdleTimeout marks every session it loads as modified, so scs
// commits, writing the whole session, on every request. sqlsession's moves
// the expiry only when less than nine tenths of the window is left: a
// session that requests only read costs at most one write per tenth of the
// window, and ends between nine tenths of the window and the window after
// its last use. To make that work with scs, [Store.CommitCtx] stores a
// session until at most now plus IdleTimeout (scs passes its Lifetime
// deadline), and, since the expiry then moves without scs, [Store.FindCtx]
// keeps the Lifetime an absolute limit: it reads the deadline that scs
// keeps in the session data and deletes a session past it. With a Codec
// other than [scs.GobCodec], set [Store.Codec] to it.
//
// With scs's default persistent cookie, the cookie's expiry is the
// deadline: the browser keeps it for the whole Lifetime, while the server
// ends the session after IdleTimeout without use.
//
// # Owners
//
// [Value] and [ValueWith] read one value out of scs's encoded session data,
// such as the user ID that a login handler put there. As
// [sqlsession.Options.Owner] they give every session its owner, for "log out
// everywhere" with [sqlsession.Store.DeleteByOwner]:
//
//	store, err := sqlsession.New(db, sqlsession.Postgres, sqlsession.Options{
//		Owner: scsstore.Value("userID"), // sm.Put(ctx, "userID", id) at login
//	})
package scsstore
