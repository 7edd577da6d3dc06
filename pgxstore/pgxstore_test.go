package pgxstore_test

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/internal/testenv"
	"github.com/sqlsession/sqlsession/pgxstore"
	"github.com/sqlsession/sqlsession/sqlsessiontest"
)

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// testPool returns a pool on the server of the DSN in env, configured by
// configure (may be nil), and a fresh schema for the test's tables. The
// schema is dropped and the pool closed when t ends. An unset env or an
// unreachable server skips the test (fails it in strict mode).
func testPool(t testing.TB, env string, configure func(*pgxpool.Config)) (*pgxpool.Pool, string) {
	t.Helper()
	dsn := testenv.DSN(t, env)
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatalf("pgxpool.ParseConfig($%s) = %v", env, err)
	}
	if configure != nil {
		configure(cfg)
	}
	ctx := testCtx(t)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("pgxpool.NewWithConfig($%s) = %v", env, err)
	}
	t.Cleanup(pool.Close)
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		testenv.Unavailable(t, "server of %s unreachable: %v", env, err)
	}
	schema := testenv.Name("sqlsession")
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatalf("CREATE SCHEMA = %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := pool.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("DROP SCHEMA = %v", err)
		}
	})
	return pool, schema
}

// factory returns the conformance kit's NewStore: Stores on pool, each test's
// tables in schema (dropped with it).
func factory(pool *pgxpool.Pool, schema string) sqlsessiontest.NewStore {
	return func(t *testing.T, opts sqlsession.Options) *sqlsession.Store {
		if opts.Table == "" {
			opts.Table = testenv.Name("t")
			opts.Schema = schema
		}
		if opts.CleanupInterval > 0 {
			// The kit creates the table after NewStore returns, while the
			// janitor may already sweep: create it first, so that a slow
			// CreateTable (through PgBouncer, under -race) cannot make the
			// first sweep log "relation does not exist".
			pre, err := pgxstore.New(pool, sqlsession.Options{Table: opts.Table, Schema: opts.Schema, Layout: opts.Layout})
			if err != nil {
				t.Fatalf("pgxstore.New() = %v", err)
			}
			if err := pre.CreateTable(testCtx(t)); err != nil {
				t.Fatalf("CreateTable() = %v", err)
			}
			pre.Close()
		}
		s, err := pgxstore.New(pool, opts)
		if err != nil {
			t.Fatalf("pgxstore.New() = %v", err)
		}
		return s
	}
}

func TestConformance(t *testing.T) {
	pool, schema := testPool(t, testenv.PostgresDSN, nil)
	sqlsessiontest.Run(t, factory(pool, schema))
}

// TestQueryExecModes runs the conformance kit in pgx's other query exec
// modes: the one recommended behind PgBouncer, and the two that send text
// instead of binary. TestConformance runs the default, cache_statement.
// describe_exec, left out for time, sends what cache_describe sends.
func TestQueryExecModes(t *testing.T) {
	modes := []pgx.QueryExecMode{
		pgx.QueryExecModeCacheDescribe,
		pgx.QueryExecModeExec,
		pgx.QueryExecModeSimpleProtocol,
	}
	for _, mode := range modes {
		t.Run(strings.ReplaceAll(mode.String(), " ", "_"), func(t *testing.T) {
			pool, schema := testPool(t, testenv.PostgresDSN, func(c *pgxpool.Config) {
				c.ConnConfig.DefaultQueryExecMode = mode
			})
			sqlsessiontest.Run(t, factory(pool, schema))
		})
	}
}

func TestErrNoRowsWrapsSQLErrNoRows(t *testing.T) {
	if !errors.Is(pgx.ErrNoRows, sql.ErrNoRows) {
		t.Fatal("errors.Is(pgx.ErrNoRows, sql.ErrNoRows) = false, want true: pgxstore must translate pgx.ErrNoRows")
	}
}

func TestNewNilPool(t *testing.T) {
	s, err := pgxstore.New(nil, sqlsession.Options{})
	if s != nil || !errors.Is(err, sqlsession.ErrInvalidOptions) {
		t.Fatalf("New(nil) = %v, %v, want nil, ErrInvalidOptions", s, err)
	}
}

func TestNewBadOptions(t *testing.T) {
	pool, err := pgxpool.New(context.Background(), "postgres://127.0.0.1:1/none")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pgxstore.New(pool, sqlsession.Options{Table: "sessions; DROP"}); !errors.Is(err, sqlsession.ErrUnsafeIdentifier) {
		t.Fatalf("New(unsafe table) = %v, want ErrUnsafeIdentifier", err)
	}
}

// TestOpenDoesNotConnect opens a Store on a port where nothing listens:
// Open succeeds, the first query fails with an error (not a miss).
func TestOpenDoesNotConnect(t *testing.T) {
	for _, connString := range []string{
		"postgres://app@127.0.0.1:1/app?connect_timeout=5",
		"host=127.0.0.1 port=1 user=app dbname=app connect_timeout=5",
	} {
		t.Run(connString, func(t *testing.T) {
			s, err := pgxstore.Open(testCtx(t), connString, sqlsession.Options{})
			if err != nil {
				t.Fatalf("Open(%q) = %v, want nil", connString, err)
			}
			if _, found, err := s.Find(testCtx(t), "token"); err == nil || found {
				t.Fatalf("Find() with no server = %v, %v, want an error", found, err)
			}
			if err := s.Close(); err != nil {
				t.Fatalf("Close() = %v", err)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name       string
		connString string
		opts       sqlsession.Options
		want       error
	}{
		{"bad URL", "postgres://%zz", sqlsession.Options{}, nil},
		{"bad setting", "postgres://127.0.0.1:1/x?pool_max_conns=many", sqlsession.Options{}, nil},
		{"bad exec mode", "postgres://127.0.0.1:1/x?default_query_exec_mode=fast", sqlsession.Options{}, nil},
		{"bad options", "postgres://127.0.0.1:1/x", sqlsession.Options{Table: "1x"}, sqlsession.ErrUnsafeIdentifier},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := pgxstore.Open(testCtx(t), tt.connString, tt.opts)
			if s != nil || err == nil {
				t.Fatalf("Open(%q) = %v, %v, want an error", tt.connString, s, err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Open(%q) = %v, want %v", tt.connString, err, tt.want)
			}
		})
	}
}

// TestNewLeavesPoolOpen checks that closing a Store made by New leaves the
// caller's pool usable.
func TestNewLeavesPoolOpen(t *testing.T) {
	pool, schema := testPool(t, testenv.PostgresDSN, nil)
	ctx := testCtx(t)
	s, err := pgxstore.New(pool, sqlsession.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTable(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if err := pool.Ping(ctx); err != nil {
		t.Fatalf("pool.Ping() after Store.Close = %v, want nil: the Store closed the caller's pool", err)
	}
	if _, _, err := s.Find(ctx, "x"); !errors.Is(err, sqlsession.ErrClosed) {
		t.Fatalf("Find() after Close = %v, want ErrClosed", err)
	}
}

// TestOpenClosesItsPool watches the server's sessions of a pool made by Open
// (tagged with a unique application_name): Close must end them.
func TestOpenClosesItsPool(t *testing.T) {
	admin, schema := testPool(t, testenv.PostgresDSN, nil)
	ctx := testCtx(t)
	app := testenv.Name("pgxstore")
	sessions := func() int {
		t.Helper()
		var n int
		err := admin.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", app).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, form := range []string{"url", "key/value"} {
		t.Run(form, func(t *testing.T) {
			connString := withParam(t, testenv.DSN(t, testenv.PostgresDSN), "application_name", app)
			if form == "key/value" {
				connString = keyValue(t, connString)
			}
			s, err := pgxstore.Open(ctx, connString, sqlsession.Options{Schema: schema, Table: "open_" + strings.ReplaceAll(form, "/", "_")})
			if err != nil {
				t.Fatalf("Open() = %v", err)
			}
			if err := s.CreateTable(ctx); err != nil {
				t.Fatal(err)
			}
			if err := s.Save(ctx, "token", []byte("x"), time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if n := sessions(); n == 0 {
				t.Fatal("no server session with the pool's application_name: cannot watch the pool")
			}
			if err := s.Close(); err != nil {
				t.Fatalf("Close() = %v", err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for n := sessions(); n != 0; n = sessions() {
				if time.Now().After(deadline) {
					t.Fatalf("%d server sessions of the Store's pool still open 10s after Close: Close did not close the pool", n)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// withParam sets a query parameter of a postgres:// URL, or appends a
// key=value pair to a key/value connection string.
func withParam(t testing.TB, dsn, key, value string) string {
	t.Helper()
	if !strings.Contains(dsn, "://") {
		return dsn + " " + key + "=" + value
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("DSN is not a URL: %v", err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// keyValue turns a postgres:// URL into the key/value form through pgx's own
// parser, so that both forms reach the same server.
func keyValue(t testing.TB, dsn string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	kv := []string{
		"host=" + cfg.Host,
		"port=" + strconv.Itoa(int(cfg.Port)),
		"dbname=" + cfg.Database,
		"user=" + cfg.User,
	}
	if cfg.TLSConfig == nil {
		kv = append(kv, "sslmode=disable")
	}
	if cfg.Password != "" {
		kv = append(kv, "password='"+strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(cfg.Password)+"'")
	}
	for k, v := range cfg.RuntimeParams {
		kv = append(kv, k+"="+v)
	}
	return strings.Join(kv, " ")
}
