package sqlsession

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Column names of the session table. See the README for the schema per dialect.
const (
	colToken   = "token"
	colData    = "data"
	colExpires = "expires_at"
	colCreated = "created_at"
	colUpdated = "updated_at"
	colOwner   = "owner"
	colVersion = "version"
)

// requiredColumns are the columns every session table must have.
var requiredColumns = []string{colToken, colData, colExpires}

// maxOwnerSessions bounds what ListByOwner returns.
const maxOwnerSessions = 1000

// queries is the SQL text of one Store, built once by New. Every value is a
// bind parameter; the comment on each field gives the arguments in order.
type queries struct {
	createTable    []string          // none
	columns        string            // schema, table: the table's column names
	addColumn      map[string]string // by column name; none
	indexes        []string          // after columns exist; none
	indexCount     string            // schema, table, column: indexes led by the column, where CREATE INDEX has no IF NOT EXISTS
	columnIndexes  []columnIndex     // made when indexCount finds none
	optional       []string          // the names in addColumn, in order
	find           string            // token, now
	findExpiry     string            // token, now: data, expiry and version
	save           string            // token, data, expiry[, created, updated][, owner][, extras...]; refused by a tombstone
	saveIf         string            // data, expiry[, updated][, owner][, extras...], token, version, now
	touch          string            // expiry[, updated], token, now
	delete         string            // token: the row itself, at once
	tombstone      string            // data (empty), grace deadline, token: a deleted row that refuses saves
	deleteBatch    string            // now, -now, limit: expired rows and tombstones past their grace
	count          string            // now
	clear          string            // none
	page           string            // after, now, limit
	listOwner      string            // owner, now: token, expiry[, created, updated][, extras...]
	ownerKeys      string            // owner: token
	ownerHas       string            // token, owner, now: 1 if the token is a live session of owner
	deleteOwner    string            // data (empty), grace deadline, owner: tombstones
	deleteOther    string            // data (empty), grace deadline, owner, token: tombstones
	deleteOwnerNow string            // owner: without tombstones (Options.DeleteGrace < 0)
	deleteOtherNow string            // owner, token
	extraNames     []string          // Options.Columns names, in order
	lock           string            // lock name: 1 if taken, 0 if held elsewhere; "" without named locks
	unlock         string            // lock name; "" when the transaction's end releases the lock
	lockName       string
	ownerType      string   // schema, table: the owner column type, where ownerFix may be needed
	ownerFix       string   // none: makes the owner column compare byte for byte
	_              struct{} // keep fields aligned in gofmt
}

func buildQueries(d *dialect, o *Options) queries {
	t := d.ident(o.Schema, o.Table)
	c := func(name string) string { return d.ident(name) }
	tok, data, exp, owner, ver := c(colToken), c(colData), c(colExpires), c(colOwner), c(colVersion)
	expIndex := d.ident(o.Table + "_expires_at_idx")
	ownerIndex := d.ident(o.Table + "_owner_idx")

	var q queries
	p := params{d: d}
	next := func() string { return p.next() }
	reset := func() { p = params{d: d} }

	// Schema.
	var tokType, dataType, intType, ownerType string
	switch d.name {
	case "postgres":
		tokType, dataType, intType, ownerType = `TEXT COLLATE "C"`, "BYTEA", "BIGINT", "TEXT"
	case "mysql":
		tokType, dataType, intType = "VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin", "LONGBLOB", "BIGINT"
		// Binary, so that owners compare byte for byte: the _bin
		// collations of MySQL and MariaDB pad trailing spaces.
		ownerType = "VARBINARY(255)"
	case "sqlite":
		tokType, dataType, intType, ownerType = "TEXT", "BLOB", "INTEGER", "TEXT"
	case "sqlserver":
		tokType, dataType, intType, ownerType = "NVARCHAR(255) COLLATE Latin1_General_BIN2", "VARBINARY(MAX)", "BIGINT", "NVARCHAR(255) COLLATE Latin1_General_100_BIN2"
	}
	cols := []string{
		tok + " " + tokType + " NOT NULL PRIMARY KEY",
		data + " " + dataType + " NOT NULL",
		exp + " " + intType + " NOT NULL",
	}
	q.addColumn = map[string]string{}
	addOptional := func(name, def string) {
		cols = append(cols, def)
		q.optional = append(q.optional, name)
		switch d.name {
		case "sqlserver":
			q.addColumn[name] = "ALTER TABLE " + t + " ADD " + def
		case "mysql":
			q.addColumn[name] = "ALTER TABLE " + t + " ADD COLUMN " + def
		default:
			q.addColumn[name] = "ALTER TABLE " + t + " ADD COLUMN " + def
		}
	}
	// The row version: compare-and-swap writes, and tombstones (negative).
	addOptional(colVersion, c(colVersion)+" "+intType+" NOT NULL DEFAULT 0")
	if o.Timestamps {
		addOptional(colCreated, c(colCreated)+" "+intType+" NOT NULL DEFAULT 0")
		addOptional(colUpdated, c(colUpdated)+" "+intType+" NOT NULL DEFAULT 0")
	}
	if o.Owner != nil {
		addOptional(colOwner, owner+" "+ownerType+" NULL")
	}
	for _, col := range o.Columns {
		addOptional(lower(col.Name), c(col.Name)+" "+col.Type+" NULL")
		q.extraNames = append(q.extraNames, col.Name)
	}
	switch d.name {
	case "postgres":
		// One DO block is one transaction: the advisory lock serializes
		// instances creating the table at once, which otherwise race in the
		// catalog (duplicate key in pg_class).
		q.createTable = []string{"DO $$ BEGIN " +
			"PERFORM pg_advisory_xact_lock(hashtext('sqlsession:" + t + "')); " +
			"CREATE TABLE IF NOT EXISTS " + t + " (" + strings.Join(cols, ", ") + "); " +
			"CREATE INDEX IF NOT EXISTS " + expIndex + " ON " + t + " (" + exp + "); " +
			"END $$"}
		if o.Owner != nil {
			q.indexes = []string{"CREATE INDEX IF NOT EXISTS " + ownerIndex + " ON " + t + " (" + owner + ")"}
		}
		q.columns = "SELECT column_name FROM information_schema.columns WHERE table_schema = COALESCE(NULLIF($1, ''), current_schema()) AND table_name = $2"
	case "mysql":
		cols = append(cols, "INDEX "+expIndex+" ("+exp+")")
		if o.Owner != nil {
			cols = append(cols, "INDEX "+ownerIndex+" ("+owner+")")
		}
		q.createTable = []string{"CREATE TABLE IF NOT EXISTS " + t + " (" + strings.Join(cols, ", ") + ") ENGINE=InnoDB"}
		// MySQL has no CREATE INDEX IF NOT EXISTS: a table made elsewhere
		// (by hand, by an ORM, by an older version) gets its indexes only
		// where none leads with the column already.
		q.indexCount = "SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema = COALESCE(NULLIF(?, ''), DATABASE()) AND table_name = ? AND column_name = ? AND seq_in_index = 1"
		q.columnIndexes = []columnIndex{{colExpires, "CREATE INDEX " + expIndex + " ON " + t + " (" + exp + ")"}}
		if o.Owner != nil {
			q.columnIndexes = append(q.columnIndexes, columnIndex{colOwner, "CREATE INDEX " + ownerIndex + " ON " + t + " (" + owner + ")"})
		}
		q.columns = "SELECT column_name FROM information_schema.columns WHERE table_schema = COALESCE(NULLIF(?, ''), DATABASE()) AND table_name = ?"
		if o.Owner != nil {
			// Tables made before owners were binary get the binary type.
			q.ownerType = "SELECT DATA_TYPE FROM information_schema.columns WHERE table_schema = COALESCE(NULLIF(?, ''), DATABASE()) AND table_name = ? AND column_name = 'owner'"
			q.ownerFix = "ALTER TABLE " + t + " MODIFY " + owner + " " + ownerType + " NULL"
		}
	case "sqlite":
		q.createTable = []string{
			"CREATE TABLE IF NOT EXISTS " + t + " (" + strings.Join(cols, ", ") + ")",
			"CREATE INDEX IF NOT EXISTS " + d.ident(o.Schema, o.Table+"_expires_at_idx") + " ON " + d.ident(o.Table) + " (" + exp + ")",
		}
		if o.Owner != nil {
			q.indexes = []string{"CREATE INDEX IF NOT EXISTS " + d.ident(o.Schema, o.Table+"_owner_idx") + " ON " + d.ident(o.Table) + " (" + owner + ")"}
		}
		q.columns = "SELECT name FROM pragma_table_info(?2, COALESCE(NULLIF(?1, ''), 'main'))"
	case "sqlserver":
		obj := "N'" + t + "'" // t is built from validated identifiers only
		index := func(name, col string) string {
			return "IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'" + o.Table + name + "' AND object_id = OBJECT_ID(" + obj + ")) CREATE INDEX " + d.ident(o.Table+name) + " ON " + t + " (" + col + ")"
		}
		q.createTable = []string{
			"IF OBJECT_ID(" + obj + ", N'U') IS NULL CREATE TABLE " + t + " (" + strings.Join(cols, ", ") + ")",
			index("_expires_at_idx", exp),
		}
		if o.Owner != nil {
			q.indexes = []string{index("_owner_idx", owner)}
		}
		q.columns = "SELECT column_name FROM information_schema.columns WHERE table_schema = COALESCE(NULLIF(@p1, ''), SCHEMA_NAME()) AND table_name = @p2"
	}

	// Reads.
	reset()
	q.find = fmt.Sprintf("SELECT %s FROM %s WHERE %s = %s AND %s > %s", data, t, tok, next(), exp, next())
	reset()
	q.findExpiry = fmt.Sprintf("SELECT %s, %s, %s FROM %s WHERE %s = %s AND %s > %s", data, exp, ver, t, tok, next(), exp, next())
	reset()
	q.count = fmt.Sprintf("SELECT COUNT(*) FROM %s WHERE %s > %s", t, exp, next())
	reset()
	q.page = limit(d, fmt.Sprintf("SELECT %s, %s, %s FROM %s WHERE %s > %s AND %s > %s ORDER BY %s", tok, data, exp, t, tok, next(), exp, next(), tok), next())

	// Save: one atomic upsert.
	reset()
	insCols := []string{tok, data, exp}
	updCols := []string{data, exp}
	if o.Timestamps {
		insCols = append(insCols, c(colCreated), c(colUpdated))
		updCols = append(updCols, c(colUpdated))
	}
	if o.Owner != nil {
		insCols = append(insCols, owner)
		updCols = append(updCols, owner)
	}
	for _, col := range o.Columns {
		insCols = append(insCols, c(col.Name))
		updCols = append(updCols, c(col.Name))
	}
	vals := make([]string, len(insCols))
	for i := range vals {
		vals[i] = next()
	}
	set := make([]string, len(updCols))
	// Every save moves the version on; a tombstone (a negative version)
	// refuses the save in the same statement.
	switch d.name {
	case "postgres", "sqlite":
		for i, u := range updCols {
			set[i] = u + " = excluded." + u
		}
		q.save = fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s) ON CONFLICT (%s) DO UPDATE SET %s, %s = %s.%s + 1 WHERE %s.%s >= 0",
			t, strings.Join(insCols, ", "), strings.Join(vals, ", "), tok, strings.Join(set, ", "), ver, t, ver, t, ver)
	case "mysql":
		// Assignments run left to right: the version moves last, so every
		// condition before it sees the row's old version.
		for i, u := range updCols {
			set[i] = u + " = IF(" + ver + " >= 0, VALUES(" + u + "), " + u + ")"
		}
		q.save = fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s) ON DUPLICATE KEY UPDATE %s, %s = IF(%s >= 0, %s + 1, %s)",
			t, strings.Join(insCols, ", "), strings.Join(vals, ", "), strings.Join(set, ", "), ver, ver, ver, ver)
	case "sqlserver":
		src := make([]string, len(insCols))
		for i, col := range insCols {
			src[i] = "src." + col
		}
		for i, u := range updCols {
			set[i] = u + " = src." + u
		}
		q.save = fmt.Sprintf("MERGE INTO %s WITH (HOLDLOCK) AS dst USING (VALUES (%s)) AS src (%s) ON dst.%s = src.%s WHEN MATCHED AND dst.%s >= 0 THEN UPDATE SET %s, %s = dst.%s + 1 WHEN NOT MATCHED THEN INSERT (%s) VALUES (%s);",
			t, strings.Join(vals, ", "), strings.Join(insCols, ", "), tok, tok, ver, strings.Join(set, ", "), ver, ver, strings.Join(insCols, ", "), strings.Join(src, ", "))
	}

	// SaveIf: compare-and-swap on the version of a live row; never inserts.
	reset()
	casSet := []string{data + " = " + next(), exp + " = " + next()}
	if o.Timestamps {
		casSet = append(casSet, c(colUpdated)+" = "+next())
	}
	if o.Owner != nil {
		casSet = append(casSet, owner+" = "+next())
	}
	for _, col := range o.Columns {
		casSet = append(casSet, c(col.Name)+" = "+next())
	}
	casSet = append(casSet, ver+" = "+ver+" + 1")
	q.saveIf = fmt.Sprintf("UPDATE %s SET %s WHERE %s = %s AND %s = %s AND %s > %s",
		t, strings.Join(casSet, ", "), tok, next(), ver, next(), exp, next())

	// Touch moves the expiry of a live row only: it never resurrects.
	reset()
	touchSet := exp + " = " + next()
	if o.Timestamps {
		touchSet += ", " + c(colUpdated) + " = " + next()
	}
	q.touch = fmt.Sprintf("UPDATE %s SET %s WHERE %s = %s AND %s > %s", t, touchSet, tok, next(), exp, next())

	reset()
	q.delete = fmt.Sprintf("DELETE FROM %s WHERE %s = %s", t, tok, next())
	// A tombstone: dead to every reader (expired since 1970), empty, and
	// remembered until its grace deadline, kept negated in the version.
	reset()
	bury := fmt.Sprintf("%s = %s, %s = 0, %s = %s", data, next(), exp, ver, next())
	if o.Owner != nil {
		bury += ", " + owner + " = NULL"
	}
	q.tombstone = fmt.Sprintf("UPDATE %s SET %s WHERE %s = %s", t, bury, tok, next())
	q.clear = "DELETE FROM " + t

	// Bounded batches, so a large backlog never holds long locks.
	reset()
	switch d.name {
	case "postgres":
		q.deleteBatch = fmt.Sprintf("DELETE FROM %s WHERE %s IN (SELECT %s FROM %s WHERE %s <= %s AND %s >= %s LIMIT %s FOR UPDATE SKIP LOCKED)", t, tok, tok, t, exp, next(), ver, next(), next())
	case "mysql":
		q.deleteBatch = fmt.Sprintf("DELETE FROM %s WHERE %s <= %s AND %s >= %s ORDER BY %s LIMIT %s", t, exp, next(), ver, next(), exp, next())
	case "sqlite":
		q.deleteBatch = fmt.Sprintf("DELETE FROM %s WHERE %s IN (SELECT %s FROM %s WHERE %s <= %s AND %s >= %s LIMIT %s)", t, tok, tok, t, exp, next(), ver, next(), next())
	case "sqlserver":
		now, grace := next(), next()
		q.deleteBatch = fmt.Sprintf("DELETE TOP (%s) FROM %s WHERE %s <= %s AND %s >= %s", next(), t, exp, now, ver, grace)
	}

	// A named lock per table, so that instances sweep one at a time.
	sum := sha256.Sum256([]byte(t))
	q.lockName = "sqlsession_" + hex.EncodeToString(sum[:12])
	reset()
	switch d.name {
	case "postgres":
		// Transaction-level: released when the pinned transaction ends.
		q.lock = "SELECT CASE WHEN pg_try_advisory_xact_lock(hashtext(" + next() + ")) THEN 1 ELSE 0 END"
	case "mysql":
		q.lock = "SELECT COALESCE(GET_LOCK(?, 0), 0)"
		q.unlock = "SELECT RELEASE_LOCK(?)"
	case "sqlserver":
		q.lock = "DECLARE @r INT; EXEC @r = sp_getapplock @Resource = " + next() + ", @LockMode = 'Exclusive', @LockOwner = 'Transaction', @LockTimeout = 0; SELECT CASE WHEN @r >= 0 THEN 1 ELSE 0 END"
	}

	// Per-owner queries, through the owner index.
	if o.Owner != nil {
		sel := []string{tok, exp}
		if o.Timestamps {
			sel = append(sel, c(colCreated), c(colUpdated))
		}
		for _, col := range o.Columns {
			sel = append(sel, c(col.Name))
		}
		// Owners compare byte for byte. SQL Server's = ignores trailing
		// spaces under every collation: the lengths must agree too.
		ownerIs := func() string {
			p := next()
			if d.name == "sqlserver" {
				return owner + " = " + p + " AND DATALENGTH(" + owner + ") = DATALENGTH(" + p + ")"
			}
			return owner + " = " + p
		}
		reset()
		q.listOwner = limit(d, fmt.Sprintf("SELECT %s FROM %s WHERE %s AND %s > %s ORDER BY %s DESC",
			strings.Join(sel, ", "), t, ownerIs(), exp, next(), exp), fmt.Sprint(maxOwnerSessions))
		reset()
		q.ownerKeys = fmt.Sprintf("SELECT %s FROM %s WHERE %s", tok, t, ownerIs())
		reset()
		q.ownerHas = fmt.Sprintf("SELECT COUNT(*) FROM %s WHERE %s = %s AND %s AND %s > %s", t, tok, next(), ownerIs(), exp, next())
		bury := func() string {
			return fmt.Sprintf("%s = %s, %s = 0, %s = %s, %s = NULL", data, next(), exp, ver, next(), owner)
		}
		reset()
		q.deleteOwner = fmt.Sprintf("UPDATE %s SET %s WHERE %s", t, bury(), ownerIs())
		reset()
		q.deleteOther = fmt.Sprintf("UPDATE %s SET %s WHERE %s AND %s <> %s", t, bury(), ownerIs(), tok, next())
		reset()
		q.deleteOwnerNow = fmt.Sprintf("DELETE FROM %s WHERE %s", t, ownerIs())
		reset()
		q.deleteOtherNow = fmt.Sprintf("DELETE FROM %s WHERE %s AND %s <> %s", t, ownerIs(), tok, next())
	}
	return q
}

// columnIndex is an index that CreateTable makes when no index on the table
// starts with its column.
type columnIndex struct{ column, create string }

// limit adds a row limit to a SELECT: LIMIT n, or TOP (n) on SQL Server.
func limit(d *dialect, query, n string) string {
	if d.name == "sqlserver" {
		return "SELECT TOP (" + n + ") " + strings.TrimPrefix(query, "SELECT ")
	}
	return query + " LIMIT " + n
}
