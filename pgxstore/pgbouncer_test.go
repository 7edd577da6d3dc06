package pgxstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/internal/testenv"
	"github.com/sqlsession/sqlsession/pgxstore"
	"github.com/sqlsession/sqlsession/sqlsessiontest"
)

// pgBouncerDSN names the variable holding the DSN of a PgBouncer in
// transaction pooling mode, in front of the PostgreSQL server of
// SQLSESSION_TEST_POSTGRES_DSN; testdata/pgbouncer.sh starts one and prints it.
const pgBouncerDSN = "SQLSESSION_TEST_PGBOUNCER_DSN"

// TestPgBouncer runs the conformance kit through PgBouncer in transaction
// pooling mode, with the setting that the package documentation recommends:
// default_query_exec_mode=cache_describe.
func TestPgBouncer(t *testing.T) {
	dsn := testenv.DSN(t, pgBouncerDSN)
	cfg, err := pgxpool.ParseConfig(withParam(t, dsn, "default_query_exec_mode", "cache_describe"))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.ConnConfig.DefaultQueryExecMode; got != pgx.QueryExecModeCacheDescribe {
		t.Fatalf("default_query_exec_mode=cache_describe gives mode %v", got)
	}
	pool, schema := testPool(t, pgBouncerDSN, func(c *pgxpool.Config) {
		c.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
	})
	sqlsessiontest.Run(t, factory(pool, schema))
}

// TestPgBouncerDefaultModeFails shows why the setting is needed: with pgx's
// default mode, a statement that one client prepared on a server connection
// is prepared again by the next client that gets that connection, and
// PostgreSQL answers 42P05. PgBouncer hands out the most recently used server
// connection first, so two clients taking turns meet on one.
func TestPgBouncerDefaultModeFails(t *testing.T) {
	dsn := testenv.DSN(t, pgBouncerDSN)
	ctx := testCtx(t)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DefaultQueryExecMode != pgx.QueryExecModeCacheStatement {
		t.Fatalf("$%s sets default_query_exec_mode: this test needs pgx's default", pgBouncerDSN)
	}
	var conns [2]*pgx.Conn
	for i := range conns {
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			testenv.Unavailable(t, "PgBouncer of %s unreachable: %v", pgBouncerDSN, err)
		}
		t.Cleanup(func() { c.Close(context.Background()) })
		conns[i] = c
	}
	query := "SELECT $1::int8 /* " + testenv.Name("pgxstore") + " */"
	for i := 0; i < 10; i++ {
		var n int64
		err := conns[i%2].QueryRow(ctx, query, int64(i)).Scan(&n)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42P05" {
			t.Logf("client %d, query %d: %v", i%2, i, err)
			return
		}
		if err != nil {
			t.Fatalf("query %d = %v, want nil or SQLSTATE 42P05", i, err)
		}
	}
	t.Fatal("pgx's default mode worked through PgBouncer: is it in transaction pooling mode, or does it keep prepared statements (1.21+)?")
}

// TestPinKeepsOneServerSession takes and releases an advisory lock on a
// pinned connection, as background cleanup does, while another client runs a
// transaction in between. Through PgBouncer in transaction pooling mode the
// unlock reaches the locking session only if the pin holds a transaction;
// otherwise it lands on another server connection, and the lock stays held.
func TestPinKeepsOneServerSession(t *testing.T) {
	for _, env := range []string{testenv.PostgresDSN, pgBouncerDSN} {
		t.Run(env, func(t *testing.T) {
			pool, _ := testPool(t, env, func(c *pgxpool.Config) {
				c.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
			})
			direct, _ := testPool(t, testenv.PostgresDSN, nil)
			ctx := testCtx(t)
			pinner, ok := pgxstore.Backend(pool).(sqlsession.Pinner)
			if !ok {
				t.Fatal("pgxstore.Backend does not implement sqlsession.Pinner")
			}
			name := testenv.Name("lock")
			for i := 0; i < 5; i++ {
				lockTurn(t, pinner, pool, i, name)
				var free bool
				if err := direct.QueryRow(ctx, "SELECT pg_try_advisory_lock(hashtext($1))", name).Scan(&free); err != nil || !free {
					t.Fatalf("after release #%d, the lock is free = %v, %v, want true, nil", i, free, err)
				}
				if _, err := direct.Exec(ctx, "SELECT pg_advisory_unlock(hashtext($1))", name); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// lockTurn takes the lock on a pinned connection, runs a transaction on
// another connection of pool, and releases the lock.
func lockTurn(t *testing.T, pinner sqlsession.Pinner, pool *pgxpool.Pool, i int, name string) {
	t.Helper()
	ctx := testCtx(t)
	b, release, err := pinner.Pin(ctx)
	if err != nil {
		t.Fatalf("Pin() = %v", err)
	}
	defer release()
	var got int64
	if err := b.QueryRow(ctx, "SELECT CASE WHEN pg_try_advisory_lock(hashtext($1)) THEN 1 ELSE 0 END", name).Scan(&got); err != nil || got != 1 {
		t.Fatalf("lock #%d = %d, %v, want 1, nil", i, got, err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	var unlocked bool
	if err := b.QueryRow(ctx, "SELECT pg_advisory_unlock(hashtext($1))", name).Scan(&unlocked); err != nil || !unlocked {
		t.Fatalf("unlock #%d on the pinned connection = %v, %v, want true, nil: it reached another server session", i, unlocked, err)
	}
}
