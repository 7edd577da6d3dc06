package main

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sqlsession/sqlsession/examples/internal/smoke"
	"github.com/sqlsession/sqlsession/internal/testenv"
)

// TestApp serves the application on the PostgreSQL server of
// SQLSESSION_TEST_POSTGRES_DSN, in a schema of its own, and uses it as a
// browser does.
func TestApp(t *testing.T) {
	dsn := testenv.DSN(t, testenv.PostgresDSN)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	admin, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatalf("pgxpool.New($%s) = %v", testenv.PostgresDSN, err)
	}
	t.Cleanup(admin.Close)
	if err := admin.Ping(ctx); err != nil {
		testenv.Unavailable(t, "server of %s unreachable: %v", testenv.PostgresDSN, err)
	}
	schema := testenv.Name("sqlsession_ex")
	if _, err := admin.Exec(ctx, `CREATE SCHEMA "`+schema+`"`); err != nil {
		t.Fatalf("CREATE SCHEMA = %v", err)
	}
	t.Cleanup(func() { admin.Exec(context.Background(), `DROP SCHEMA "`+schema+`" CASCADE`) })

	// The application's pool works in that schema.
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatalf("pgxpool.ParseConfig($%s) = %v", testenv.PostgresDSN, err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("pgxpool.NewWithConfig() = %v", err)
	}
	t.Cleanup(pool.Close)

	handler, cleanup, err := newApp(ctx, pool)
	if err != nil {
		t.Fatalf("newApp() = %v", err)
	}
	t.Cleanup(cleanup)
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	smoke.Run(t, srv.URL, nil, "session")
}
