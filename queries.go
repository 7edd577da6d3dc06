package sqlsession

import (
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
)

// queries is the SQL text of one Store, built once by New. Every value is a
// bind parameter; the comment on each field gives the arguments in order.
type queries struct {
	createTable []string // none
	columns     string   // schema, table: the table's column names
	addColumn   map[string]string
	find        string // token, now
	findExpiry  string // token, now: data and expiry, for sliding expiry
	save        string // token, data, expiry[, created, updated]
	touch       string // expiry[, updated], token, now
	delete      string // token
	deleteBatch string // now, limit
	count       string // now
	clear       string // none
	page        string // after, now, limit
}

// optionalColumns are added to an existing table by CreateTable when missing.
func optionalColumns(o *Options) []string {
	if o.Timestamps {
		return []string{colCreated, colUpdated}
	}
	return nil
}

func buildQueries(d *dialect, o *Options) queries {
	t := d.ident(o.Schema, o.Table)
	c := func(name string) string { return d.ident(name) }
	tok, data, exp := c(colToken), c(colData), c(colExpires)
	index := d.ident(o.Table + "_expires_at_idx")

	var q queries
	p := params{d: d}
	next := func() string { return p.next() }
	reset := func() { p = params{d: d} }

	// Schema.
	var tokType, dataType, intType string
	switch d.name {
	case "postgres":
		tokType, dataType, intType = `TEXT COLLATE "C"`, "BYTEA", "BIGINT"
	case "mysql":
		tokType, dataType, intType = "VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin", "LONGBLOB", "BIGINT"
	case "sqlite":
		tokType, dataType, intType = "TEXT", "BLOB", "INTEGER"
	case "sqlserver":
		tokType, dataType, intType = "NVARCHAR(255) COLLATE Latin1_General_BIN2", "VARBINARY(MAX)", "BIGINT"
	}
	cols := []string{
		tok + " " + tokType + " NOT NULL PRIMARY KEY",
		data + " " + dataType + " NOT NULL",
		exp + " " + intType + " NOT NULL",
	}
	q.addColumn = map[string]string{}
	for _, name := range optionalColumns(o) {
		def := c(name) + " " + intType + " NOT NULL DEFAULT 0"
		cols = append(cols, def)
		if d.name == "sqlserver" {
			q.addColumn[name] = "ALTER TABLE " + t + " ADD " + def
		} else {
			q.addColumn[name] = "ALTER TABLE " + t + " ADD COLUMN " + def
		}
	}
	switch d.name {
	case "postgres":
		// One DO block is one transaction: the advisory lock serializes
		// instances creating the table at once, which otherwise race in the
		// catalog (duplicate key in pg_class).
		q.createTable = []string{"DO $$ BEGIN " +
			"PERFORM pg_advisory_xact_lock(hashtext('sqlsession:" + t + "')); " +
			"CREATE TABLE IF NOT EXISTS " + t + " (" + strings.Join(cols, ", ") + "); " +
			"CREATE INDEX IF NOT EXISTS " + index + " ON " + t + " (" + exp + "); " +
			"END $$"}
		q.columns = "SELECT column_name FROM information_schema.columns WHERE table_schema = COALESCE(NULLIF($1, ''), current_schema()) AND table_name = $2"
	case "mysql":
		cols = append(cols, "INDEX "+index+" ("+exp+")")
		q.createTable = []string{"CREATE TABLE IF NOT EXISTS " + t + " (" + strings.Join(cols, ", ") + ") ENGINE=InnoDB"}
		q.columns = "SELECT column_name FROM information_schema.columns WHERE table_schema = COALESCE(NULLIF(?, ''), DATABASE()) AND table_name = ?"
	case "sqlite":
		q.createTable = []string{
			"CREATE TABLE IF NOT EXISTS " + t + " (" + strings.Join(cols, ", ") + ")",
			"CREATE INDEX IF NOT EXISTS " + d.ident(o.Schema, o.Table+"_expires_at_idx") + " ON " + d.ident(o.Table) + " (" + exp + ")",
		}
		q.columns = "SELECT name FROM pragma_table_info(?2, COALESCE(NULLIF(?1, ''), 'main'))"
	case "sqlserver":
		obj := "N'" + t + "'" // t is built from validated identifiers only
		q.createTable = []string{
			"IF OBJECT_ID(" + obj + ", N'U') IS NULL CREATE TABLE " + t + " (" + strings.Join(cols, ", ") + ")",
			"IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'" + o.Table + "_expires_at_idx' AND object_id = OBJECT_ID(" + obj + ")) CREATE INDEX " + index + " ON " + t + " (" + exp + ")",
		}
		q.columns = "SELECT column_name FROM information_schema.columns WHERE table_schema = COALESCE(NULLIF(@p1, ''), SCHEMA_NAME()) AND table_name = @p2"
	}

	// Reads.
	reset()
	q.find = fmt.Sprintf("SELECT %s FROM %s WHERE %s = %s AND %s > %s", data, t, tok, next(), exp, next())
	reset()
	q.findExpiry = fmt.Sprintf("SELECT %s, %s FROM %s WHERE %s = %s AND %s > %s", data, exp, t, tok, next(), exp, next())
	reset()
	q.count = fmt.Sprintf("SELECT COUNT(*) FROM %s WHERE %s > %s", t, exp, next())
	reset()
	if d.name == "sqlserver" {
		after, now := next(), next()
		q.page = fmt.Sprintf("SELECT TOP (%s) %s, %s, %s FROM %s WHERE %s > %s AND %s > %s ORDER BY %s", next(), tok, data, exp, t, tok, after, exp, now, tok)
	} else {
		q.page = fmt.Sprintf("SELECT %s, %s, %s FROM %s WHERE %s > %s AND %s > %s ORDER BY %s LIMIT %s", tok, data, exp, t, tok, next(), exp, next(), tok, next())
	}

	// Save: one atomic upsert.
	reset()
	insCols := []string{tok, data, exp}
	updCols := []string{data, exp}
	if o.Timestamps {
		insCols = append(insCols, c(colCreated), c(colUpdated))
		updCols = append(updCols, c(colUpdated))
	}
	vals := make([]string, len(insCols))
	for i := range vals {
		vals[i] = next()
	}
	set := make([]string, len(updCols))
	switch d.name {
	case "postgres", "sqlite":
		for i, u := range updCols {
			set[i] = u + " = excluded." + u
		}
		q.save = fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s) ON CONFLICT (%s) DO UPDATE SET %s",
			t, strings.Join(insCols, ", "), strings.Join(vals, ", "), tok, strings.Join(set, ", "))
	case "mysql":
		for i, u := range updCols {
			set[i] = u + " = VALUES(" + u + ")"
		}
		q.save = fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s) ON DUPLICATE KEY UPDATE %s",
			t, strings.Join(insCols, ", "), strings.Join(vals, ", "), strings.Join(set, ", "))
	case "sqlserver":
		src := make([]string, len(insCols))
		for i, col := range insCols {
			src[i] = "src." + col
		}
		for i, u := range updCols {
			set[i] = u + " = src." + u
		}
		q.save = fmt.Sprintf("MERGE INTO %s WITH (HOLDLOCK) AS dst USING (VALUES (%s)) AS src (%s) ON dst.%s = src.%s WHEN MATCHED THEN UPDATE SET %s WHEN NOT MATCHED THEN INSERT (%s) VALUES (%s);",
			t, strings.Join(vals, ", "), strings.Join(insCols, ", "), tok, tok, strings.Join(set, ", "), strings.Join(insCols, ", "), strings.Join(src, ", "))
	}

	// Touch moves the expiry of a live row only: it never resurrects.
	reset()
	touchSet := exp + " = " + next()
	if o.Timestamps {
		touchSet += ", " + c(colUpdated) + " = " + next()
	}
	q.touch = fmt.Sprintf("UPDATE %s SET %s WHERE %s = %s AND %s > %s", t, touchSet, tok, next(), exp, next())

	reset()
	q.delete = fmt.Sprintf("DELETE FROM %s WHERE %s = %s", t, tok, next())
	q.clear = "DELETE FROM " + t

	// Bounded batches, so a large backlog never holds long locks.
	reset()
	switch d.name {
	case "postgres":
		q.deleteBatch = fmt.Sprintf("DELETE FROM %s WHERE %s IN (SELECT %s FROM %s WHERE %s <= %s LIMIT %s FOR UPDATE SKIP LOCKED)", t, tok, tok, t, exp, next(), next())
	case "mysql":
		q.deleteBatch = fmt.Sprintf("DELETE FROM %s WHERE %s <= %s ORDER BY %s LIMIT %s", t, exp, next(), exp, next())
	case "sqlite":
		q.deleteBatch = fmt.Sprintf("DELETE FROM %s WHERE %s IN (SELECT %s FROM %s WHERE %s <= %s LIMIT %s)", t, tok, tok, t, exp, next(), next())
	case "sqlserver":
		now := next()
		q.deleteBatch = fmt.Sprintf("DELETE TOP (%s) FROM %s WHERE %s <= %s", next(), t, exp, now)
	}
	return q
}
