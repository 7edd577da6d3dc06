package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"time"

	scsmysql "github.com/alexedwards/scs/mysqlstore"
	scspgx "github.com/alexedwards/scs/pgxstore"
	scspostgres "github.com/alexedwards/scs/postgresstore"
	scssqlite "github.com/alexedwards/scs/sqlite3store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	waderstore "github.com/wader/gormstore/v2"
	gormmysql "gorm.io/driver/mysql"
	gormpostgres "gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/pgxstore"
)

// Roles of targets.
const (
	roleFloor = "floor"      // the raw driver; every ratio divides by it
	roleRef   = "reference"  // another raw baseline, shown for comparison
	roleCore  = "sqlsession" // the goal applies
	rolePeer  = "peer"       // another session store
)

// target is one store to measure, opened fresh in its own namespace.
type target struct {
	name string
	role string
	open func(ctx context.Context, e *env) (*instance, error)
}

// instance is an opened target.
type instance struct {
	impl     impl
	seed     seedFunc
	noTouch  bool // the store's API has no touch
	racyConc bool // unsafe for concurrent use: run at one goroutine under -race
	close    func()
}

// family is the targets on one database through one driver: the first
// target is the floor.
type family struct {
	key     string // for -db
	db      string // "postgres", "mysql", "sqlite"
	title   string
	targets []target
}

// families returns every family this build knows. Targets that need a
// server are skipped when its DSN is unset.
func families() []family {
	return []family{
		{"postgres-pgx", "postgres", "PostgreSQL through a pgx pool (pgxpool)", []target{
			{"raw pgxpool", roleFloor, openPgxFloor},
			{"sqlsession pgxstore", roleCore, openPgxCore(sqlsession.Options{})},
			{"sqlsession pgxstore, BatchReads", roleRef, openPgxCore(batchReads)},
			{"scs pgxstore", rolePeer, openScsPgx},
		}},
		{"postgres-sql", "postgres", "PostgreSQL through database/sql (pgx stdlib)", append([]target{
			{"raw database/sql", roleFloor, openSQLFloor("postgres", false)},
			{"sqlsession database/sql", roleCore, openSQLCore("postgres", true, sqlsession.Options{})},
			{"scs postgresstore", rolePeer, openScs("postgres", "postgres", func(db *sql.DB) scsStore { return scspostgres.NewWithCleanupInterval(db, 0) })},
		}, gormTargets("postgres")...)},
		{"mysql", "mysql", "MariaDB through database/sql (go-sql-driver/mysql, default DSN: no interpolateParams)", append([]target{
			{"raw database/sql, prepared once", roleFloor, openSQLFloor("mysql", true)},
			{"raw database/sql, ad hoc", roleRef, openSQLFloor("mysql", false)},
			{"sqlsession database/sql", roleCore, openSQLCore("mysql", true, sqlsession.Options{})},
			{"sqlsession database/sql, BatchReads", roleRef, openSQLCore("mysql", true, batchReads)},
			{"sqlsession on SQLBackend (ad hoc)", roleRef, openSQLCore("mysql", false, sqlsession.Options{})},
			{"scs mysqlstore", rolePeer, openScs("mysql", "mysql", func(db *sql.DB) scsStore { return scsmysql.NewWithCleanupInterval(db, 0) })},
		}, gormTargets("mysql")...)},
		{"sqlite-modernc", "sqlite", "SQLite through database/sql (modernc.org/sqlite, pure Go)", []target{
			{"raw database/sql, prepared once", roleFloor, openSQLFloor("sqlite", true)},
			{"raw database/sql, ad hoc", roleRef, openSQLFloor("sqlite", false)},
			{"sqlsession database/sql", roleCore, openSQLCore("sqlite", true, sqlsession.Options{})},
			{"sqlsession database/sql, BatchReads", roleRef, openSQLCore("sqlite", true, batchReads)},
		}},
		{"sqlite-mattn", "sqlite", "SQLite through database/sql (mattn/go-sqlite3, cgo)", []target{
			{"raw database/sql, prepared once", roleFloor, openSQLFloor("sqlite3", true)},
			{"raw database/sql, ad hoc", roleRef, openSQLFloor("sqlite3", false)},
			{"sqlsession database/sql", roleCore, openSQLCore("sqlite3", true, sqlsession.Options{})},
			{"scs sqlite3store", rolePeer, openScs("sqlite3", "sqlite", func(db *sql.DB) scsStore { return scssqlite.NewWithCleanupInterval(db, 0) })},
		}},
	}
}

// batchReads is sqlsession with read batching on.
var batchReads = sqlsession.Options{BatchReads: true}

// dialectOf maps a driver-ish name to the SQL dialect and the driver.
func dialectOf(name string) (dialect string, d sqlsession.Dialect) {
	switch name {
	case "postgres":
		return "postgres", sqlsession.Postgres
	case "mysql":
		return "mysql", sqlsession.MySQL
	default:
		return "sqlite", sqlsession.SQLite
	}
}

// openDB opens a pool for a database/sql target: name is "postgres",
// "mysql", "sqlite" (modernc) or "sqlite3" (mattn).
func openDB(ctx context.Context, e *env, name string, parseTime bool) (*sql.DB, error) {
	switch name {
	case "postgres":
		schema, err := e.pgSchema(ctx)
		if err != nil {
			return nil, err
		}
		return e.pgDB(schema, nil)
	case "mysql":
		return e.myDB(ctx, parseTime)
	default:
		return e.sqliteDB(name)
	}
}

// createCoreTable creates the table of the core's shape (the floor's too)
// through a throwaway Store.
func createCoreTable(ctx context.Context, b sqlsession.Backend, d sqlsession.Dialect) error {
	s, err := sqlsession.NewWithBackend(b, d, sqlsession.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	return s.CreateTable(ctx)
}

func openPgxFloor(ctx context.Context, e *env) (*instance, error) {
	p, err := e.pgSchemaPool(ctx, nil)
	if err != nil {
		return nil, err
	}
	s, err := pgxstore.New(p, sqlsession.Options{})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if err := s.CreateTable(ctx); err != nil {
		return nil, err
	}
	return &instance{impl: &pgxFloor{p: p, q: floorQueries("postgres")}, seed: settled(coreSeed(pgxExec(p), "postgres", false), pgxExec(p), "postgres")}, nil
}

// pgxCore opens sqlsession through pgxstore with opts on a pool of its
// own (see pgSchemaPool), and creates its table. The caller closes the Store.
func pgxCore(ctx context.Context, e *env, tracer pgx.QueryTracer, opts sqlsession.Options) (*pgxpool.Pool, *sqlsession.Store, error) {
	p, err := e.pgSchemaPool(ctx, tracer)
	if err != nil {
		return nil, nil, err
	}
	s, err := pgxstore.New(p, opts)
	if err != nil {
		return nil, nil, err
	}
	if err := s.CreateTable(ctx); err != nil {
		return nil, nil, err
	}
	return p, s, nil
}

func openPgxCore(opts sqlsession.Options) func(context.Context, *env) (*instance, error) {
	return func(ctx context.Context, e *env) (*instance, error) {
		p, s, err := pgxCore(ctx, e, nil, opts)
		if err != nil {
			return nil, err
		}
		return &instance{impl: coreImpl{s}, seed: settled(coreSeed(pgxExec(p), "postgres", true), pgxExec(p), "postgres"), close: func() { s.Close() }}, nil
	}
}

func openScsPgx(ctx context.Context, e *env) (*instance, error) {
	p, err := e.pgSchemaPool(ctx, nil)
	if err != nil {
		return nil, err
	}
	if err := createScsTable(ctx, pgxExec(p), "postgres"); err != nil {
		return nil, err
	}
	st := scspgx.NewWithCleanupInterval(p, 0)
	return &instance{impl: scsImpl{st}, seed: settled(scsSeed(pgxExec(p), "postgres"), pgxExec(p), "postgres"), noTouch: true}, nil
}

// createScsTable creates the table of scs's stores, as their READMEs give it.
func createScsTable(ctx context.Context, exec execFunc, dialect string) error {
	var stmts []string
	switch dialect {
	case "postgres":
		stmts = []string{
			"CREATE TABLE sessions (token TEXT PRIMARY KEY, data BYTEA NOT NULL, expiry TIMESTAMPTZ NOT NULL)",
			"CREATE INDEX sessions_expiry_idx ON sessions (expiry)",
		}
	case "mysql":
		stmts = []string{
			"CREATE TABLE sessions (token CHAR(43) PRIMARY KEY, data BLOB NOT NULL, expiry TIMESTAMP(6) NOT NULL)",
			"CREATE INDEX sessions_expiry_idx ON sessions (expiry)",
		}
	default:
		stmts = []string{
			"CREATE TABLE sessions (token TEXT PRIMARY KEY, data BLOB NOT NULL, expiry REAL NOT NULL)",
			"CREATE INDEX sessions_expiry_idx ON sessions (expiry)",
		}
	}
	for _, s := range stmts {
		if err := exec(ctx, s); err != nil {
			return fmt.Errorf("create scs table: %w", err)
		}
	}
	return nil
}

func openSQLFloor(driver string, prepared bool) func(context.Context, *env) (*instance, error) {
	return func(ctx context.Context, e *env) (*instance, error) {
		dialect, d := dialectOf(driver)
		db, err := openDB(ctx, e, driver, false)
		if err != nil {
			return nil, err
		}
		if err := createCoreTable(ctx, sqlsession.SQLBackend(db), d); err != nil {
			return nil, err
		}
		f, err := newSQLFloor(ctx, db, dialect, prepared)
		if err != nil {
			return nil, err
		}
		return &instance{impl: f, seed: settled(coreSeed(sqlExec(db), dialect, false), sqlExec(db), dialect), close: f.close}, nil
	}
}

// openSQLCore opens sqlsession on database/sql: through sqlsession.New,
// as users do, or, with viaNew false, on the plain SQLBackend, which sends
// every statement ad hoc.
func openSQLCore(driver string, viaNew bool, opts sqlsession.Options) func(context.Context, *env) (*instance, error) {
	return func(ctx context.Context, e *env) (*instance, error) {
		dialect, d := dialectOf(driver)
		db, err := openDB(ctx, e, driver, false)
		if err != nil {
			return nil, err
		}
		var s *sqlsession.Store
		if viaNew {
			s, err = sqlsession.New(db, d, opts)
		} else {
			s, err = sqlsession.NewWithBackend(sqlsession.SQLBackend(db), d, opts)
		}
		if err != nil {
			return nil, err
		}
		if err := s.CreateTable(ctx); err != nil {
			return nil, err
		}
		return &instance{impl: coreImpl{s}, seed: settled(coreSeed(sqlExec(db), dialect, true), sqlExec(db), dialect), close: func() { s.Close() }}, nil
	}
}

// openScs opens one of scs's database/sql stores on its own table, with its
// cleanup goroutine off.
func openScs(driver, dialect string, newStore func(*sql.DB) scsStore) func(context.Context, *env) (*instance, error) {
	return func(ctx context.Context, e *env) (*instance, error) {
		db, err := openDB(ctx, e, driver, false)
		if err != nil {
			return nil, err
		}
		if err := createScsTable(ctx, sqlExec(db), dialect); err != nil {
			return nil, err
		}
		return &instance{impl: scsImpl{newStore(db)}, seed: settled(scsSeed(sqlExec(db), dialect), sqlExec(db), dialect), noTouch: true}, nil
	}
}

// gormDB opens GORM on a fresh database/sql pool, with GORM's defaults
// except for its logger, which would print slow queries.
func gormDB(ctx context.Context, e *env, driver string) (*gorm.DB, *sql.DB, error) {
	db, err := openDB(ctx, e, driver, true)
	if err != nil {
		return nil, nil, err
	}
	var dial gorm.Dialector
	if driver == "postgres" {
		dial = gormpostgres.New(gormpostgres.Config{Conn: db})
	} else {
		dial = gormmysql.New(gormmysql.Config{Conn: db})
	}
	g, err := gorm.Open(dial, &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return nil, nil, err
	}
	return g, db, nil
}

// waderKey is the key that signs wader/gormstore's cookies.
var waderKey = []byte("bench-hash-key-0123456789abcdef!")

func openWader(driver string) func(context.Context, *env) (*instance, error) {
	return func(ctx context.Context, e *env) (*instance, error) {
		dialect, _ := dialectOf(driver)
		g, db, err := gormDB(ctx, e, driver)
		if err != nil {
			return nil, err
		}
		// NewOptions runs AutoMigrate and drops its error: check the table.
		st := waderstore.NewOptions(g, waderstore.Options{}, waderKey)
		st.MaxLength(0) // 4 KB of data does not fit securecookie's default 4096
		if err := sqlExec(db)(ctx, "SELECT COUNT(*) FROM sessions"); err != nil {
			return nil, fmt.Errorf("wader/gormstore table: %w", err)
		}
		w := &waderImpl{st: st, name: waderName, reqs: map[string]*http.Request{}}
		return &instance{impl: w, seed: settled(waderSeed(sqlExec(db), dialect, w), sqlExec(db), dialect), noTouch: true, racyConc: true}, nil
	}
}

// defaultExpiry is the expiry of seeded sessions.
func defaultExpiry() time.Time { return time.Now().Add(lifetime) }
