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

func (sqliteSQL) readMany(t, cols, key, exp string, keys []string, now string) string {
	return readIn(t, cols, key, exp, keys, now)
}

func (sqliteSQL) limit(query, n string) string { return query + " LIMIT " + n }

// SQLite has no named locks; its writers queue anyway.
func (sqliteSQL) lock(*params) (string, string) { return "", "" }

func (sqliteSQL) ownerIs(col, p string) string { return col + " = " + p }

// sqliteTime is the text form of timestamps in SQLite: UTC, fixed width,
// so that text order is time order.
const sqliteTime = "2006-01-02 15:04:05.000"

func (sqliteSQL) timeArg(t time.Time) any { return t.UTC().Format(sqliteTime) }

// changeLog is a table fed by row triggers on UPDATE and DELETE. Writers
// to one database take turns, so seqs become visible in order and there
// are no gaps. The seq is the plain rowid (AUTOINCREMENT's bookkeeping
// cost writes 10–20%): the newest row is never trimmed, so no seq is
// handed out twice, and a log emptied by hand is caught by the reader's
// check of MAX(seq). A trigger names its schema on itself, and the tables
// in it without one.
func (sqliteSQL) changeLog(c *changeSpec) changeSQL {
	log, table := c.d.ident(c.logName), c.d.ident(c.o.Table)
	when := ""
	if c.ver != "" {
		when = " WHEN OLD." + c.ver + " >= 0"
	}
	name := func(suffix string) string { return c.logName + "_" + suffix }
	trigger := func(suffix, event string) string {
		return "CREATE TRIGGER IF NOT EXISTS " + c.d.ident(c.o.Schema, name(suffix)) + " AFTER " + event + " ON " + table + when +
			" BEGIN INSERT INTO " + log + " (" + c.col + ") VALUES (OLD." + c.key + "); END"
	}
	schema := c.o.Schema
	if schema == "" {
		schema = "main"
	}
	master := c.d.ident(schema) + ".sqlite_master"
	return changeSQL{
		create: []string{
			"CREATE TABLE IF NOT EXISTS " + c.log + " (" + c.seq + " INTEGER PRIMARY KEY, " + c.col + " TEXT NOT NULL)",
			trigger("upd", "UPDATE"),
			trigger("del", "DELETE"),
		},
		exists: "SELECT CASE WHEN (SELECT COUNT(*) FROM " + master + " WHERE type = 'table' AND name = " + literal(c.logName) + ") = 1 " +
			"AND (SELECT COUNT(*) FROM " + master + " WHERE type = 'trigger' AND name IN (" + literal(name("upd")) + ", " + literal(name("del")) + ")) = 2 THEN 1 ELSE 0 END",
	}
}
