package sqlsession

import "time"

// sqliteSQL is the SQL that only SQLite speaks.
type sqliteSQL struct{}

func (sqliteSQL) types(l *Layout) columnTypes {
	ct := columnTypes{key: "TEXT", data: "BLOB", time: "INTEGER", integer: "INTEGER", owner: "TEXT"}
	if l.JSON {
		ct.data = "TEXT"
	}
	if l.Time == Timestamp {
		ct.time = "TEXT"
	}
	return ct
}

func (sqliteSQL) createTable(s *schemaSpec) schemaSQL {
	// SQLite names an index's schema on the index, not on its table.
	out := schemaSQL{
		create: []string{
			"CREATE TABLE IF NOT EXISTS " + s.table + " (" + join(s.cols) + ")",
			"CREATE INDEX IF NOT EXISTS " + s.d.ident(s.o.Schema, s.expIndex) + " ON " + s.d.ident(s.o.Table) + " (" + s.exp + ")",
		},
		columns: "SELECT name FROM pragma_table_info(?2, COALESCE(NULLIF(?1, ''), 'main'))",
	}
	if s.o.Owner != nil {
		out.indexes = []string{"CREATE INDEX IF NOT EXISTS " + s.d.ident(s.o.Schema, s.ownerIndex) + " ON " + s.d.ident(s.o.Table) + " (" + s.owner + ")"}
	}
	return out
}

func (sqliteSQL) addColumn(t, def string) string { return "ALTER TABLE " + t + " ADD COLUMN " + def }

func (sqliteSQL) upsert(t, key string, ins, vals, upd []string, ver string) string {
	return upsertExcluded(t, key, ins, vals, upd, ver)
}

func (sqliteSQL) deleteBatch(t, key, exp, ver string, p *params) batchSQL {
	// One writer blocks every other: DeleteExpired keeps these batches
	// small and commits each on its own, releasing the write lock between
	// them.
	return batchSQL{del: "DELETE FROM " + t + " WHERE " + key + " IN (SELECT " + key + " FROM " + t + " WHERE " + expiredWhere(exp, ver, p) + " LIMIT " + p.next() + ")"}
}

func (sqliteSQL) limit(query, n string) string { return query + " LIMIT " + n }

// SQLite has no named locks; its writers queue anyway.
func (sqliteSQL) lock(*params) (string, string) { return "", "" }

func (sqliteSQL) ownerIs(col, p string) string { return col + " = " + p }

// sqliteTime is the text form of timestamps in SQLite: UTC, fixed width,
// so that text order is time order.
const sqliteTime = "2006-01-02 15:04:05.000"

func (sqliteSQL) timeArg(t time.Time) any { return t.UTC().Format(sqliteTime) }
