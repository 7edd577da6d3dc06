package sqlsession

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// dump lists every statement of q, one per paragraph, in a stable order.
func (q queries) dump() string {
	var b strings.Builder
	add := func(name, sql string) { fmt.Fprintf(&b, "-- %s\n%s\n\n", name, sql) }
	for i, s := range q.createTable {
		add(fmt.Sprint("createTable[", i, "]"), s)
	}
	add("columns", q.columns)
	names := make([]string, 0, len(q.addColumn))
	for n := range q.addColumn {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		add("addColumn "+n, q.addColumn[n])
	}
	add("find", q.find)
	add("findExpiry", q.findExpiry)
	add("findMany[0]", q.findMany[0])
	add("save", q.save)
	add("saveIf", q.saveIf)
	add("touch", q.touch)
	add("delete", q.delete)
	add("tombstone", q.tombstone)
	add("deleteBatch", q.deleteBatch)
	if q.pickExpired != "" {
		add("pickExpired", q.pickExpired)
		add("deleteKeys[0]", q.deleteKeys[0])
	}
	add("count", q.count)
	add("clear", q.clear)
	add("page", q.page)
	if q.listOwner != "" {
		add("listOwner", q.listOwner)
		add("ownerKeys", q.ownerKeys)
		add("deleteOwner", q.deleteOwner)
		add("deleteOther", q.deleteOther)
		add("deleteOwnerNow", q.deleteOwnerNow)
		add("deleteOtherNow", q.deleteOtherNow)
		add("ownerHas", q.ownerHas)
	}
	if q.lock != "" {
		add("lock", q.lock)
		if q.unlock != "" {
			add("unlock", q.unlock)
		}
	}
	if q.ownerType != "" {
		add("ownerType", q.ownerType)
		add("ownerFix", q.ownerFix)
	}
	if q.indexCount != "" {
		add("indexCount", q.indexCount)
	}
	for _, ix := range q.columnIndexes {
		add("index on "+ix.column, ix.create)
	}
	for i, s := range q.indexes {
		add(fmt.Sprint("indexes[", i, "]"), s)
	}
	return b.String()
}

// TestGoldenSQL pins the SQL of every dialect. SQL Server's is checked here
// only: no server runs in CI. Run with -update after a deliberate change and
// review the diff.
func TestGoldenSQL(t *testing.T) {
	configs := []struct {
		name string
		opts Options
	}{
		{"default", Options{}},
		{"schema-timestamps", Options{Schema: "app", Table: "web_sessions", Timestamps: true}},
		{"owner-columns", Options{Owner: func([]byte) (string, error) { return "", nil }, Columns: []Column{
			{Name: "user_agent", Type: "VARCHAR(255)", Value: func([]byte) (any, error) { return nil, nil }},
			{Name: "tenant_id", Type: "BIGINT", Value: func([]byte) (any, error) { return nil, nil }},
		}}},
	}
	for _, d := range Dialects {
		for _, c := range configs {
			t.Run(d.Name()+"/"+c.name, func(t *testing.T) {
				opts, err := c.opts.withDefaults()
				if err != nil {
					t.Fatal(err)
				}
				got := buildQueries(d.d, &opts).dump()
				path := filepath.Join("testdata", "sql", d.Name()+"-"+c.name+".golden")
				if *update {
					os.MkdirAll(filepath.Dir(path), 0o755)
					if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if got != string(want) {
					t.Errorf("SQL for %s differs from %s:\n%s", d, path, got)
				}
			})
		}
	}
}

// TestPlaceholders checks that each statement numbers its parameters 1..n
// (PostgreSQL, SQL Server) or uses plain ? (MySQL, SQLite).
func TestPlaceholders(t *testing.T) {
	opts, _ := Options{Timestamps: true}.withDefaults()
	for _, d := range Dialects {
		q := buildQueries(d.d, &opts)
		for name, sql := range map[string]string{"find": q.find, "save": q.save, "touch": q.touch, "page": q.page, "deleteBatch": q.deleteBatch} {
			switch d {
			case Postgres, SQLServer:
				if strings.Contains(sql, "?") {
					t.Errorf("%s %s uses ?: %s", d, name, sql)
				}
			default:
				if strings.Contains(sql, "$1") || strings.Contains(sql, "@p1") {
					t.Errorf("%s %s uses numbered parameters: %s", d, name, sql)
				}
			}
		}
	}
}
