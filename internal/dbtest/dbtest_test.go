package dbtest

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/lib/pq"
	_ "modernc.org/sqlite"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/internal/testenv"
	"github.com/sqlsession/sqlsession/sqlsessiontest"
)

// target is one database reached through one driver.
type target struct {
	name    string
	dialect sqlsession.Dialect
	open    func(t *testing.T) (db *sql.DB, schema string)
}

// sqliteDSN gives concurrent writers a busy timeout instead of "database is
// locked", and lets readers run beside the writer (WAL).
func sqliteDSN(path string) string {
	return "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
}

var targets = []target{
	{"sqlite/modernc", sqlsession.SQLite, func(t *testing.T) (*sql.DB, string) {
		db, err := sql.Open("sqlite", sqliteDSN(filepath.Join(t.TempDir(), "sessions.db")))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db, ""
	}},
	{"postgres/pgx", sqlsession.Postgres, func(t *testing.T) (*sql.DB, string) {
		return postgresSchema(t, testenv.Open(t, "pgx", testenv.PostgresDSN))
	}},
	{"postgres/libpq", sqlsession.Postgres, func(t *testing.T) (*sql.DB, string) {
		return postgresSchema(t, testenv.Open(t, "postgres", testenv.PostgresDSN))
	}},
	{"mysql/go-sql-driver", sqlsession.MySQL, func(t *testing.T) (*sql.DB, string) {
		return testenv.Open(t, "mysql", testenv.MySQLDSN), ""
	}},
}

// postgresSchema makes a schema for this test and drops it afterwards, so
// that the tests also cover Options.Schema.
func postgresSchema(t *testing.T, db *sql.DB) (*sql.DB, string) {
	schema := testenv.Name("sqlsession")
	if _, err := db.Exec(`CREATE SCHEMA "` + schema + `"`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Exec(`DROP SCHEMA "` + schema + `" CASCADE`) })
	return db, schema
}

// factory returns a NewStore that puts each test's tables in db and drops them
// when the test ends.
func factory(db *sql.DB, d sqlsession.Dialect, schema string) sqlsessiontest.NewStore {
	return func(t *testing.T, opts sqlsession.Options) *sqlsession.Store {
		if opts.Table == "" {
			opts.Table = testenv.Name("t")
			opts.Schema = schema
			t.Cleanup(func() { dropTable(db, d, schema, opts.Table) })
		}
		s, err := sqlsession.New(db, d, opts)
		if err != nil {
			t.Fatalf("sqlsession.New() = %v", err)
		}
		return s
	}
}

func quoted(d sqlsession.Dialect, schema, table string) string {
	q := func(s string) string {
		if d == sqlsession.MySQL {
			return "`" + s + "`"
		}
		return `"` + s + `"`
	}
	if schema != "" {
		return q(schema) + "." + q(table)
	}
	return q(table)
}

func dropTable(db *sql.DB, d sqlsession.Dialect, schema, table string) {
	db.Exec("DROP TABLE IF EXISTS " + quoted(d, schema, table))
}

func TestConformance(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			db, schema := tg.open(t)
			sqlsessiontest.Run(t, factory(db, tg.dialect, schema))
		})
	}
}

// TestTokensNotStoredInClear reads the table behind the Store's back: with
// the default options no column holds the token, and the listed keys are not
// the token either.
func TestTokensNotStoredInClear(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			db, schema := tg.open(t)
			s := factory(db, tg.dialect, schema)(t, sqlsession.Options{})
			ctx := context.Background()
			if err := s.CreateTable(ctx); err != nil {
				t.Fatal(err)
			}
			token := sqlsession.NewToken()
			if err := s.Save(ctx, token, []byte("payload"), time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			var stored string
			q := "SELECT token FROM " + quoted(tg.dialect, schema, s.Options().Table)
			if err := db.QueryRow(q).Scan(&stored); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(stored, token) || len(stored) != 43 {
				t.Fatalf("stored key = %q, want the 43-character digest of %q", stored, token)
			}
			for e, err := range s.All(ctx) {
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(e.Key, token) {
					t.Fatalf("All() key %q holds the token", e.Key)
				}
			}
		})
	}
}

// TestDatabaseGone closes the connection pool under a live Store: every call
// returns an error promptly, and none is a silent miss.
func TestDatabaseGone(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			db, schema := tg.open(t)
			s := factory(db, tg.dialect, schema)(t, sqlsession.Options{})
			ctx := context.Background()
			if err := s.CreateTable(ctx); err != nil {
				t.Fatal(err)
			}
			token := sqlsession.NewToken()
			if err := s.Save(ctx, token, []byte("x"), time.Time{}); err != nil {
				t.Fatal(err)
			}
			db.Close()
			if _, found, err := s.Find(ctx, token); err == nil || found {
				t.Fatalf("Find() on a closed pool = found %v, err %v, want an error", found, err)
			}
			if err := s.Save(ctx, token, []byte("y"), time.Time{}); err == nil {
				t.Fatal("Save() on a closed pool = nil, want an error")
			}
			if _, err := s.DeleteExpired(ctx); err == nil {
				t.Fatal("DeleteExpired() on a closed pool = nil, want an error")
			}
		})
	}
}

// TestSharedTableAcrossStores runs two Stores, as two app instances would, on
// one table: what one saves the other finds.
func TestSharedTableAcrossStores(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			db, schema := tg.open(t)
			newStore := factory(db, tg.dialect, schema)
			a := newStore(t, sqlsession.Options{})
			b := newStore(t, sqlsession.Options{Table: a.Options().Table, Schema: schema})
			ctx := context.Background()
			if err := a.CreateTable(ctx); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for i := 0; i < 8; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					tok := sqlsession.NewToken()
					if err := a.Save(ctx, tok, []byte(tok), time.Time{}); err != nil {
						t.Error(err)
						return
					}
					got, found, err := b.Find(ctx, tok)
					if err != nil || !found || string(got) != tok {
						t.Errorf("b.Find() = %q, %v, %v, want what a saved", got, found, err)
					}
				}()
			}
			wg.Wait()
		})
	}
}
