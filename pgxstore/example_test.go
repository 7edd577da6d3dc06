package pgxstore_test

import (
	"context"
	"log"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/pgxstore"
)

var (
	ctx  context.Context
	pool *pgxpool.Pool // the application's pool
)

// A Store on the application's pool. The Store never closes the pool.
func Example_pool() {
	store, err := pgxstore.New(pool, sqlsession.Options{CleanupInterval: 10 * time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	if err := store.CreateTable(ctx); err != nil {
		log.Fatal(err)
	}
	token := sqlsession.NewToken()
	if err := store.Save(ctx, token, []byte(`{"user":"ada"}`), time.Now().Add(time.Hour)); err != nil {
		log.Fatal(err)
	}
	data, found, err := store.Find(ctx, token)
	if err != nil {
		log.Fatal(err)
	}
	log.Println(found, string(data))
}

// A Store on a pool of its own, from a connection string. Store.Close
// closes the pool.
func Example_open() {
	store, err := pgxstore.Open(ctx, os.Getenv("DATABASE_URL"), sqlsession.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	if err := store.CreateTable(ctx); err != nil {
		log.Fatal(err)
	}
}

// Behind PgBouncer in transaction pooling mode: no named prepared
// statements, binary protocol kept.
func Example_pgBouncer() {
	cfg, err := pgxpool.ParseConfig("postgres://app@pgbouncer.internal:6432/app")
	if err != nil {
		log.Fatal(err)
	}
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	store, err := pgxstore.New(pool, sqlsession.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	// Or, with a pool of the Store's own:
	//   pgxstore.Open(ctx, "postgres://app@pgbouncer.internal:6432/app?default_query_exec_mode=cache_describe", opts)
}

// Find served by a hot standby, with the primary as fallback for sessions
// not replayed there yet.
func Example_replica() {
	replica, err := pgxpool.New(ctx, os.Getenv("REPLICA_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer replica.Close()
	store, err := pgxstore.New(pool, sqlsession.Options{Replica: pgxstore.Backend(replica)})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
}
