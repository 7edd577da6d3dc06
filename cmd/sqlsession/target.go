package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/dsn"
)

// defaultConnectTimeout is the default of --connect-timeout: how long the
// first contact with the database may take, so that a server that accepts
// connections but never answers gives an error instead of a hang.
const defaultConnectTimeout = 10 * time.Second

// dbFlags are the flags every database command takes.
type dbFlags struct {
	dsn, table, schema string
	connectTimeout     time.Duration
	wal                bool // SQLite: turn on write-ahead logging (the demo's own file)
}

func (c *cli) dbFlags(fs *flag.FlagSet) *dbFlags {
	f := &dbFlags{}
	fs.StringVar(&f.dsn, "dsn", "", "database `DSN` (default $"+dsnVar+")")
	f.define(fs, sqlsession.DefaultTable)
	return f
}

// define adds the flags other than --dsn, with the table's default name.
func (f *dbFlags) define(fs *flag.FlagSet, table string) {
	fs.StringVar(&f.table, "table", table, "session table `name`")
	fs.StringVar(&f.schema, "schema", "", "`schema` of the table (PostgreSQL, SQL Server; a MySQL database; an attached SQLite database); default the connection's")
	fs.DurationVar(&f.connectTimeout, "connect-timeout", defaultConnectTimeout, "time limit for connecting to the database")
}

// target is an open database and the session table the command works on.
type target struct {
	db     *sql.DB
	src    dsn.Source
	table  string
	schema string
}

// open parses the DSN, checks the table and schema names and connects.
// Unless create is set, a SQLite file must exist already. The caller closes
// the target.
func (c *cli) open(ctx context.Context, f *dbFlags, create bool) (*target, error) {
	d := f.dsn
	if d == "" {
		d = c.getenv(dsnVar)
	}
	switch {
	case d == "":
		return nil, usagef("--dsn is required (or set %s)", dsnVar)
	case f.table == "":
		return nil, usagef("--table must not be empty")
	case f.connectTimeout <= 0:
		return nil, usagef("--connect-timeout must be positive")
	}
	src, err := dsn.Parse(d)
	if err != nil {
		return nil, usagef("--dsn: %s", strings.TrimPrefix(err.Error(), "dsn: "))
	}
	if f.wal {
		src = src.WithPragma("journal_mode", "WAL")
	}
	if !create {
		if err := checkFile(src); err != nil {
			return nil, err
		}
	}
	db, err := src.Open()
	if err != nil {
		return nil, err
	}
	t := &target{db: db, src: src, table: f.table, schema: f.schema}
	// sqlsession.New validates the names; only names it accepts are quoted
	// into the SQL of this command.
	s, err := t.store(sqlsession.Options{})
	if err != nil {
		db.Close()
		if errors.Is(err, sqlsession.ErrUnsafeIdentifier) || errors.Is(err, sqlsession.ErrInvalidOptions) {
			return nil, usagef("%v", err)
		}
		return nil, err
	}
	s.Close()
	pctx, cancel := context.WithTimeout(ctx, f.connectTimeout)
	defer cancel()
	err = probeSQLServer(pctx, src, f.connectTimeout)
	if err == nil {
		err = db.PingContext(pctx)
	}
	if err != nil {
		db.Close()
		if ctx.Err() == nil && errors.Is(pctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("cannot connect to %s: no answer within %s (--connect-timeout): %w", src.Redacted, f.connectTimeout, err)
		}
		return nil, fmt.Errorf("cannot connect to %s: %w", src.Redacted, err)
	}
	return t, nil
}

// probeSQLServer pings a SQL Server within d through a pool of its own.
// pgx and go-sql-driver give up when the ping's ctx ends, even while they
// log in; go-mssqldb does not, and waits for a silent server's first answer
// forever. Its "connection timeout" bounds every read instead, which would
// also cut off a long query later: so only this probe, whose pool is closed
// at once, gets it (in whole seconds, at least one). Other sources pass.
func probeSQLServer(ctx context.Context, src dsn.Source, d time.Duration) error {
	if src.Driver != dsn.DriverSQLServer {
		return nil
	}
	u, err := url.Parse(src.DSN)
	if err != nil {
		return err // dsn.Parse accepted it: not reached
	}
	q := u.Query()
	for k := range q {
		switch strings.ToLower(k) {
		case "connection timeout", "connect timeout", "timeout":
			return nil // the DSN bounds the login itself
		}
	}
	q.Set("connection timeout", strconv.Itoa(int(max(time.Second, d+time.Second-1)/time.Second)))
	u.RawQuery = q.Encode()
	db, err := sql.Open(src.Driver, u.String())
	if err != nil {
		return err
	}
	defer db.Close()
	return db.PingContext(ctx)
}

func (t *target) Close() error { return t.db.Close() }

// store returns a Store on the target's table with opts.
func (t *target) store(opts sqlsession.Options) (*sqlsession.Store, error) {
	opts.Table, opts.Schema = t.table, t.schema
	return sqlsession.New(t.db, t.src.Dialect, opts)
}

// name is the table's name for messages: schema.table.
func (t *target) name() string {
	if t.schema != "" {
		return t.schema + "." + t.table
	}
	return t.table
}

// ident quotes identifiers in the target's dialect, joining them with dots.
// It is the one place where this command puts names into SQL, and it only
// sees names that sqlsession.New accepted (plain ASCII identifiers), or the
// fixed column names.
func (t *target) ident(names ...string) string {
	open, close := `"`, `"`
	switch t.src.Dialect {
	case sqlsession.MySQL:
		open, close = "`", "`"
	case sqlsession.SQLServer:
		open, close = "[", "]"
	}
	var quoted []string
	for _, n := range names {
		if n != "" {
			quoted = append(quoted, open+n+close)
		}
	}
	return strings.Join(quoted, ".")
}

// qualified is the quoted, schema-qualified table.
func (t *target) qualified() string { return t.ident(t.schema, t.table) }

// rebind turns the ? parameters of query into the dialect's: $1 for
// PostgreSQL, @p1 for SQL Server.
func (t *target) rebind(query string) string {
	var prefix string
	switch t.src.Dialect {
	case sqlsession.Postgres:
		prefix = "$"
	case sqlsession.SQLServer:
		prefix = "@p"
	default:
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString(prefix + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// columns maps the table's column names in lower case to their names as
// the database spells them; it is empty when the table does not exist.
func (t *target) columns(ctx context.Context) (map[string]string, error) {
	var q string
	args := []any{t.schema, t.table}
	switch t.src.Dialect {
	case sqlsession.Postgres:
		q = "SELECT column_name FROM information_schema.columns WHERE table_schema = COALESCE(NULLIF(?, ''), current_schema()) AND table_name = ?"
	case sqlsession.MySQL:
		q = "SELECT column_name FROM information_schema.columns WHERE table_schema = COALESCE(NULLIF(?, ''), DATABASE()) AND table_name = ?"
	case sqlsession.SQLServer:
		q = "SELECT column_name FROM information_schema.columns WHERE table_schema = COALESCE(NULLIF(?, ''), SCHEMA_NAME()) AND table_name = ?"
	default:
		q = "SELECT name FROM pragma_table_info(?, COALESCE(NULLIF(?, ''), 'main'))"
		args = []any{t.table, t.schema}
	}
	rows, err := t.db.QueryContext(ctx, t.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("read the columns of %s: %w", t.name(), err)
	}
	defer rows.Close()
	cols := map[string]string{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("read the columns of %s: %w", t.name(), err)
		}
		cols[strings.ToLower(name)] = name
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the columns of %s: %w", t.name(), err)
	}
	return cols, nil
}

// Columns of the session table that this command reads.
const (
	colToken   = "token"
	colData    = "data"
	colExpires = "expires_at"
	colCreated = "created_at"
	colUpdated = "updated_at"
	colOwner   = "owner"
)

// requireTable returns the table's columns after checking that it is a
// session table.
func (t *target) requireTable(ctx context.Context) (map[string]string, error) {
	cols, err := t.columns(ctx)
	if err != nil {
		return nil, err
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("table %s does not exist in %s (create it with 'sqlsession create-table')", t.name(), t.src.Redacted)
	}
	for _, c := range []string{colToken, colData, colExpires} {
		if cols[c] == "" {
			return nil, fmt.Errorf("table %s has no column %q: not a session table", t.name(), c)
		}
	}
	return cols, nil
}

// neverSaves is the Owner hook of the command's Stores: setting one turns
// on the owner column, and the command never saves a session.
func neverSaves([]byte) (string, error) {
	return "", errors.New("the sqlsession command never saves sessions")
}

// ownerStore returns a Store that can list and revoke by owner, reading the
// timestamps and every extra column the table has, and the names of those
// extra columns. It never saves, so its hooks only refuse.
func (t *target) ownerStore(cols map[string]string) (*sqlsession.Store, []string, error) {
	if cols[colOwner] == "" {
		return nil, nil, fmt.Errorf("table %s has no owner column: the application sets sqlsession.Options.Owner and its CreateTable adds one (or run 'sqlsession create-table --owner-column')", t.name())
	}
	opts := sqlsession.Options{Owner: neverSaves, Timestamps: cols[colCreated] != "" && cols[colUpdated] != ""}
	own := map[string]bool{colToken: true, colData: true, colExpires: true, colCreated: true, colUpdated: true, colOwner: true}
	var extras []string
	for lower, name := range cols {
		if own[lower] {
			continue
		}
		col := sqlsession.Column{Name: name, Type: "TEXT", Value: func([]byte) (any, error) { return nil, nil }}
		// A column whose name sqlsession refuses is left out of listings.
		if s, err := t.store(sqlsession.Options{Columns: []sqlsession.Column{col}}); err == nil {
			s.Close()
			opts.Columns = append(opts.Columns, col)
			extras = append(extras, name)
		}
	}
	slices.Sort(extras)
	slices.SortFunc(opts.Columns, func(a, b sqlsession.Column) int { return strings.Compare(a.Name, b.Name) })
	s, err := t.store(opts)
	return s, extras, err
}
