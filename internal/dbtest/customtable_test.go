package dbtest

import (
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/internal/testenv"
)

// blobType is each dialect's type for session data in hand-made tables.
func blobType(d sqlsession.Dialect) string {
	switch d {
	case sqlsession.Postgres:
		return "BYTEA"
	case sqlsession.MySQL:
		return "LONGBLOB"
	}
	return "BLOB"
}

// TestCustomTable uses tables made by hand, as a user with their own model
// would: one with extra columns of the user's works; one lacking a required
// column is refused with the column's name.
func TestCustomTable(t *testing.T) {
	Each(t, Servers, func(t *testing.T, tg Target, db *sql.DB, schema string) {
		tests := []struct {
			name    string
			columns string
			missing string
		}{
			{"extra user columns", "token VARCHAR(255) NOT NULL PRIMARY KEY, data " + blobType(tg.Dialect) + " NOT NULL, expires_at BIGINT NOT NULL, version BIGINT NOT NULL DEFAULT 0, tenant VARCHAR(50) DEFAULT 'acme', note TEXT", ""},
			{"no data column", "token VARCHAR(255) NOT NULL PRIMARY KEY, expires_at BIGINT NOT NULL", "data"},
			{"no expiry column", "token VARCHAR(255) NOT NULL PRIMARY KEY, data " + blobType(tg.Dialect) + " NOT NULL", "expires_at"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				table := testenv.Name("custom")
				qt := QuotedTable(tg.Dialect, schema, table)
				if _, err := db.Exec("CREATE TABLE " + qt + " (" + tt.columns + ")"); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Exec("DROP TABLE " + qt) })
				s, err := sqlsession.New(db, tg.Dialect, sqlsession.Options{Table: table, Schema: schema})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				ctx := t.Context()
				for name, check := range map[string]func() error{
					"CheckTable":  func() error { return s.CheckTable(ctx) },
					"CreateTable": func() error { return s.CreateTable(ctx) },
				} {
					err := check()
					if tt.missing == "" && err != nil {
						t.Fatalf("%s() = %v, want nil", name, err)
					}
					if tt.missing != "" && (!errors.Is(err, sqlsession.ErrMissingColumn) || !strings.Contains(err.Error(), `"`+tt.missing+`"`)) {
						t.Fatalf("%s() = %v, want ErrMissingColumn naming %q", name, err, tt.missing)
					}
				}
				if tt.missing != "" {
					return
				}
				if n := expiryIndexes(t, db, tg.Dialect, schema, table); n != 1 {
					t.Fatalf("after CreateTable the hand-made table has %d indexes on expires_at, want 1", n)
				}
				tok := sqlsession.NewToken()
				if err := s.Save(ctx, tok, []byte("in a custom table"), time.Now().Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
				var tenant string
				if err := db.QueryRow("SELECT tenant FROM " + qt).Scan(&tenant); err != nil || tenant != "acme" {
					t.Fatalf("user column tenant = %q, %v, want its default kept", tenant, err)
				}
				if data, found, err := s.Find(ctx, tok); err != nil || !found || string(data) != "in a custom table" {
					t.Fatalf("Find() = %q, %v, %v", data, found, err)
				}
			})
		}
	})
	t.Run("missing table", func(t *testing.T) {
		db, _ := sqlite.Open(t)
		s, _ := sqlsession.New(db, sqlsession.SQLite, sqlsession.Options{Table: "nope"})
		defer s.Close()
		if err := s.CheckTable(t.Context()); !errors.Is(err, sqlsession.ErrMissingColumn) {
			t.Fatalf("CheckTable() on a missing table = %v, want ErrMissingColumn", err)
		}
	})
}

// expiryIndexes counts the table's indexes that lead with expires_at.
func expiryIndexes(t *testing.T, db *sql.DB, d sqlsession.Dialect, schema, table string) int {
	t.Helper()
	var q string
	args := []any{schema, table}
	switch d {
	case sqlsession.MySQL:
		q = "SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = ? AND column_name = 'expires_at' AND seq_in_index = 1"
		args = args[1:]
	case sqlsession.Postgres:
		q = "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 AND indexdef LIKE '%(expires_at)'"
	default:
		q = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql LIKE '%(\"expires_at\")'"
		args = args[1:]
	}
	var n int
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCreateTableLeavesForeignTables runs CreateTable on an application
// table that is not a session table (a typo in a table name): it fails
// naming a missing column and changes nothing, no index and no column.
func TestCreateTableLeavesForeignTables(t *testing.T) {
	Each(t, Servers, func(t *testing.T, tg Target, db *sql.DB, schema string) {
		table := testenv.Name("orders")
		qt := QuotedTable(tg.Dialect, schema, table)
		if _, err := db.Exec("CREATE TABLE " + qt + " (id BIGINT NOT NULL PRIMARY KEY, total BIGINT)"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Exec("DROP TABLE " + qt) })
		for _, opts := range []sqlsession.Options{
			{Table: table, Schema: schema},
			{Table: table, Schema: schema, Timestamps: true, Owner: func([]byte) (string, error) { return "", nil }},
		} {
			s, err := sqlsession.New(db, tg.Dialect, opts)
			if err != nil {
				t.Fatal(err)
			}
			err = s.CreateTable(t.Context())
			s.Close()
			if !errors.Is(err, sqlsession.ErrMissingColumn) {
				t.Fatalf("CreateTable(foreign table) = %v, want ErrMissingColumn", err)
			}
		}
		if n := expiryIndexes(t, db, tg.Dialect, schema, table); n != 0 {
			t.Errorf("the foreign table has %d indexes on expires_at after CreateTable, want 0", n)
		}
		if n := indexCount(t, db, tg.Dialect, schema, table); n != 0 {
			t.Errorf("the foreign table has %d secondary indexes after CreateTable, want 0", n)
		}
		rows, err := db.Query("SELECT * FROM " + qt)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		rows.Close()
		if len(cols) != 2 {
			t.Errorf("the foreign table has columns %v after CreateTable, want [id total]", cols)
		}
	})
}

// indexCount counts the secondary indexes of a table (not its primary key).
func indexCount(t *testing.T, db *sql.DB, d sqlsession.Dialect, schema, table string) int {
	t.Helper()
	var q string
	args := []any{schema, table}
	switch d {
	case sqlsession.MySQL:
		q = "SELECT COUNT(DISTINCT index_name) FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = ? AND index_name <> 'PRIMARY'"
		args = args[1:]
	case sqlsession.Postgres:
		q = "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 AND indexname NOT LIKE '%_pkey'"
	default:
		q = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL"
		args = args[1:]
	}
	var n int
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
