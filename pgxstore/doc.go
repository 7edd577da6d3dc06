// Package pgxstore keeps [sqlsession] sessions in PostgreSQL through a native
// pgx v5 pool: no database/sql, the binary protocol, and pgx's statement
// cache.
//
// # Quick start
//
// With a pool the application already has ([New] never closes it):
//
//	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
//	...
//	store, err := pgxstore.New(pool, sqlsession.Options{})
//	...
//	defer store.Close()
//	if err := store.CreateTable(ctx); err != nil { ... }
//
// Or with a pool of the Store's own, from a URL or key/value connection
// string ([sqlsession.Store.Close] closes it):
//
//	store, err := pgxstore.Open(ctx, "postgres://app@db.internal/app", sqlsession.Options{})
//
// The Store behaves exactly like one made by [sqlsession.New] with
// [sqlsession.Postgres]: same table, same SQL, same guarantees.
//
// # PgBouncer
//
// pgx's default query exec mode, [pgx.QueryExecModeCacheStatement], prepares
// named statements on the server connection. Behind PgBouncer in transaction
// pooling mode (before PgBouncer 1.21's max_prepared_statements), the next
// transaction of the same client may run on another server connection, and
// queries fail with "prepared statement ... already exists" (SQLSTATE 42P05)
// or "does not exist" (26000). Pick a mode that keeps no named statements:
//
//	postgres://app@pgbouncer:6432/app?default_query_exec_mode=cache_describe
//
// or, for a pool built from a [pgxpool.Config]:
//
//	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
//
// cache_describe keeps the binary protocol and one round trip per query; exec
// and simple_protocol work too, with text-format results. Do not use
// describe_exec behind PgBouncer: its two round trips may reach two server
// connections. The Store itself needs nothing of a session: every statement
// is one autocommitted query, every value a bind parameter, no SET, no
// temporary table. So it works in every exec mode, and the pool's mode stays
// the application's choice.
//
// # Errors
//
// A missing row is [pgx.ErrNoRows], which wraps [database/sql.ErrNoRows];
// the Store reports it as a miss (found == false, err == nil). Other errors
// come back wrapped by the Store, with pgx's [*pgconn.PgError] in the chain
// for [errors.As].
//
// [*pgconn.PgError]: https://pkg.go.dev/github.com/jackc/pgx/v5/pgconn#PgError
package pgxstore
