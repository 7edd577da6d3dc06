package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	_ "github.com/mattn/go-sqlite3" // SQLite through cgo, driver "sqlite3"
	_ "modernc.org/sqlite"          // SQLite in pure Go, driver "sqlite"
)

// env reaches the databases. Every target gets a namespace of its own (a
// PostgreSQL schema, a MariaDB database, a SQLite file), because scs's
// stores all want a table named "sessions"; the namespaces are dropped at
// the end.
type env struct {
	cfg     *config
	dir     string // SQLite files
	pgAdmin *pgxpool.Pool
	myAdmin *sql.DB
	cleanup []func()
}

func (e *env) close() {
	for i := len(e.cleanup) - 1; i >= 0; i-- {
		e.cleanup[i]()
	}
	e.cleanup = nil
	if e.pgAdmin != nil {
		e.pgAdmin.Close()
		e.pgAdmin = nil
	}
	if e.myAdmin != nil {
		e.myAdmin.Close()
		e.myAdmin = nil
	}
}

func randomName(prefix string) string {
	var b [6]byte
	rand.Read(b[:])
	return prefix + "_" + hex.EncodeToString(b[:])
}

// pgSchema makes a schema, dropped by env.close.
func (e *env) pgSchema(ctx context.Context) (string, error) {
	if e.cfg.pgDSN == "" {
		return "", fmt.Errorf("no PostgreSQL DSN")
	}
	if e.pgAdmin == nil {
		p, err := pgxpool.New(ctx, e.cfg.pgDSN)
		if err != nil {
			return "", err
		}
		e.pgAdmin = p
	}
	name := randomName("sqlsession_bench")
	if _, err := e.pgAdmin.Exec(ctx, `CREATE SCHEMA "`+name+`"`); err != nil {
		return "", fmt.Errorf("create schema: %w", err)
	}
	e.cleanup = append(e.cleanup, func() {
		e.pgAdmin.Exec(context.Background(), `DROP SCHEMA "`+name+`" CASCADE`)
	})
	return name, nil
}

// pgConnConfig is the DSN's configuration with schema first on the search
// path, and the tracer, if any.
func (e *env) pgConnConfig(schema string, tracer pgx.QueryTracer) (*pgx.ConnConfig, error) {
	cc, err := pgx.ParseConfig(e.cfg.pgDSN)
	if err != nil {
		return nil, err
	}
	cc.RuntimeParams["search_path"] = schema
	cc.Tracer = tracer
	return cc, nil
}

// pgPool opens a pgx pool of cfg.pool connections in schema.
func (e *env) pgPool(ctx context.Context, schema string, tracer pgx.QueryTracer) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(e.cfg.pgDSN)
	if err != nil {
		return nil, err
	}
	pc.ConnConfig.RuntimeParams["search_path"] = schema
	pc.ConnConfig.Tracer = tracer
	pc.MaxConns = int32(e.cfg.pool)
	p, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, err
	}
	e.cleanup = append(e.cleanup, p.Close)
	return p, nil
}

// pgSchemaPool makes a schema of its own (see pgSchema) and opens a pgx
// pool in it (see pgPool).
func (e *env) pgSchemaPool(ctx context.Context, tracer pgx.QueryTracer) (*pgxpool.Pool, error) {
	schema, err := e.pgSchema(ctx)
	if err != nil {
		return nil, err
	}
	return e.pgPool(ctx, schema, tracer)
}

// pgDB opens a database/sql pool (pgx stdlib) of cfg.pool connections in
// schema.
func (e *env) pgDB(schema string, tracer pgx.QueryTracer) (*sql.DB, error) {
	cc, err := e.pgConnConfig(schema, tracer)
	if err != nil {
		return nil, err
	}
	db := stdlib.OpenDB(*cc)
	e.sized(db, e.cfg.pool)
	return db, nil
}

func (e *env) sized(db *sql.DB, n int) {
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	e.cleanup = append(e.cleanup, func() { db.Close() })
}

// myDB makes a MariaDB database and opens a pool of cfg.pool connections
// to it. parseTime is for GORM, which scans DATETIME into time.Time.
func (e *env) myDB(ctx context.Context, parseTime bool) (*sql.DB, error) {
	if e.cfg.myDSN == "" {
		return nil, fmt.Errorf("no MariaDB DSN")
	}
	if e.myAdmin == nil {
		db, err := sql.Open("mysql", e.cfg.myDSN)
		if err != nil {
			return nil, err
		}
		e.myAdmin = db
	}
	name := randomName("sqlsession_bench")
	if _, err := e.myAdmin.ExecContext(ctx, "CREATE DATABASE `"+name+"`"); err != nil {
		return nil, fmt.Errorf("create database: %w", err)
	}
	e.cleanup = append(e.cleanup, func() {
		e.myAdmin.Exec("DROP DATABASE IF EXISTS `" + name + "`")
	})
	mc, err := mysql.ParseDSN(e.cfg.myDSN)
	if err != nil {
		return nil, err
	}
	mc.DBName = name
	mc.ParseTime = mc.ParseTime || parseTime
	db, err := sql.Open("mysql", mc.FormatDSN())
	if err != nil {
		return nil, err
	}
	e.sized(db, e.cfg.pool)
	return db, nil
}

// sqliteDB opens a new SQLite file in WAL mode with a busy timeout, through
// driver "sqlite" (modernc) or "sqlite3" (mattn).
func (e *env) sqliteDB(driver string) (*sql.DB, error) {
	path := filepath.Join(e.dir, randomName("sqlsession_bench")+".db")
	var dsn string
	if driver == "sqlite" {
		dsn = "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=cache_size(-32000)"
	} else {
		dsn = "file:" + path + "?_busy_timeout=10000&_journal_mode=WAL&_synchronous=NORMAL&_cache_size=-32000"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, err
	}
	e.sized(db, e.cfg.sqliteConns)
	return db, nil
}

// settle brings a freshly seeded table to the same state for every store:
// PostgreSQL vacuums and analyzes it (so that autovacuum does not start in
// the middle of a measurement), MariaDB analyzes it, and SQLite checkpoints
// its write-ahead log (a file whose log holds more pages reads slower).
func settle(ctx context.Context, exec execFunc, dialect string) error {
	switch dialect {
	case "postgres":
		return exec(ctx, "VACUUM ANALYZE sessions")
	case "mysql":
		return exec(ctx, "ANALYZE TABLE sessions")
	default:
		return exec(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	}
}

// settled is seed followed by settle.
func settled(seed seedFunc, exec execFunc, dialect string) seedFunc {
	return func(ctx context.Context, tokens []string, data []byte, expiry time.Time) error {
		if err := seed(ctx, tokens, data, expiry); err != nil {
			return err
		}
		return settle(ctx, exec, dialect)
	}
}

// sqlExec adapts a *sql.DB to execFunc.
func sqlExec(db *sql.DB) execFunc {
	return func(ctx context.Context, q string, args ...any) error {
		_, err := db.ExecContext(ctx, q, args...)
		return err
	}
}

// pgxExec adapts a pgx pool to execFunc.
func pgxExec(p *pgxpool.Pool) execFunc {
	return func(ctx context.Context, q string, args ...any) error {
		_, err := p.Exec(ctx, q, args...)
		return err
	}
}

// serverVersion asks a server for its version, "" when there is none.
func (e *env) serverVersions(ctx context.Context) (pg, my string) {
	if e.cfg.pgDSN != "" {
		if c, err := pgx.Connect(ctx, e.cfg.pgDSN); err == nil {
			var v string
			if c.QueryRow(ctx, "SHOW server_version").Scan(&v) == nil {
				pg = "PostgreSQL " + strings.Fields(v)[0]
			}
			c.Close(ctx)
		}
	}
	if e.cfg.myDSN != "" {
		if db, err := sql.Open("mysql", e.cfg.myDSN); err == nil {
			var v string
			if db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&v) == nil {
				if strings.Contains(strings.ToLower(v), "mariadb") {
					my = "MariaDB " + strings.SplitN(v, "-", 2)[0]
				} else {
					my = "MySQL " + v
				}
			}
			db.Close()
		}
	}
	return pg, my
}
