package sqlsession

import (
	"strconv"
	"strings"
)

// A Dialect is the SQL flavour a [Store] speaks. Use one of [Postgres], [MySQL],
// [SQLite] or [SQLServer]; the zero Dialect is invalid and makes [New] fail.
// Dialects are comparable values and safe for concurrent use.
type Dialect struct{ d *dialect }

// The built-in dialects.
var (
	// Postgres is PostgreSQL 12 or later, and servers that speak its dialect
	// (CockroachDB, YugabyteDB, on paper: see the README).
	Postgres = Dialect{&dialect{name: "postgres", quote: `""`, ph: numbered("$")}}
	// MySQL is MySQL 8 or later and MariaDB 10.5 or later.
	MySQL = Dialect{&dialect{name: "mysql", quote: "``", ph: positional}}
	// SQLite is SQLite 3.24 or later (upsert support).
	SQLite = Dialect{&dialect{name: "sqlite", quote: `""`, ph: positional}}
	// SQLServer is Microsoft SQL Server 2016 or later, with go-mssqldb's
	// @pN parameters.
	SQLServer = Dialect{&dialect{name: "sqlserver", quote: "[]", ph: numbered("@p")}}
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
}

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

// params hands out bind parameters in order.
type params struct {
	d *dialect
	n int
}

func (p *params) next() string { p.n++; return p.d.ph(p.n) }
