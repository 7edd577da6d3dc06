package sqlsession

import (
	"strconv"
	"strings"
	"time"
)

// sqlserverSQL is the SQL that only SQL Server speaks.
type sqlserverSQL struct{}

func (sqlserverSQL) types(l *Layout) columnTypes {
	ct := columnTypes{
		key: "NVARCHAR(255) COLLATE Latin1_General_BIN2", data: "VARBINARY(MAX)", time: "BIGINT", integer: "BIGINT",
		owner: "NVARCHAR(255) COLLATE Latin1_General_100_BIN2",
	}
	if l.KeyPrefix != "" {
		// Room for the prefix before the longest token.
		ct.key = "NVARCHAR(" + strconv.Itoa(MaxTokenLength+len(l.KeyPrefix)) + ") COLLATE Latin1_General_BIN2"
	}
	if l.JSON {
		ct.data = "NVARCHAR(MAX)"
	}
	if l.Time == Timestamp {
		ct.time = "DATETIME2(3)"
	}
	return ct
}

func (sqlserverSQL) createTable(s *schemaSpec) schemaSQL {
	obj := "N'" + s.table + "'" // built from validated identifiers only
	index := func(name, col string) string {
		return "IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'" + name + "' AND object_id = OBJECT_ID(" + obj + ")) CREATE INDEX " + s.d.ident(name) + " ON " + s.table + " (" + col + ")"
	}
	out := schemaSQL{
		create: []string{
			"IF OBJECT_ID(" + obj + ", N'U') IS NULL CREATE TABLE " + s.table + " (" + join(s.cols) + ")",
			index(s.expIndex, s.exp),
		},
		columns: "SELECT column_name FROM information_schema.columns WHERE table_schema = COALESCE(NULLIF(@p1, ''), SCHEMA_NAME()) AND table_name = @p2",
	}
	if s.o.Owner != nil {
		out.indexes = []string{index(s.ownerIndex, s.owner)}
	}
	return out
}

func (sqlserverSQL) addColumn(t, def string) string { return "ALTER TABLE " + t + " ADD " + def }

func (sqlserverSQL) upsert(t, key string, ins, vals, upd []string, ver string) string {
	src := make([]string, len(ins))
	for i, col := range ins {
		src[i] = "src." + col
	}
	set := make([]string, len(upd))
	for i, u := range upd {
		set[i] = u + " = src." + u
	}
	matched := "WHEN MATCHED THEN UPDATE SET " + join(set)
	if ver != "" {
		matched = "WHEN MATCHED AND dst." + ver + " >= 0 THEN UPDATE SET " + join(set) + ", " + ver + " = dst." + ver + " + 1"
	}
	return "MERGE INTO " + t + " WITH (HOLDLOCK) AS dst USING (VALUES (" + join(vals) + ")) AS src (" + join(ins) + ") ON dst." + key + " = src." + key +
		" " + matched + " WHEN NOT MATCHED THEN INSERT (" + join(ins) + ") VALUES (" + join(src) + ");"
}

func (sqlserverSQL) deleteBatch(t, key, exp, ver string, p *params) batchSQL {
	where := expiredWhere(exp, ver, p)
	return batchSQL{del: "DELETE TOP (" + p.next() + ") FROM " + t + " WHERE " + where}
}

func (sqlserverSQL) readMany(t, cols, key, exp string, keys []string, now string) string {
	return readIn(t, cols, key, exp, keys, now)
}

func (sqlserverSQL) limit(query, n string) string {
	return "SELECT TOP (" + n + ") " + strings.TrimPrefix(query, "SELECT ")
}

func (sqlserverSQL) lock(p *params) (string, string) {
	return "DECLARE @r INT; EXEC @r = sp_getapplock @Resource = " + p.next() + ", @LockMode = 'Exclusive', @LockOwner = 'Transaction', @LockTimeout = 0; SELECT CASE WHEN @r >= 0 THEN 1 ELSE 0 END", ""
}

// SQL Server's = ignores trailing spaces under every collation: the
// lengths must agree too.
func (sqlserverSQL) ownerIs(col, p string) string {
	return col + " = " + p + " AND DATALENGTH(" + col + ") = DATALENGTH(" + p + ")"
}

func (sqlserverSQL) timeArg(t time.Time) any { return t }

// changeLog is a table fed by one statement trigger on UPDATE and DELETE
// that logs the old keys (the deleted pseudo-table). CREATE TRIGGER must
// begin a batch, hence the EXEC. TRUNCATE TABLE fires no trigger: after
// one, Cache.MaxAge is the bound. Untested on a server (none runs in CI):
// the SQL is pinned by testdata/sql/sqlserver-cache.golden and was checked
// against the documented CREATE TRIGGER syntax (a DML trigger takes its
// table's schema; one AFTER trigger may name UPDATE and DELETE; deleted
// holds the old rows of both, and of MERGE's updates and deletes).
func (sqlserverSQL) changeLog(c *changeSpec) changeSQL {
	trg := c.d.ident(c.o.Schema, c.logName+"_trg")
	obj := func(q string) string { return "N'" + q + "'" } // validated identifiers only
	where := ""
	if c.ver != "" {
		where = " WHERE " + c.ver + " >= 0"
	}
	body := "CREATE TRIGGER " + trg + " ON " + c.table + " AFTER UPDATE, DELETE AS BEGIN SET NOCOUNT ON; " +
		"INSERT INTO " + c.log + " (" + c.col + ") SELECT " + c.key + " FROM deleted" + where + "; END"
	return changeSQL{
		create: []string{
			"IF OBJECT_ID(" + obj(c.log) + ", N'U') IS NULL CREATE TABLE " + c.log + " (" + c.seq + " BIGINT IDENTITY(1,1) NOT NULL PRIMARY KEY, " + c.col + " NVARCHAR(MAX) NOT NULL)",
			"IF OBJECT_ID(" + obj(trg) + ", N'TR') IS NULL EXEC(N'" + strings.ReplaceAll(body, "'", "''") + "')",
		},
		exists: "SELECT CASE WHEN OBJECT_ID(" + obj(c.log) + ", N'U') IS NOT NULL AND OBJECT_ID(" + obj(trg) + ", N'TR') IS NOT NULL THEN 1 ELSE 0 END",
	}
}
