package sqlsession

import (
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
