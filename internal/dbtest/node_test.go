package dbtest

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/internal/testenv"
	"github.com/sqlsession/sqlsession/nodesession"
	"github.com/sqlsession/sqlsession/sqlsessiontest"
)

// nodePresets are the nodesession presets, with the statements that make
// each Node.js store's table as the store itself does (checked against the
// real npm packages where they install; sequelize-session-store and
// koa-generic-session-knex are not on the registry, so theirs follow their
// READMEs). {T} is the quoted table name, {N} its bare name.
var nodePresets = []struct {
	name string
	opts func() sqlsession.Options
	ddl  map[string][]string // by dialect name; none: the store does not support it
}{
	{"ConnectPgSimple", nodesession.ConnectPgSimple, map[string][]string{
		"postgres": {`CREATE TABLE {T} ("sid" varchar NOT NULL COLLATE "default", "sess" json NOT NULL, "expire" timestamp(6) NOT NULL, CONSTRAINT "{N}_pkey" PRIMARY KEY ("sid"))`,
			`CREATE INDEX "IDX_{N}_expire" ON {T} ("expire")`},
	}},
	{"ConnectSessionSequelize", nodesession.ConnectSessionSequelize, map[string][]string{
		"postgres": {`CREATE TABLE {T} ("sid" VARCHAR(36), "expires" TIMESTAMP WITH TIME ZONE, "data" TEXT, "createdAt" TIMESTAMP WITH TIME ZONE NOT NULL, "updatedAt" TIMESTAMP WITH TIME ZONE NOT NULL, PRIMARY KEY ("sid"))`},
		"mysql":    {"CREATE TABLE {T} (`sid` varchar(36) NOT NULL, `expires` datetime DEFAULT NULL, `data` text DEFAULT NULL, `createdAt` datetime NOT NULL, `updatedAt` datetime NOT NULL, PRIMARY KEY (`sid`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"},
		"sqlite":   {"CREATE TABLE {T} (`sid` VARCHAR(36) PRIMARY KEY, `expires` DATETIME, `data` TEXT, `createdAt` DATETIME NOT NULL, `updatedAt` DATETIME NOT NULL)"},
	}},
	{"SequelizeSessionStore", nodesession.SequelizeSessionStore, map[string][]string{
		"postgres": {`CREATE TABLE {T} (sid VARCHAR NOT NULL, sess TEXT NOT NULL, expire TIMESTAMP(6) NOT NULL, PRIMARY KEY (sid))`},
		"mysql":    {"CREATE TABLE {T} (sid VARCHAR(255) NOT NULL, sess TEXT NOT NULL, expire DATETIME(6) NOT NULL, PRIMARY KEY (sid))"},
		"sqlite":   {"CREATE TABLE {T} (sid VARCHAR NOT NULL, sess TEXT NOT NULL, expire TIMESTAMP(6) NOT NULL, PRIMARY KEY (sid))"},
	}},
	{"KoaGenericSessionSequelize", nodesession.KoaGenericSessionSequelize, map[string][]string{
		"postgres": {`CREATE TABLE {T} ("id" VARCHAR(100), "data" TEXT, "expires" BIGINT, PRIMARY KEY ("id"))`, `CREATE INDEX "{N}_expires" ON {T} ("expires")`},
		"mysql":    {"CREATE TABLE {T} (`id` varchar(100) NOT NULL, `data` text DEFAULT NULL, `expires` bigint(20) DEFAULT NULL, PRIMARY KEY (`id`), KEY `{N}_expires` (`expires`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"},
		"sqlite":   {"CREATE TABLE {T} (`id` VARCHAR(100) PRIMARY KEY, `data` TEXT, `expires` BIGINT)"},
	}},
	{"KoaGenericSessionKnex", nodesession.KoaGenericSessionKnex, map[string][]string{
		"postgres": {`CREATE TABLE {T} ("id" varchar(100), "data" text, "expires" bigint, "created_at" timestamptz, "updated_at" timestamptz, PRIMARY KEY ("id"))`},
		"mysql":    {"CREATE TABLE {T} (`id` varchar(100) NOT NULL, `data` text, `expires` bigint, `created_at` timestamp NULL, `updated_at` timestamp NULL, PRIMARY KEY (`id`))"},
		"sqlite":   {"CREATE TABLE {T} (`id` varchar(100), `data` text, `expires` bigint, PRIMARY KEY (`id`))"},
	}},
	{"KoaPgSession", nodesession.KoaPgSession, map[string][]string{
		"postgres": {`CREATE TABLE IF NOT EXISTS {T} (id TEXT NOT NULL PRIMARY KEY, expiry timestamp NOT NULL, session JSON)`},
	}},
}

// TestNodePresetsKit runs the conformance kit on the layout of every
// preset, with plain tokens, on every database: the stores whose layouts
// are equal share a run.
func TestNodePresetsKit(t *testing.T) {
	var runs []sqlsession.Layout
	names := map[sqlsession.Layout][]string{}
	for _, p := range nodePresets {
		l := p.opts().Layout
		if names[l] == nil {
			runs = append(runs, l)
		}
		names[l] = append(names[l], p.name)
	}
	Each(t, Servers, func(t *testing.T, tg Target, db *sql.DB, schema string) {
		for _, l := range runs {
			t.Run(strings.Join(names[l], "+"), func(t *testing.T) {
				t.Parallel()
				sqlsessiontest.RunLayout(t, Factory(db, tg.Dialect, schema), l, true)
			})
		}
	})
}

// TestNodeTables uses each Node.js store's own table: CreateTable adds
// only the version column; rows the Go side writes hold what the Node.js
// store reads (the raw or prefixed session id, the JSON text, the expiry
// in the store's encoding); rows written as the Node.js store writes them
// (without the version column) are read and compare-and-swapped.
func TestNodeTables(t *testing.T) {
	Each(t, Servers, func(t *testing.T, tg Target, db *sql.DB, schema string) {
		for _, p := range nodePresets {
			ddl, ok := p.ddl[tg.Dialect.Name()]
			if !ok {
				continue // the store does not support this database
			}
			t.Run(p.name, func(t *testing.T) {
				opts := p.opts()
				opts.Table, opts.Schema = testenv.Name("node"), schema
				qt := QuotedTable(tg.Dialect, schema, opts.Table)
				for _, stmt := range ddl {
					if _, err := db.Exec(strings.NewReplacer("{T}", qt, "{N}", opts.Table).Replace(stmt)); err != nil {
						t.Fatalf("%s: %v", stmt, err)
					}
				}
				t.Cleanup(func() { db.Exec("DROP TABLE " + qt) })
				before := columns(t, db, tg.Dialect, schema, opts.Table)
				s, err := sqlsession.New(db, tg.Dialect, opts)
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				ctx := t.Context()
				if err := s.CreateTable(ctx); err != nil {
					t.Fatalf("CreateTable() on the Node.js table = %v", err)
				}
				after := columns(t, db, tg.Dialect, schema, opts.Table)
				if len(after) != len(before)+1 || !after["version"] {
					t.Errorf("CreateTable() changed the columns from %v to %v, want only version added", before, after)
				}
				if err := s.CheckTable(ctx); err != nil {
					t.Fatalf("CheckTable() = %v", err)
				}
				checkNodeRows(t, db, tg, qt, s)
			})
		}
	})
}

// checkNodeRows writes through s and reads the row as the Node.js store
// does, then writes a row as the Node.js store does and reads it through s.
func checkNodeRows(t *testing.T, db *sql.DB, tg Target, qt string, s *sqlsession.Store) {
	ctx := t.Context()
	l := s.Options().Layout
	q := func(c string) string {
		if tg.Dialect == sqlsession.MySQL {
			return "`" + c + "`"
		}
		return `"` + c + `"`
	}
	ph := func(n int) string {
		if tg.Dialect == sqlsession.Postgres {
			return fmt.Sprintf("$%d", n)
		}
		return "?"
	}
	sid := nodesession.NewSID()
	data := `{"cookie":{"originalMaxAge":3600000,"expires":"2030-01-01T00:00:00.000Z","httpOnly":true,"path":"/"},"user":"ada","n":1.50}`
	exp := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	if err := s.Save(ctx, sid, []byte(data), exp); err != nil {
		t.Fatalf("Save() = %v", err)
	}

	// As the Node.js store reads it: by the prefixed raw id.
	var gotData string
	var gotExp any
	row := db.QueryRowContext(ctx, "SELECT "+q(l.Data)+", "+q(l.Expiry)+" FROM "+qt+" WHERE "+q(l.Key)+" = "+ph(1), l.KeyPrefix+sid)
	if err := row.Scan(&gotData, &gotExp); err != nil {
		t.Fatalf("the Node.js store's read of %q: %v", l.KeyPrefix+sid, err)
	}
	if gotData != data {
		t.Errorf("stored data = %s, want the JSON text as given", gotData)
	}
	if got := nodeTime(t, l.Time, gotExp); got.Sub(exp).Abs() > time.Second {
		t.Errorf("stored expiry = %v (%v), want %v", gotExp, got, exp.UTC())
	}
	if l.Time == sqlsession.UnixSeconds {
		if n, ok := gotExp.(int64); !ok || n != exp.Unix() {
			t.Errorf("stored expiry = %v, want Unix seconds %d", gotExp, exp.Unix())
		}
	}
	if l.Created != "" {
		var created, updated any
		if err := db.QueryRowContext(ctx, "SELECT "+q(l.Created)+", "+q(l.Updated)+" FROM "+qt).Scan(&created, &updated); err != nil || created == nil || updated == nil {
			t.Errorf("%s, %s = %v, %v, %v: want both set, as Sequelize sets them", l.Created, l.Updated, created, updated, err)
		}
	}

	// As the Node.js store writes: no version column, its own id format.
	nodeSID := nodesession.NewSID()
	cols := []string{q(l.Key), q(l.Data), q(l.Expiry)}
	args := []any{l.KeyPrefix + nodeSID, `{"user":"grace"}`, nodeTimeArg(tg, l.Time, exp)}
	if l.Created != "" {
		cols = append(cols, q(l.Created), q(l.Updated))
		args = append(args, time.Now().UTC(), time.Now().UTC())
	}
	marks := make([]string, len(cols))
	for i := range marks {
		marks[i] = ph(i + 1)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO "+qt+" ("+strings.Join(cols, ", ")+") VALUES ("+strings.Join(marks, ", ")+")", args...); err != nil {
		t.Fatalf("insert as the Node.js store: %v", err)
	}
	e, found, err := s.Lookup(ctx, nodeSID)
	if err != nil || !found || string(e.Data) != `{"user":"grace"}` || e.Expiry.Sub(exp).Abs() > time.Second {
		t.Fatalf("Lookup(the Node.js row) = %q until %v, %v, %v; want its data until %v", e.Data, e.Expiry, found, err, exp)
	}
	if err := s.SaveIf(ctx, nodeSID, []byte(`{"user":"grace","go":true}`), exp, e.Version); err != nil {
		t.Fatalf("SaveIf(the Node.js row, version %d) = %v", e.Version, err)
	}
	if err := s.SaveIf(ctx, nodeSID, []byte(`{"stale":true}`), exp, e.Version); err != sqlsession.ErrConflict {
		t.Fatalf("SaveIf(stale version) = %v, want ErrConflict", err)
	}
	// A logout on the Node.js side deletes the row; nothing brings it back.
	if _, err := db.ExecContext(ctx, "DELETE FROM "+qt+" WHERE "+q(l.Key)+" = "+ph(1), l.KeyPrefix+nodeSID); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveIf(ctx, nodeSID, []byte(`{"late":true}`), exp, e.Version+1); err != sqlsession.ErrConflict {
		t.Fatalf("SaveIf(deleted by Node.js) = %v, want ErrConflict", err)
	}
	if err := s.Touch(ctx, nodeSID, exp); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := s.Lookup(ctx, nodeSID); found {
		t.Fatal("a session the Node.js app deleted came back")
	}
	// A Go logout deletes the row at once: no tombstone for the Node.js store to trip on.
	if err := s.Delete(ctx, sid); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+qt).Scan(&n); err != nil || n != 0 {
		t.Errorf("after both deletes the table holds %d rows (%v), want 0", n, err)
	}
}

// nodeTime reads an expiry as the driver returns it.
func nodeTime(t *testing.T, f sqlsession.TimeFormat, v any) time.Time {
	t.Helper()
	switch v := v.(type) {
	case int64:
		if f == sqlsession.UnixSeconds {
			return time.Unix(v, 0)
		}
		return time.UnixMilli(v)
	case time.Time:
		// A timestamp without time zone holds UTC.
		return time.Date(v.Year(), v.Month(), v.Day(), v.Hour(), v.Minute(), v.Second(), v.Nanosecond(), time.UTC)
	case []byte, string:
		s := fmt.Sprint(v)
		if b, ok := v.([]byte); ok {
			s = string(b)
		}
		for _, layout := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999 -07:00"} {
			if tm, err := time.Parse(layout, s); err == nil {
				return tm
			}
		}
	}
	t.Fatalf("expiry %T %v: not a time", v, v)
	return time.Time{}
}

// nodeTimeArg is an expiry as a Node.js store writes it.
func nodeTimeArg(tg Target, f sqlsession.TimeFormat, t time.Time) any {
	switch {
	case f == sqlsession.UnixSeconds:
		return t.Unix()
	case tg.Dialect == sqlsession.SQLite:
		return t.UTC().Format("2006-01-02 15:04:05.000 +00:00") // Sequelize's SQLite format
	}
	return t.UTC()
}

// columns returns the set of a table's column names.
func columns(t *testing.T, db *sql.DB, d sqlsession.Dialect, schema, table string) map[string]bool {
	t.Helper()
	var rows *sql.Rows
	var err error
	ctx := context.Background()
	switch d {
	case sqlsession.Postgres:
		rows, err = db.QueryContext(ctx, "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2", schema, table)
	case sqlsession.MySQL:
		rows, err = db.QueryContext(ctx, "SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ?", table)
	default:
		rows, err = db.QueryContext(ctx, "SELECT name FROM pragma_table_info(?)", table)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		out[c] = true
	}
	return out
}
