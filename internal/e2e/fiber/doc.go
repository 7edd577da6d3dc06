// Package fibere2e tests [github.com/sqlsession/sqlsession/fiberstore] end to
// end: fiber's Storage contract through the adapter, and fiber v3's and v2's
// session middleware over real HTTP, on SQLite and, when their DSNs are set,
// PostgreSQL and MySQL/MariaDB. It has no API; see its tests.
package fibere2e
