// Package httpsession is sqlsession's session manager for net/http: middleware
// that loads each request's session from a [sqlsession.Store] and saves it
// before the response goes out, without losing concurrent updates.
//
// It works with every router and framework that speaks net/http: the
// standard library's ServeMux, chi, gorilla/mux, echo (through
// echo.WrapMiddleware) and gin (wrap the engine). It imports only the
// standard library and sqlsession.
//
// # Quick start
//
//	store, err := sqlsession.New(db, sqlsession.Postgres, sqlsession.Options{
//		Owner: httpsession.OwnerKey("user"), // optional: ListByOwner, DeleteByOwner
//	})
//	...
//	m, err := httpsession.New(store, httpsession.Config{
//		IdleTimeout: 30 * time.Minute, // optional; Lifetime defaults to 24h
//	})
//	...
//	http.ListenAndServe(addr, m.Handler(mux))
//
// In a handler:
//
//	s := httpsession.From(r.Context())
//	found, err := s.Get("user", &user) // JSON-decodes into your type
//	err = s.Put("user", user)          // JSON-encodes now
//	s.Delete("cart")
//	err = s.Renew()                    // at log-in: new token, same data
//	err = s.Destroy()                  // at log-out
//
// # What a request writes
//
// [Manager.Handler] reads the session once per request (one SELECT through
// [sqlsession.Store.Lookup], or a share of one with
// [sqlsession.Options.BatchReads], which answers the reads of concurrent
// requests together) and decodes nothing until a handler calls a method of
// the [Session]. At commit it writes:
//
//   - nothing for a request that only read, except that with
//     [Config.IdleTimeout] the expiry moves at most once per tenth of it
//     (one UPDATE of the expiry);
//   - nothing, and no cookie, for a new visitor whose session stayed
//     empty, so that bots do not fill the table;
//   - for a changed session, only the keys that this request put or
//     deleted: the write is a compare-and-swap on the row's version
//     ([sqlsession.Store.SaveIf]); when another request of the same
//     session saved in between, the Manager reads the row again, applies
//     this request's keys to it and tries again ([Config.Retries]). Fifty
//     concurrent requests that each set their own key keep all fifty; of
//     two that set the same key, the later commit wins.
//
// A session that was destroyed ([Session.Destroy]), renewed
// ([Session.Renew]), revoked ([sqlsession.Store.DeleteByOwner]) or that
// expired stays gone: requests that loaded it earlier and commit later drop
// their changes rather than bring it back (the Store keeps a tombstone of
// deleted tokens for [sqlsession.Options.DeleteGrace]).
//
// # Commit before headers
//
// The session is committed before the response's headers are written: on
// the handler's first WriteHeader, Write, ReadFrom, Flush or Hijack, or when
// it returns without writing. So the cookie goes out with the response, and
// when the Store fails the client gets [Config.ErrorHandler]'s response
// (default: 500) instead of the handler's: a failure never passes for
// success or for a logout. Change the session before writing the response;
// afterwards Put returns [ErrCommitted]. A handler that panics commits
// nothing. The ResponseWriter implements Unwrap, so
// [http.NewResponseController] works (deadlines, flushing, hijacking), and
// streaming responses work.
//
// # Data
//
// A session is a JSON object of keys. [Session.Put] encodes with
// [encoding/json] at once, so an unencodable value is an error where it is
// put; [Session.Get] decodes into the caller's type. A row is stored as
//
//	{"_httpsession":{"created":1767225600},"cart":[3,4],"user":"ada"}
//
// with the Manager's own data first under [MetaKey] (the session's start,
// from which [Config.Lifetime] counts, and the "remember me" choice of
// [Session.SetPersistent]) and the keys in sorted order, so that SQL can
// read it (PostgreSQL: convert_from(data, 'UTF8')::jsonb->>'user', unless
// [sqlsession.Options.Keys] encrypts it). Decoding is bounded by
// [Config.MaxDataSize] and never panics; a row that does not decode, such
// as one of another session manager, is logged, treated as missing and
// deleted.
//
// # Cookie
//
// The cookie holds only the session's token: 256 random bits, of which the
// table keeps only a SHA-256 digest by default. By default it is HttpOnly, Secure,
// SameSite=Lax, Path=/, and persistent until the session's Lifetime ends;
// [Config] sets its name, Domain, Path and SameSite, the "__Host-" prefix,
// and browser-session cookies. A Set-Cookie header is sent only when the
// token changes (a new session, Renew, Destroy) or [Session.SetPersistent]
// changes the cookie's kind.
//
// # Sharing sessions with Node.js
//
// [Config.Cookie] chooses how the token travels: [ExpressCookie] speaks
// express-session's signed "connect.sid" cookie, [KoaCookie] Koa's
// "koa.sid" with its "koa.sid.sig" signature. On a Store made from a
// nodesession preset (the table of the Node.js app's session store), a Go
// service and the Node.js app then serve the same sessions side by side:
// the Manager keeps each session as the Node.js middleware does (its
// "cookie" object, its expiry rules, the keys a request did not change
// byte for byte), and sends the cookie again with every write, as the
// middleware does. See the repository's docs/migrating-from-node.md.
//
// # Expiry
//
// A session ends [Config.Lifetime] (default 24h) after it began or was last
// renewed, and, with [Config.IdleTimeout], after that long without a
// request. The Manager alone moves expiries: leave the Store's own
// [sqlsession.Options.IdleTimeout] at zero.
//
// # Other frameworks
//
// [Manager.Load] and [Manager.Commit] are the two halves of Handler, for
// frameworks that do not hand an [http.ResponseWriter] around:
// [Manager.Token] reads the token from a request's cookies, [NewContext]
// puts the session where [From] finds it, and [Manager.SetCookie] writes the
// cookie that Commit returns (with the default codec, the package's
// [SetCookie] does the same).
package httpsession
