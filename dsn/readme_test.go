package dsn

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/sqlsession/sqlsession"
)

// TestReadmeDrivers checks the repository README's table of drivers: each
// row's DSN parses to the row's dialect, and where Parse picks that driver,
// to the row's sql.Open name.
func TestReadmeDrivers(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("not in the repository (a module zip has no ../README.md)")
	}
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(readme), "| database | dialect | driver to import | `sql.Open` name | DSN |\n|---|---|---|---|---|\n")
	if !ok {
		t.Fatal("README.md has no table of drivers")
	}
	rows := 0
	last := ""
	for _, line := range strings.Split(table, "\n") {
		if !strings.HasPrefix(line, "| ") {
			break
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 5 {
			t.Fatalf("README driver row %q has %d cells, want 5", line, len(cells))
		}
		for i := range cells {
			cells[i] = strings.Trim(strings.TrimSpace(cells[i]), "`")
		}
		dialect, name, dsn := strings.TrimPrefix(cells[1], "sqlsession."), strings.Trim(cells[3], `"`), cells[4]
		if dsn == "the same" {
			dsn = last
		}
		last = dsn
		rows++
		src, err := Parse(dsn)
		if err != nil {
			t.Errorf("README row %s: Parse(%q) = %v", cells[0], dsn, err)
			continue
		}
		want := map[string]sqlsession.Dialect{"SQLite": sqlsession.SQLite, "Postgres": sqlsession.Postgres, "MySQL": sqlsession.MySQL, "SQLServer": sqlsession.SQLServer}[dialect]
		if src.Dialect != want {
			t.Errorf("README row %s: Parse(%q).Dialect = %v, want %s", cells[0], dsn, src.Dialect, dialect)
		}
		if strings.Contains(cells[2], "lib/pq") {
			continue // Parse picks pgx for PostgreSQL
		}
		if src.Driver != name {
			t.Errorf("README row %s: Parse(%q).Driver = %q, but the README says sql.Open(%q)", cells[0], dsn, src.Driver, name)
		}
	}
	if rows < 4 {
		t.Errorf("README has %d rows of drivers, want one per database at least", rows)
	}
}
