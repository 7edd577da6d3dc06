package pgxstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/internal/testenv"
	"github.com/sqlsession/sqlsession/pgxstore"
)

// benchStore is what the benchmarks call: the Store's methods.
type benchStore interface {
	Find(ctx context.Context, token string) ([]byte, bool, error)
	Save(ctx context.Context, token string, data []byte, expiry time.Time) error
	Delete(ctx context.Context, token string) error
}

// bare is the floor to compare with: bare pgxpool calls with the table and
// the statements of scs's pgxstore (TIMESTAMPTZ expiry, the server's clock,
// tokens stored as given).
type bare struct {
	pool                *pgxpool.Pool
	find, save, delete_ string
}

func newBare(b *testing.B, pool *pgxpool.Pool, schema string) *bare {
	t := pgx.Identifier{schema, "bare_sessions"}.Sanitize()
	ctx := testCtx(b)
	if _, err := pool.Exec(ctx, "CREATE TABLE "+t+" (token TEXT PRIMARY KEY, data BYTEA NOT NULL, expiry TIMESTAMPTZ NOT NULL)"); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "CREATE INDEX ON "+t+" (expiry)"); err != nil {
		b.Fatal(err)
	}
	return &bare{
		pool:    pool,
		find:    "SELECT data FROM " + t + " WHERE token = $1 AND current_timestamp < expiry",
		save:    "INSERT INTO " + t + " (token, data, expiry) VALUES ($1, $2, $3) ON CONFLICT (token) DO UPDATE SET data = EXCLUDED.data, expiry = EXCLUDED.expiry",
		delete_: "DELETE FROM " + t + " WHERE token = $1",
	}
}

func (s *bare) Find(ctx context.Context, token string) ([]byte, bool, error) {
	var data []byte
	err := s.pool.QueryRow(ctx, s.find, token).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	return data, err == nil, err
}

func (s *bare) Save(ctx context.Context, token string, data []byte, expiry time.Time) error {
	_, err := s.pool.Exec(ctx, s.save, token, data, expiry)
	return err
}

func (s *bare) Delete(ctx context.Context, token string) error {
	_, err := s.pool.Exec(ctx, s.delete_, token)
	return err
}

// BenchmarkStore measures one Find, Save (an update of an existing session)
// and Delete (of an absent token) against the PostgreSQL server of
// SQLSESSION_TEST_POSTGRES_DSN, for session data of 100 B and 4 KiB, through:
//
//   - pgxstore: this package, on a pgxpool in pgx's default mode;
//   - database-sql: the core Store on database/sql with pgx's stdlib driver,
//     over the same pool;
//   - bare-pgxpool: bare pool calls with scs's pgxstore statements, the floor.
//
// The sessions run with synchronous_commit=off. A round trip still dominates
// each call: the numbers bound the work per call on the client (allocations,
// hashing) and show the cost of database/sql.
func BenchmarkStore(b *testing.B) {
	pool, schema := testPool(b, testenv.PostgresDSN, func(c *pgxpool.Config) {
		// Commits do not wait for the WAL flush, whose time would drown
		// the differences between clients.
		c.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	})
	ctx := testCtx(b)
	opts := sqlsession.Options{Schema: schema, Table: "bench_sessions"}
	native, err := pgxstore.New(pool, opts)
	if err != nil {
		b.Fatal(err)
	}
	db := stdlib.OpenDBFromPool(pool)
	b.Cleanup(func() { db.Close() })
	viaSQL, err := sqlsession.New(db, sqlsession.Postgres, opts)
	if err != nil {
		b.Fatal(err)
	}
	if err := native.CreateTable(ctx); err != nil {
		b.Fatal(err)
	}
	stores := []struct {
		name string
		s    benchStore
	}{
		{"pgxstore", native},
		{"database-sql", viaSQL},
		{"bare-pgxpool", newBare(b, pool, schema)},
	}
	for _, size := range []int{100, 4096} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(i)
		}
		for _, st := range stores {
			token := sqlsession.NewToken()
			expiry := time.Now().Add(time.Hour)
			if err := st.s.Save(ctx, token, data, expiry); err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("Find/size=%d/%s", size, st.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, found, err := st.s.Find(ctx, token); err != nil || !found {
						b.Fatalf("Find() = %v, %v", found, err)
					}
				}
			})
			b.Run(fmt.Sprintf("Save/size=%d/%s", size, st.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := st.s.Save(ctx, token, data, expiry); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(fmt.Sprintf("Delete/size=%d/%s", size, st.name), func(b *testing.B) {
				b.ReportAllocs()
				absent := sqlsession.NewToken()
				for b.Loop() {
					if err := st.s.Delete(ctx, absent); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkDeleteExisting deletes sessions that exist, one each, under a
// context that is never cancelled (as scs's stores, which take none, use
// context.Background()), so that pgx's context watcher allocates nothing:
// what remains is the allocations of the delete itself, through this
// package and through the floor of BenchmarkStore (scs's pgxstore's
// statement). With -memprofile and -memprofilerate 1 it shows where each
// allocation is; the seeding's are not timed, but the profile holds them.
func BenchmarkDeleteExisting(b *testing.B) {
	pool, schema := testPool(b, testenv.PostgresDSN, func(c *pgxpool.Config) {
		c.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	})
	ctx := context.WithoutCancel(testCtx(b))
	native, err := pgxstore.New(pool, sqlsession.Options{Schema: schema, Table: "bench_sessions"})
	if err != nil {
		b.Fatal(err)
	}
	if err := native.CreateTable(ctx); err != nil {
		b.Fatal(err)
	}
	for _, st := range []struct {
		name string
		s    benchStore
	}{{"pgxstore", native}, {"bare-pgxpool", newBare(b, pool, schema)}} {
		b.Run(st.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				token := sqlsession.NewToken()
				if err := st.s.Save(ctx, token, []byte("x"), time.Now().Add(time.Hour)); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := st.s.Delete(ctx, token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
