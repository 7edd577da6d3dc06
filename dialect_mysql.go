package sqlsession

import (
	"strconv"
	"time"
)

// mysqlSQL is the SQL that only MySQL and MariaDB speak.
type mysqlSQL struct{}

func (mysqlSQL) types(l *Layout) columnTypes {
	ct := columnTypes{
		key: "VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin", data: "LONGBLOB", time: "BIGINT", integer: "BIGINT",
		// Binary, so that owners compare byte for byte: the _bin
		// collations of MySQL and MariaDB pad trailing spaces.
		owner: "VARBINARY(255)",
	}
	if l.KeyPrefix != "" {
		// Room for the prefix before the longest token.
		ct.key = "VARCHAR(" + strconv.Itoa(MaxTokenLength+len(l.KeyPrefix)) + ") CHARACTER SET ascii COLLATE ascii_bin"
	}
	if l.JSON {
		ct.data = "LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
	}
	if l.Time == Timestamp {
		ct.time = "DATETIME(3)"
	}
	return ct
}

func (mysqlSQL) createTable(s *schemaSpec) schemaSQL {
	cols := append(s.cols[:len(s.cols):len(s.cols)], "INDEX "+s.expIndexQ+" ("+s.exp+")")
	if s.o.Owner != nil {
		cols = append(cols, "INDEX "+s.ownerIndexQ+" ("+s.owner+")")
	}
	out := schemaSQL{
		create: []string{"CREATE TABLE IF NOT EXISTS " + s.table + " (" + join(cols) + ") ENGINE=InnoDB"},
		// MySQL has no CREATE INDEX IF NOT EXISTS: a table made elsewhere
		// (by hand, by an ORM, by an older version) gets its indexes only
		// where none leads with the column already.
		indexCount:    "SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema = COALESCE(NULLIF(?, ''), DATABASE()) AND table_name = ? AND column_name = ? AND seq_in_index = 1",
		columnIndexes: []columnIndex{{s.expName, "CREATE INDEX " + s.expIndexQ + " ON " + s.table + " (" + s.exp + ")"}},
		columns:       "SELECT column_name FROM information_schema.columns WHERE table_schema = COALESCE(NULLIF(?, ''), DATABASE()) AND table_name = ?",
	}
	if s.o.Owner != nil {
		out.columnIndexes = append(out.columnIndexes, columnIndex{s.ownerName, "CREATE INDEX " + s.ownerIndexQ + " ON " + s.table + " (" + s.owner + ")"})
		// Tables made before owners were binary get the binary type.
		out.ownerType = "SELECT DATA_TYPE FROM information_schema.columns WHERE table_schema = COALESCE(NULLIF(?, ''), DATABASE()) AND table_name = ? AND column_name = ?"
		out.ownerFix = "ALTER TABLE " + s.table + " MODIFY " + s.owner + " VARBINARY(255) NULL"
	}
	return out
}

func (mysqlSQL) addColumn(t, def string) string { return "ALTER TABLE " + t + " ADD COLUMN " + def }

func (mysqlSQL) upsert(t, key string, ins, vals, upd []string, ver string) string {
	set := make([]string, 0, len(upd)+1)
	for _, u := range upd {
		if ver == "" {
			set = append(set, u+" = VALUES("+u+")")
		} else {
			set = append(set, u+" = IF("+ver+" >= 0, VALUES("+u+"), "+u+")")
		}
	}
	if ver != "" {
		// Assignments run left to right: the version moves last, so every
		// condition before it sees the row's old version.
		set = append(set, ver+" = IF("+ver+" >= 0, "+ver+" + 1, "+ver+")")
	}
	return "INSERT INTO " + t + " (" + join(ins) + ") VALUES (" + join(vals) + ") ON DUPLICATE KEY UPDATE " + join(set)
}

func (mysqlSQL) deleteBatch(t, key, exp, ver string, p *params) batchSQL {
	// A DELETE that finds its rows through the expiry index takes
	// next-key locks on the range it scans, and so blocks live writes
	// into those gaps (a logout's tombstone lands at the start of the
	// range) until it commits. Instead the keys are read without locks
	// (a consistent read), then deleted by primary key, which locks only
	// the rows themselves; the condition is checked again, so a session
	// saved meanwhile stays.
	//
	// The read starts at the cursor: InnoDB purges deleted index entries
	// in the background, and until it has, a read from the oldest expiry
	// would walk them all again.
	pick := "SELECT " + key + ", " + exp + " FROM " + t + " WHERE " + expiredWhere(exp, ver, p) + " AND " + exp + " >= " + p.next() + " ORDER BY " + exp + " LIMIT " + p.next()
	return batchSQL{cursor: true, pick: pick, keys: func(n int) string {
		in := make([]string, n)
		for i := range in {
			in[i] = "?"
		}
		return "DELETE FROM " + t + " WHERE " + key + " IN (" + join(in) + ") AND " + expiredWhere(exp, ver, &params{d: p.d})
	}}
}

func (mysqlSQL) readMany(t, cols, key, exp string, keys []string, now string) string {
	return readIn(t, cols, key, exp, keys, now)
}

func (mysqlSQL) limit(query, n string) string { return query + " LIMIT " + n }

func (mysqlSQL) lock(*params) (string, string) {
	return "SELECT COALESCE(GET_LOCK(?, 0), 0)", "SELECT RELEASE_LOCK(?)"
}

func (mysqlSQL) ownerIs(col, p string) string { return col + " = " + p }

func (mysqlSQL) timeArg(t time.Time) any { return t }

// changeLog is an InnoDB table fed by row triggers on UPDATE and DELETE
// (MySQL has one event per trigger), made after looking them up since
// CREATE TRIGGER IF NOT EXISTS is MariaDB's only. The key column is a
// BLOB, so that no key another application writes can make its statement
// fail. TRUNCATE TABLE fires no trigger: after one, Cache.MaxAge is the
// bound.
func (mysqlSQL) changeLog(c *changeSpec) changeSQL {
	schema := "DATABASE()"
	if c.o.Schema != "" {
		schema = literal(c.o.Schema)
	}
	body := "INSERT INTO " + c.log + " (" + c.col + ") VALUES (OLD." + c.key + ")"
	if c.ver != "" {
		body = "BEGIN IF OLD." + c.ver + " >= 0 THEN " + body + "; END IF; END"
	}
	count := func(names ...string) string {
		in := make([]string, len(names))
		for i, n := range names {
			in[i] = literal(n)
		}
		return "SELECT COUNT(*) FROM information_schema.triggers WHERE trigger_schema = " + schema + " AND trigger_name IN (" + join(in) + ")"
	}
	name := func(suffix string) string { return c.logName + "_" + suffix }
	trigger := func(suffix, event string) guardedCreate {
		return guardedCreate{
			check:  count(name(suffix)),
			create: "CREATE TRIGGER " + c.d.ident(c.o.Schema, name(suffix)) + " AFTER " + event + " ON " + c.table + " FOR EACH ROW " + body,
		}
	}
	return changeSQL{
		create:   []string{"CREATE TABLE IF NOT EXISTS " + c.log + " (" + c.seq + " BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, " + c.col + " BLOB NOT NULL) ENGINE=InnoDB"},
		triggers: []guardedCreate{trigger("upd", "UPDATE"), trigger("del", "DELETE")},
		exists: "SELECT CASE WHEN (SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = " + schema + " AND table_name = " + literal(c.logName) + ") = 1 " +
			"AND (" + count(name("upd"), name("del")) + ") = 2 THEN 1 ELSE 0 END",
	}
}
