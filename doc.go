// Package sqlsession keeps HTTP sessions in a SQL table: PostgreSQL,
// MySQL/MariaDB, SQLite or SQL Server, through database/sql with any driver.
//
// A [Store] maps a session token to opaque data with an expiry. Frontends
// (scs, gorilla/sessions and so gin and echo, fiber) keep the cookie and the
// encoding; backends (database/sql here, pgx and GORM in their own modules)
// run the SQL. This module imports only the standard library.
//
// # Quick start
//
//	db, err := sql.Open("sqlite", "file:sessions.db?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
//	...
//	store, err := sqlsession.New(db, sqlsession.SQLite, sqlsession.Options{CleanupInterval: 10 * time.Minute})
//	...
//	defer store.Close()
//	err = store.CreateTable(ctx) // once at start-up; idempotent
//	token := sqlsession.NewToken()
//	err = store.Save(ctx, token, data, time.Now().Add(time.Hour))
//	data, found, err := store.Find(ctx, token)
//
// # Tokens
//
// The table holds the SHA-256 digest of each token, never the token, so a
// leaked copy of the table (a backup, a replica, a dump) yields no usable
// cookie. [Options.PlainTokens] turns this off for tables shared with other
// software. [NewToken] makes 256-bit tokens; [ValidToken] says which tokens a
// Store accepts. An unknown, expired or malformed token is a miss, never an
// error: errors are for database failures.
//
// # Expiry and cleanup
//
// Expiry is a Unix-millisecond column compared in SQL against the
// application's clock, so a [Store.Find] never returns an expired session even
// before cleanup runs. [Store.DeleteExpired] removes expired rows in bounded
// batches; [Options.CleanupInterval] runs it on a timer and
// [Options.CleanupEvery] every N operations. [Store.Close] stops both and
// waits for them. [Options.IdleTimeout] gives sliding expiry.
//
// # Session cache
//
// [Options.Cache] keeps recently read sessions in the Store's memory, so
// that [Store.Find] and [Store.Lookup] of a hot session skip the database.
// The table stays the source of truth: [Store.CreateTable] also installs a
// change log (the table Options.Table + "_changes") and a trigger that
// appends the key of every updated or deleted session to it in the same
// transaction, whoever writes (another instance, the command line, another
// program, SQL typed by hand). Each Store with the cache on reads that log
// every [CacheOptions.PollInterval] (5 ms) and drops what it names, and
// answers from memory only while its last read of the log began within
// [CacheOptions.MaxLag] (50 ms): a change made anywhere is served stale for
// at most that long, and a Store's own writes take effect on its own reads
// at once. When the log cannot be read, the cache is emptied and bypassed
// until it can. The trigger costs every update and delete of a session one
// more row insert, cache or not; [Store.CacheStats] gives the counters. The
// command "sqlsession create-table --cache" installs the same change log.
// docs/scale.md in the repository has the measured staleness and costs, and
// the cases where only [CacheOptions.MaxAge] bounds staleness (TRUNCATE on
// MySQL and SQL Server, writes that fire no trigger).
//
// # Other database layers
//
// [Backend] is the small seam other modules implement to build a Store on
// their own connection type with [NewWithBackend]: a pgx pool (module
// pgxstore) or a GORM handle (module gormstore). [SQLBackend] adapts a
// [*sql.DB], [*sql.Conn] or [*sql.Tx].
//
// # Testing
//
// Package [github.com/sqlsession/sqlsession/sqlsessiontest] checks the whole
// contract of a Store against a real database; every dialect and backend runs
// it.
package sqlsession
