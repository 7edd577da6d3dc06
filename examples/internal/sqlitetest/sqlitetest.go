// Package sqlitetest gives the examples' tests a fresh SQLite database, of
// the kind the examples open by default.
package sqlitetest

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/sqlsession/sqlsession/examples/internal/database"
)

// Open opens a fresh SQLite file in t's temporary directory and closes it
// when t ends.
func Open(t *testing.T) *sql.DB {
	t.Helper()
	db, err := database.SQLite(filepath.Join(t.TempDir(), database.SQLiteFile))
	if err != nil {
		t.Fatalf("database.SQLite() = %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
