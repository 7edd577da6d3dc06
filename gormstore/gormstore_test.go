package gormstore_test

import (
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/gormstore"
	"github.com/sqlsession/sqlsession/internal/testenv"
	"github.com/sqlsession/sqlsession/sqlsessiontest"
	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	"gorm.io/gorm/schema"
)

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// countingLogger is a user's GORM logger: it counts the statements GORM
// traces, to show that the Store's SQL goes through it.
type countingLogger struct {
	traced atomic.Int64
}

func (l *countingLogger) LogMode(logger.LogLevel) logger.Interface      { return l }
func (l *countingLogger) Info(context.Context, string, ...interface{})  {}
func (l *countingLogger) Warn(context.Context, string, ...interface{})  {}
func (l *countingLogger) Error(context.Context, string, ...interface{}) {}
func (l *countingLogger) Trace(_ context.Context, _ time.Time, fc func() (string, int64), _ error) {
	if sql, _ := fc(); sql != "" {
		l.traced.Add(1)
	}
}

// target is one database reached through its GORM dialector.
type target struct {
	name string
	// open returns a *gorm.DB for this test, configured by cfg, and the
	// schema its tables go in ("" for the default one). Both are dropped
	// when t ends.
	open func(t *testing.T, cfg *gorm.Config) (*gorm.DB, string)
}

var targets = []target{
	{"sqlite", openSQLite},
	{"postgres", openPostgres},
	{"mysql", openMySQL},
}

func openGORM(t *testing.T, d gorm.Dialector, cfg *gorm.Config, env string) *gorm.DB {
	t.Helper()
	db, err := gorm.Open(d, cfg)
	if err != nil {
		if env != "" {
			testenv.Unavailable(t, "server of %s unreachable: %v", env, err)
		}
		t.Fatalf("gorm.Open(%s) = %v", d.Name(), err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlDB.Close() })
	sqlDB.SetMaxOpenConns(8)
	return db
}

func openSQLite(t *testing.T, cfg *gorm.Config) (*gorm.DB, string) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	return openGORM(t, sqlite.Open(dsn), cfg, ""), ""
}

// openPostgres makes a schema for the test and puts it first in the
// search_path of db's connections, so that AutoMigrate's tables land there.
func openPostgres(t *testing.T, cfg *gorm.Config) (*gorm.DB, string) {
	dsn := testenv.DSN(t, testenv.PostgresDSN)
	admin := openGORM(t, postgres.Open(dsn), &gorm.Config{Logger: logger.Discard}, testenv.PostgresDSN)
	schema := testenv.Name("sqlsession")
	if err := admin.Exec(`CREATE SCHEMA "` + schema + `"`).Error; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := admin.Exec(`DROP SCHEMA "` + schema + `" CASCADE`).Error; err != nil {
			t.Errorf("DROP SCHEMA = %v", err)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		t.Fatalf("$%s must be a postgres:// URL here", testenv.PostgresDSN)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return openGORM(t, postgres.Open(u.String()), cfg, testenv.PostgresDSN), schema
}

func openMySQL(t *testing.T, cfg *gorm.Config) (*gorm.DB, string) {
	return openGORM(t, mysql.Open(testenv.DSN(t, testenv.MySQLDSN)), cfg, testenv.MySQLDSN), ""
}

// quote quotes a table name, qualified with schema unless that is "", for
// the tests' own SQL.
func quote(db *gorm.DB, schema, table string) string {
	var b strings.Builder
	if schema != "" {
		db.Dialector.QuoteTo(&b, schema)
		b.WriteByte('.')
	}
	db.Dialector.QuoteTo(&b, table)
	return b.String()
}

// factory returns the kit's NewStore: Stores on db, each test's tables in
// schema, dropped when the test ends. With model set, the tables are made
// by GORM's AutoMigrate from testSession instead of by CreateTable.
func factory(db *gorm.DB, schema string, model bool) sqlsessiontest.NewStore {
	return func(t *testing.T, opts sqlsession.Options) *sqlsession.Store {
		if model {
			// The model's struct fixes the columns: the default layout.
			opts.Layout = sqlsession.Layout{}
		}
		if opts.Table == "" {
			opts.Table = testenv.Name("t")
			opts.Schema = schema
			if model {
				// The search_path puts the table in schema.
				opts.Schema = ""
			}
			table := quote(db, opts.Schema, opts.Table)
			t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + table) })
			if model {
				if err := db.WithContext(testCtx(t)).Table(opts.Table).AutoMigrate(&testSession{}); err != nil {
					t.Fatalf("AutoMigrate() = %v", err)
				}
			}
		}
		if opts.CleanupInterval > 0 {
			// The kit creates the table after NewStore returns, while the
			// janitor may already sweep: create it first.
			pre, err := gormstore.New(db, sqlsession.Options{Table: opts.Table, Schema: opts.Schema, Layout: opts.Layout})
			if err != nil {
				t.Fatal(err)
			}
			if err := pre.CreateTable(testCtx(t)); err != nil {
				t.Fatalf("CreateTable() = %v", err)
			}
			pre.Close()
		}
		s, err := gormstore.New(db, opts)
		if err != nil {
			t.Fatalf("gormstore.New() = %v", err)
		}
		return s
	}
}

// testSession is a user's model with a column of its own.
type testSession struct {
	gormstore.Model
	UserID *uint `gorm:"index"`
	Note   string
}

// TestConformance runs the conformance kit through GORM with the user's
// logger and PrepareStmt on, on tables made by CreateTable ("store") and, on
// the servers, by AutoMigrate from a model ("model"). SQLite's model types
// are checked by TestModelSchema only: the kit on modernc's SQLite is slow
// under the race detector, and its types leave nothing to compare.
func TestConformance(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			for _, mode := range []string{"store", "model"} {
				if mode == "model" && tg.name == "sqlite" {
					continue
				}
				t.Run(mode, func(t *testing.T) {
					log := &countingLogger{}
					db, schema := tg.open(t, &gorm.Config{Logger: log, PrepareStmt: mode == "store"})
					sqlsessiontest.Run(t, factory(db, schema, mode == "model"))
					if log.traced.Load() == 0 {
						t.Fatal("the GORM logger traced no statement: the Store bypassed GORM")
					}
				})
			}
		})
	}
}

// TestModelSchema checks the columns AutoMigrate makes from Model: a second
// AutoMigrate finds nothing to change, and the token compares byte for byte.
func TestModelSchema(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			rec := &sqlRecorder{}
			prefix := testenv.Name("t") + "_"
			db, _ := tg.open(t, &gorm.Config{Logger: rec, NamingStrategy: schema.NamingStrategy{TablePrefix: prefix}})
			ctx := testCtx(t)
			if err := db.WithContext(ctx).AutoMigrate(&testSession{}); err != nil {
				t.Fatalf("AutoMigrate() = %v", err)
			}
			t.Cleanup(func() { db.Migrator().DropTable(&testSession{}) })
			rec.reset()
			if err := db.WithContext(ctx).AutoMigrate(&testSession{}); err != nil {
				t.Fatalf("AutoMigrate() again = %v", err)
			}
			for _, q := range rec.statements() {
				if strings.HasPrefix(strings.ToUpper(q), "ALTER") || strings.HasPrefix(strings.ToUpper(q), "CREATE") {
					t.Errorf("second AutoMigrate() ran %q, want no change", q)
				}
			}
			s, err := gormstore.NewWithModel(db, &testSession{}, sqlsession.Options{PlainTokens: true})
			if err != nil {
				t.Fatalf("NewWithModel() = %v", err)
			}
			defer s.Close()
			if got, want := s.Options().Table, prefix+"test_sessions"; got != want {
				t.Fatalf("NewWithModel() table = %q, want %q (from the naming strategy)", got, want)
			}
			if err := s.CheckTable(ctx); err != nil {
				t.Fatalf("CheckTable() = %v", err)
			}
			for _, tok := range []string{"abc", "ABC"} {
				if err := s.Save(ctx, tok, []byte(tok), time.Now().Add(time.Hour)); err != nil {
					t.Fatalf("Save(%q) = %v", tok, err)
				}
			}
			big := make([]byte, 3<<20)
			if err := s.Save(ctx, "big", big, time.Now().Add(time.Hour)); err != nil {
				t.Fatalf("Save(3 MiB) = %v", err)
			}
			for _, tok := range []string{"abc", "ABC"} {
				data, found, err := s.Find(ctx, tok)
				if err != nil || !found || string(data) != tok {
					t.Fatalf("Find(%q) = %q, %v, %v, want %q, true, nil", tok, data, found, err, tok)
				}
			}
			// The user's columns stay the user's: GORM reads the rows.
			var rows []testSession
			if err := db.WithContext(ctx).Order("token").Find(&rows).Error; err != nil {
				t.Fatalf("GORM Find() = %v", err)
			}
			if len(rows) != 3 || rows[0].Token != "ABC" || rows[0].ExpiresAt == 0 || rows[0].UserID != nil {
				t.Fatalf("GORM Find() = %d rows, first %+v, want 3 rows, ABC first", len(rows), rows[0].Model)
			}
		})
	}
}

// sqlRecorder is a GORM logger that keeps the statements it traces.
type sqlRecorder struct {
	countingLogger
	mu   sync.Mutex
	sqls []string
}

func (r *sqlRecorder) LogMode(logger.LogLevel) logger.Interface { return r }
func (r *sqlRecorder) Trace(_ context.Context, _ time.Time, fc func() (string, int64), _ error) {
	sql, _ := fc()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sqls = append(r.sqls, sql)
}

func (r *sqlRecorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sqls = nil
}

func (r *sqlRecorder) statements() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.sqls...)
}

// TestTransaction writes sessions through a Store on a user's transaction:
// they are there after a commit and gone after a rollback.
func TestTransaction(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			db, schema := tg.open(t, &gorm.Config{Logger: logger.Discard, PrepareStmt: true})
			ctx := testCtx(t)
			opts := sqlsession.Options{Table: testenv.Name("t"), Schema: schema}
			outside, err := gormstore.New(db, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer outside.Close()
			if err := outside.CreateTable(ctx); err != nil {
				t.Fatal(err)
			}
			defer db.Exec("DROP TABLE " + quote(db, schema, opts.Table))
			errRollback := errors.New("roll back")
			for _, commit := range []bool{false, true} {
				token := sqlsession.NewToken()
				err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
					inside, err := gormstore.New(tx, opts)
					if err != nil {
						return err
					}
					defer inside.Close()
					if err := inside.Save(ctx, token, []byte("in tx"), time.Now().Add(time.Hour)); err != nil {
						return err
					}
					if _, found, err := inside.Find(ctx, token); !found || err != nil {
						t.Errorf("Find() inside the transaction = %v, %v, want true, nil", found, err)
					}
					n := 0
					for _, err := range inside.All(ctx) {
						if err != nil {
							return err
						}
						n++
					}
					if n != 1 {
						t.Errorf("All() inside the transaction yielded %d sessions, want 1", n)
					}
					if _, found, err := outside.Find(ctx, token); found || err != nil {
						t.Errorf("Find() outside the open transaction = %v, %v, want false, nil", found, err)
					}
					if commit {
						return nil
					}
					return errRollback
				})
				if commit && err != nil || !commit && !errors.Is(err, errRollback) {
					t.Fatalf("Transaction(commit=%v) = %v", commit, err)
				}
				if _, found, err := outside.Find(ctx, token); found != commit || err != nil {
					t.Fatalf("Find() after the transaction (commit=%v) = %v, %v, want %v, nil", commit, found, err, commit)
				}
			}
		})
	}
}
