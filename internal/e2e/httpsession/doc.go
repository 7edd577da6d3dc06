// Package httpsessione2e tests [github.com/sqlsession/sqlsession/httpsession]
// end to end: a Manager on a real Store, over real HTTP with cookie jars, on
// SQLite and, when their DSNs are set, PostgreSQL and MySQL/MariaDB. It has
// no API; see its tests.
package httpsessione2e
