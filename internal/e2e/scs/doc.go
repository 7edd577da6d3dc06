// Package scse2e tests [github.com/sqlsession/sqlsession/scsstore] end to
// end: scs's store contract through the adapter, and a real
// scs.SessionManager (with net/http and with chi) over HTTP, on SQLite and,
// when their DSNs are set, PostgreSQL and MySQL/MariaDB. It has no API; see
// its tests.
package scse2e
