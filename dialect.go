package sqlsession

import (
	"strconv"
	"strings"
	"time"
)

// A Dialect is the SQL flavour a [Store] speaks. Use one of [Postgres], [MySQL],
// [SQLite] or [SQLServer]; the zero Dialect is invalid and makes [New] fail.
// Dialects are comparable values and safe for concurrent use.
//
// Each dialect is one small type in its own file (dialect_postgres.go and
// so on) that returns the SQL text only it writes; the statements that every
// dialect shares are built once, from a [Layout], in queries.go.
type Dialect struct{ d *dialect }

// The built-in dialects.
var (
	// Postgres is PostgreSQL 12 or later, and servers that speak its dialect
	// (CockroachDB, YugabyteDB, on paper: see the README).
	Postgres = Dialect{&dialect{name: "postgres", quote: `""`, ph: numbered("$"), sql: postgresSQL{}}}
	// MySQL is MySQL 8 or later and MariaDB 10.5 or later.
	MySQL = Dialect{&dialect{name: "mysql", quote: "``", ph: positional, sql: mysqlSQL{}}}
	// SQLite is SQLite 3.24 or later (upsert support).
	SQLite = Dialect{&dialect{name: "sqlite", quote: `""`, ph: positional, sql: sqliteSQL{}}}
	// SQLServer is Microsoft SQL Server 2016 or later, with go-mssqldb's
	// @pN parameters.
	SQLServer = Dialect{&dialect{name: "sqlserver", quote: "[]", ph: numbered("@p"), sql: sqlserverSQL{}}}
)

// Dialects lists the built-in dialects, for lookups by [Dialect.Name].
var Dialects = []Dialect{Postgres, MySQL, SQLite, SQLServer}

// LookupDialect returns the built-in dialect with the given [Dialect.Name]
// ("postgres", "mysql", "sqlite" or "sqlserver") and whether there is one.
func LookupDialect(name string) (Dialect, bool) {
	for _, d := range Dialects {
		if d.d.name == name {
			return d, true
		}
	}
	return Dialect{}, false
}

// Name returns the dialect's short name, such as "postgres"; "" for the zero Dialect.
func (d Dialect) Name() string {
	if d.d == nil {
		return ""
	}
	return d.d.name
}

// String returns the dialect's name.
func (d Dialect) String() string { return d.Name() }

type dialect struct {
	name  string
	quote string             // opening and closing identifier quote
	ph    func(n int) string // the nth bind parameter, counting from 1
	sql   dialectSQL
}

// dialectSQL is what one dialect writes differently from the others. Table
// and column names arrive quoted; p hands out the bind parameters of the
// statement being built, in order.
type dialectSQL interface {
	// types returns the column types of a layout.
	types(l *Layout) columnTypes
	// createTable returns the statements that create the table t (with
	// columns cols) and its expiry index if they are missing, and the
	// statements that find or make its other indexes.
	createTable(s *schemaSpec) schemaSQL
	// addColumn adds a column, given as its definition, to table t.
	addColumn(t, def string) string
	// upsert inserts a row or, when a row with the key exists whose version
	// is not negative, updates it and moves its version on. ins are the
	// inserted columns (key first) with their parameters vals; upd the
	// columns an update sets; ver the version column, "" for none.
	upsert(t, key string, ins, vals, upd []string, ver string) string
	// deleteBatch is how the dialect deletes a batch of expired rows and
	// tombstones past their grace (see batchSQL). Parameters: now, the
	// oldest tombstone version to keep (none when ver is ""), with a cursor
	// the expiry to start at, then a limit or the keys.
	deleteBatch(t, key, exp, ver string, p *params) batchSQL
	// limit adds a row limit n to a SELECT.
	limit(query, n string) string
	// readMany selects cols (the key first) of the live rows of keys (their
	// parameters) in table t: those whose expiry exp is after now.
	readMany(t, cols, key, exp string, keys []string, now string) string
	// lock and unlock take and release the table's sweep lock by name
	// (a parameter); "" where the dialect has none or the transaction's
	// end releases it.
	lock(p *params) (lock, unlock string)
	// ownerIs compares the owner column with parameter p byte for byte.
	ownerIs(col, p string) string
	// timeArg is a time in UTC as a bind argument for a timestamp column.
	timeArg(t time.Time) any
	// changeLog returns the change log of the session cache: a table of
	// (seq, key) rows and the triggers that append the key of every row
	// inserted, updated or deleted in the session table, in the same
	// transaction (see changes.go).
	changeLog(c *changeSpec) changeSQL
}

// readIn is readMany as one key IN (...) list: what the planners of
// MySQL, MariaDB, SQLite and SQL Server answer with a probe of the primary
// key per key.
func readIn(t, cols, key, exp string, keys []string, now string) string {
	return "SELECT " + cols + " FROM " + t + " WHERE " + key + " IN (" + join(keys) + ") AND " + exp + " > " + now
}

// batchSQL deletes one batch of expired rows: either one statement, del
// (now[, -now][, from], limit), or a read of keys without locks, pick (the
// same parameters), followed by deletes of n of those keys that are still
// expired, keys(n) (n keys, now[, -now]).
//
// With cursor set, the batches walk the expiry index as a keyset cursor:
// del and pick take from, the expiry the previous batch reached (the
// oldest tombstone's, 1970, for the first), and start their scan there;
// del returns one row (the rows it deleted, the latest of their expiries)
// and pick each key with its expiry, in expiry order. Where deleted rows
// leave dead index entries behind until a vacuum or purge (PostgreSQL,
// InnoDB), a batch that started from the oldest expiry again would walk
// every entry the sweep had already deleted, and slow down as it went.
type batchSQL struct {
	del, pick string
	keys      func(n int) string
	cursor    bool
}

// columnTypes are a dialect's SQL types for the columns of a layout.
type columnTypes struct {
	key, data, time, integer, owner string
}

// schemaSpec is what createTable needs to know of the table.
type schemaSpec struct {
	o                      *Options
	table                  string // quoted, with its schema
	cols                   []string
	exp, owner             string // quoted column names
	expName, ownerName     string // unquoted column names, as the catalog holds them
	expIndex, ownerIndex   string // index names, unquoted
	expIndexQ, ownerIndexQ string // quoted, and schema-qualified where the dialect wants it
	d                      *dialect
}

// schemaSQL is a dialect's answer to createTable.
type schemaSQL struct {
	create        []string      // creates the table and its expiry index
	indexes       []string      // after optional columns exist
	indexCount    string        // schema, table, column: indexes led by the column
	columnIndexes []columnIndex // made when indexCount finds none
	columns       string        // schema, table: the table's column names
	ownerType     string        // schema, table, column: the owner column's type
	ownerFix      string        // makes the owner column compare byte for byte
}

// columnIndex is an index that CreateTable makes when no index on the table
// starts with its column.
type columnIndex struct{ column, create string }

func numbered(prefix string) func(int) string {
	return func(n int) string { return prefix + strconv.Itoa(n) }
}

func positional(int) string { return "?" }

// ident quotes validated identifiers, joining them with dots. It is the one
// place where names enter SQL text.
func (d *dialect) ident(names ...string) string {
	var b strings.Builder
	for i, n := range names {
		if n == "" {
			continue
		}
		if i > 0 && b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteByte(d.quote[0])
		b.WriteString(n)
		b.WriteByte(d.quote[1])
	}
	return b.String()
}

func (d *dialect) timeArg(t time.Time) any { return d.sql.timeArg(t) }

// params hands out bind parameters in order.
type params struct {
	d *dialect
	n int
}

func (p *params) next() string { p.n++; return p.d.ph(p.n) }
