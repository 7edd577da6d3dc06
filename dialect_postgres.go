package sqlsession

import (
	"strings"
	"time"
)

// postgresSQL is the SQL that only PostgreSQL speaks.
type postgresSQL struct{}

func (postgresSQL) types(l *Layout) columnTypes {
	ct := columnTypes{key: `TEXT COLLATE "C"`, data: "BYTEA", time: "BIGINT", integer: "BIGINT", owner: "TEXT"}
	if l.JSON {
		ct.data = "TEXT"
	}
	if l.Time == Timestamp {
		ct.time = "TIMESTAMPTZ(3)"
	}
	return ct
}

func (postgresSQL) createTable(s *schemaSpec) schemaSQL {
	// One DO block is one transaction: the advisory lock serializes
	// instances creating the table at once, which otherwise race in the
	// catalog (duplicate key in pg_class).
	out := schemaSQL{
		create: []string{"DO $$ BEGIN " +
			"PERFORM pg_advisory_xact_lock(hashtext('sqlsession:" + s.table + "')); " +
			"CREATE TABLE IF NOT EXISTS " + s.table + " (" + join(s.cols) + "); " +
			"CREATE INDEX IF NOT EXISTS " + s.expIndexQ + " ON " + s.table + " (" + s.exp + "); " +
			"END $$"},
		columns: "SELECT column_name FROM information_schema.columns WHERE table_schema = COALESCE(NULLIF($1, ''), current_schema()) AND table_name = $2",
	}
	if s.o.Owner != nil {
		out.indexes = []string{"CREATE INDEX IF NOT EXISTS " + s.ownerIndexQ + " ON " + s.table + " (" + s.owner + ")"}
	}
	return out
}

func (postgresSQL) addColumn(t, def string) string { return "ALTER TABLE " + t + " ADD COLUMN " + def }

func (postgresSQL) upsert(t, key string, ins, vals, upd []string, ver string) string {
	return upsertExcluded(t, key, ins, vals, upd, ver)
}

// upsertExcluded is the INSERT ... ON CONFLICT upsert of PostgreSQL and
// SQLite. A negative version (a tombstone) refuses the update.
func upsertExcluded(t, key string, ins, vals, upd []string, ver string) string {
	set := make([]string, len(upd))
	for i, u := range upd {
		set[i] = u + " = excluded." + u
	}
	q := "INSERT INTO " + t + " (" + join(ins) + ") VALUES (" + join(vals) + ") ON CONFLICT (" + key + ") DO UPDATE SET " + join(set)
	if ver != "" {
		q += ", " + ver + " = " + t + "." + ver + " + 1 WHERE " + t + "." + ver + " >= 0"
	}
	return q
}

func (postgresSQL) deleteBatch(t, key, exp, ver string, p *params) batchSQL {
	// The oldest expired keys from the cursor on, through the expiry
	// index, locked while they are picked: concurrent sweeps skip each
	// other's rows, and the batch locks only its own rows. The batch's
	// transaction commits without waiting for its WAL to reach the disk
	// (synchronous_commit off for it alone, set in the statement since the
	// Backend may be a pool): after a crash at worst the last batches are
	// undone, and their rows, still expired, go in the next sweep. Live
	// writes keep the server's setting.
	where := expiredWhere(exp, ver, p) + " AND " + exp + " >= " + p.next()
	return batchSQL{cursor: true, del: "WITH d AS (DELETE FROM " + t + " WHERE " + key + " IN (SELECT " + key + " FROM " + t + " WHERE " + where + " ORDER BY " + exp + " LIMIT " + p.next() + " FOR UPDATE SKIP LOCKED)" +
		" AND (SELECT set_config('synchronous_commit', 'off', true)) IS NOT NULL RETURNING " + exp + ") SELECT COUNT(*), MAX(" + exp + ") FROM d"}
}

// expiredWhere selects expired rows and tombstones past their grace:
// parameters now and, with a version column, the oldest tombstone version
// to keep.
func expiredWhere(exp, ver string, p *params) string {
	w := exp + " <= " + p.next()
	if ver != "" {
		w += " AND " + ver + " >= " + p.next()
	}
	return w
}

// readMany is one SELECT per key, joined by UNION ALL, each a probe of
// the primary key. A key IN (...) list is not: the plan PostgreSQL keeps
// for a prepared statement prices a scan of a small table (of a few
// thousand rows) below probes of its primary key, and that scan, which
// compares every row with every key, costs a batch of 8 to 32 keys 3 to 6
// times the probes. Every branch shares the parameter of now.
func (postgresSQL) readMany(t, cols, key, exp string, keys []string, now string) string {
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		b.WriteString("SELECT " + cols + " FROM " + t + " WHERE " + key + " = " + k + " AND " + exp + " > " + now)
	}
	return b.String()
}

func (postgresSQL) limit(query, n string) string { return query + " LIMIT " + n }

func (postgresSQL) lock(p *params) (string, string) {
	// Transaction-level: released when the pinned transaction ends.
	return "SELECT CASE WHEN pg_try_advisory_xact_lock(hashtext(" + p.next() + ")) THEN 1 ELSE 0 END", ""
}

func (postgresSQL) ownerIs(col, p string) string { return col + " = " + p }

func (postgresSQL) timeArg(t time.Time) any { return t }

// changeLog is an unlogged table (no WAL; a crash empties it, which the
// poller notices through pg_postmaster_start_time and answers with a
// flush) fed by a row trigger on UPDATE and DELETE with a one-statement
// function, the cheapest form measured. The sequence is logged, so that
// it never goes back. A TRUNCATE logs the empty key: every session.
func (postgresSQL) changeLog(c *changeSpec) changeSQL {
	seq := c.d.ident(c.o.Schema, c.logName+"_seq")
	fn, fnAll := c.d.ident(c.o.Schema, c.logName+"_fn"), c.d.ident(c.o.Schema, c.logName+"_truncate_fn")
	trg, trunc := c.logName, c.logName+"_truncate"
	ins := func(v string) string {
		return "BEGIN INSERT INTO " + c.log + " (" + c.col + ") VALUES (" + v + "); RETURN NULL; END"
	}
	when := ""
	if c.ver != "" {
		when = " WHEN (OLD." + c.ver + " >= 0)"
	}
	table := literal(c.table) + "::regclass"
	missing := func(name string) string {
		return "NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = " + table + " AND tgname = " + literal(name) + ")"
	}
	return changeSQL{
		create: []string{"DO $do$ BEGIN " +
			"PERFORM pg_advisory_xact_lock(hashtext('sqlsession:" + c.table + "')); " +
			"CREATE SEQUENCE IF NOT EXISTS " + seq + "; " +
			"CREATE UNLOGGED TABLE IF NOT EXISTS " + c.log + " (" + c.seq + " BIGINT NOT NULL DEFAULT nextval(" + literal(seq) + ") PRIMARY KEY, " + c.col + " TEXT NOT NULL); " +
			"ALTER SEQUENCE " + seq + " OWNED BY " + c.log + "." + c.seq + "; " +
			"CREATE OR REPLACE FUNCTION " + fn + "() RETURNS trigger LANGUAGE plpgsql AS $fn$ " + ins("OLD."+c.key) + " $fn$; " +
			"CREATE OR REPLACE FUNCTION " + fnAll + "() RETURNS trigger LANGUAGE plpgsql AS $fn$ " + ins("''") + " $fn$; " +
			"IF " + missing(trg) + " THEN CREATE TRIGGER " + c.d.ident(trg) + " AFTER UPDATE OR DELETE ON " + c.table +
			" FOR EACH ROW" + when + " EXECUTE FUNCTION " + fn + "(); END IF; " +
			"IF " + missing(trunc) + " THEN CREATE TRIGGER " + c.d.ident(trunc) + " AFTER TRUNCATE ON " + c.table +
			" FOR EACH STATEMENT EXECUTE FUNCTION " + fnAll + "(); END IF; " +
			"END $do$"},
		exists: "SELECT CASE WHEN to_regclass(" + literal(c.log) + ") IS NOT NULL AND to_regclass(" + literal(c.table) + ") IS NOT NULL AND " +
			"(SELECT COUNT(*) FROM pg_trigger WHERE tgrelid = to_regclass(" + literal(c.table) + ") AND tgname IN (" + literal(trg) + ", " + literal(trunc) + ")) = 2 THEN 1 ELSE 0 END",
		restart: "SELECT CAST(pg_postmaster_start_time() AS TEXT)",
	}
}
