package main

import (
	"context"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/glebarez/sqlite"
	gomysql "github.com/go-sql-driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/sqlsession/sqlsession/examples/internal/smoke"
	"github.com/sqlsession/sqlsession/internal/testenv"
)

// TestApp serves the application through GORM on a fresh SQLite file, and
// on the PostgreSQL and MySQL/MariaDB servers of the test environment (see
// testenv) in a schema or database of its own, and uses it as a browser
// does.
func TestApp(t *testing.T) {
	targets := []struct {
		name      string
		dialector func(t *testing.T) gorm.Dialector
	}{
		{"sqlite", func(t *testing.T) gorm.Dialector {
			return sqlite.Open(sqliteDSN(filepath.Join(t.TempDir(), sqliteFile)))
		}},
		{"postgres", func(t *testing.T) gorm.Dialector { return dialector(postgresDSN(t)) }},
		{"mysql", func(t *testing.T) gorm.Dialector { return dialector(mysqlDSN(t)) }},
	}
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			d := tg.dialector(t)
			db := open(t, d)
			handler, cleanup, err := newApp(t.Context(), db)
			if err != nil {
				t.Fatalf("newApp() = %v", err)
			}
			t.Cleanup(cleanup)
			srv := httptest.NewServer(handler)
			t.Cleanup(srv.Close)
			smoke.Run(t, srv.URL, nil, "session")
		})
	}
}

// open opens d with GORM, quietly, and closes it when t ends. A server that
// cannot be reached skips t (fails it in strict mode).
func open(t *testing.T, d gorm.Dialector) *gorm.DB {
	t.Helper()
	db, err := gorm.Open(d, &gorm.Config{Logger: logger.Discard})
	if err != nil {
		if d.Name() == "sqlite" {
			t.Fatalf("gorm.Open(sqlite) = %v", err)
		}
		testenv.Unavailable(t, "gorm.Open(%s) = %v", d.Name(), err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatalf("db.DB() = %v", err)
	}
	t.Cleanup(func() { sqlDB.Close() })
	return db
}

// exec runs query on db, failing t on an error.
func exec(t *testing.T, db *gorm.DB, query string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := db.WithContext(ctx).Exec(query).Error; err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// postgresDSN returns the URL of SQLSESSION_TEST_POSTGRES_DSN with a search
// path on a fresh schema, dropped when t ends.
func postgresDSN(t *testing.T) string {
	dsn := testenv.DSN(t, testenv.PostgresDSN)
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s is not a postgres:// URL", testenv.PostgresDSN)
	}
	admin := open(t, dialector(dsn))
	schema := testenv.Name("sqlsession_ex")
	exec(t, admin, `CREATE SCHEMA "`+schema+`"`)
	t.Cleanup(func() { admin.Exec(`DROP SCHEMA "` + schema + `" CASCADE`) })
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// mysqlDSN returns SQLSESSION_TEST_MYSQL_DSN on a fresh database, dropped
// when t ends.
func mysqlDSN(t *testing.T) string {
	dsn := testenv.DSN(t, testenv.MySQLDSN)
	cfg, err := gomysql.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("%s: %v", testenv.MySQLDSN, err)
	}
	admin := open(t, dialector(dsn))
	name := testenv.Name("sqlsession_ex")
	exec(t, admin, "CREATE DATABASE `"+name+"`")
	t.Cleanup(func() { admin.Exec("DROP DATABASE `" + name + "`") })
	cfg.DBName = name
	return cfg.FormatDSN()
}
