// Package demo is the web application of "sqlsession demo": sessions of
// [github.com/sqlsession/sqlsession/httpsession] kept in a SQL table by
// sqlsession, with a "your devices" page.
//
// A visitor signs in under any name (there is no password: it is a demo),
// counts with a button, and on "Your devices" sees every live session of
// that name, with the browser, when it signed in and when it was last seen.
// It can revoke one device or all the others ("Log out" signs out this one);
// a revoked device's next page is the sign-in page, with a notice saying
// why. The pages fit a phone's screen. The pieces of sqlsession it shows:
//
//   - Options.Owner = httpsession.OwnerKey("user"), the indexed owner
//     column behind Store.ListByOwner, Store.DeleteByID and
//     Store.DeleteOthers;
//   - Options.Timestamps (signed in, last seen) and an extra column,
//     user_agent, filled from the session on every save; "last seen" moves
//     when the session is written, and at least once per tenth of its idle
//     timeout (seven days), since reading a page writes nothing;
//   - Store.SessionID to mark the current device.
//
// # Quick start
//
//	app, err := demo.New(db, sqlsession.SQLite, demo.Options{})
//	if err != nil {
//		return err
//	}
//	defer app.Close()
//	if err := app.CreateTable(ctx); err != nil {
//		return err
//	}
//	http.ListenAndServe("127.0.0.1:8080", app)
//
// # Security
//
// State changes are POST only and pass through [http.CrossOriginProtection],
// which refuses cross-origin form posts. Signing in renews the session token
// (no session fixation), and logging out or revoking a device is final:
// no request in flight brings the session back. The cookie is HttpOnly and
// SameSite=Lax. It is not
// Secure, because the demo serves plain HTTP on localhost and a Secure
// cookie is meant for HTTPS only; set [Options.Secure] when it is served
// over HTTPS, directly or behind a proxy.
package demo
