package sqlsession

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// NoColumn, as a column name of a [Layout], means the table has no such
// column.
const NoColumn = "-"

// Layout describes the session table: the names of its columns and how it
// stores expiries, data and keys. The zero Layout is the table that
// [Store.CreateTable] makes by default; a different Layout lets a Store use a
// table made by other software, such as a Node.js session store (see the
// README's "Coming from Node.js"). Every field documents its default.
type Layout struct {
	// Key, Data and Expiry name the three required columns. Defaults
	// "token", "data" and "expires_at".
	Key, Data, Expiry string

	// Version names the row version column, which [Store.SaveIf] compares
	// and which keeps deleted sessions deleted ([Options.DeleteGrace]).
	// Default "version"; [NoColumn] for a table without one: then SaveIf
	// returns [ErrNoVersion] and deletes remove rows at once.
	Version string

	// Created and Updated name the columns of the first and latest write
	// times. Default: "created_at" and "updated_at" with
	// [Options.Timestamps], otherwise none. Setting either turns timestamps
	// on.
	Created, Updated string

	// Owner names the owner column of [Options.Owner]. Default "owner".
	Owner string

	// Time is how the expiry and the timestamps are stored. Default
	// [UnixMilli].
	Time TimeFormat

	// JSON stores the data as text (a JSON document, as the Node.js stores
	// keep it) instead of bytes. Data must then be valid UTF-8 text, and
	// [Options.Keys] cannot be used. Default false: binary data.
	JSON bool

	// KeyPrefix is put before each stored key, as koa-generic-session keeps
	// "koa:sess:" + sid. Tokens are still given without it. Default "".
	KeyPrefix string
}

// TimeFormat is how a [Layout] stores times.
type TimeFormat int

// The time formats.
const (
	// UnixMilli stores milliseconds since 1970 in an integer column.
	UnixMilli TimeFormat = iota
	// UnixSeconds stores whole seconds since 1970 in an integer column,
	// rounded down (koa-generic-session-sequelize, -knex).
	UnixSeconds
	// Timestamp stores an SQL timestamp, always written in UTC with
	// millisecond precision (connect-session-sequelize, connect-pg-simple,
	// koa-pg-session). For a PostgreSQL "timestamp without time zone"
	// column, the connection's TimeZone must be UTC.
	Timestamp
)

// String returns the format's name.
func (f TimeFormat) String() string {
	switch f {
	case UnixMilli:
		return "UnixMilli"
	case UnixSeconds:
		return "UnixSeconds"
	case Timestamp:
		return "Timestamp"
	}
	return "TimeFormat(" + strconv.Itoa(int(f)) + ")"
}

// maxKeyPrefix bounds Layout.KeyPrefix, so that prefixed keys fit the key
// column.
const maxKeyPrefix = 64

// withDefaults validates l against o and fills in its defaults.
func (l Layout) withDefaults(o *Options) (Layout, error) {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&l.Key, colToken)
	def(&l.Data, colData)
	def(&l.Expiry, colExpires)
	def(&l.Version, colVersion)
	def(&l.Owner, colOwner)
	if o.Timestamps {
		def(&l.Created, colCreated)
		def(&l.Updated, colUpdated)
	}
	if l.Created == NoColumn {
		l.Created = ""
	}
	if l.Updated == NoColumn {
		l.Updated = ""
	}
	if (l.Created == "") != (l.Updated == "") {
		return l, fmt.Errorf("%w: Layout.Created and Layout.Updated go together", ErrInvalidOptions)
	}
	if l.Time < UnixMilli || l.Time > Timestamp {
		return l, fmt.Errorf("%w: Layout.Time %v", ErrInvalidOptions, l.Time)
	}
	if len(l.KeyPrefix) > maxKeyPrefix || !ValidToken("x"+l.KeyPrefix) {
		return l, fmt.Errorf("%w: Layout.KeyPrefix must be at most %d bytes of printable ASCII", ErrInvalidOptions, maxKeyPrefix)
	}
	if l.JSON && len(o.Keys) > 0 {
		return l, fmt.Errorf("%w: Options.Keys needs binary data, not Layout.JSON", ErrInvalidOptions)
	}
	seen := map[string]string{}
	for _, c := range l.columns() {
		if c.name == "" || c.name == NoColumn && c.optional {
			continue
		}
		if err := checkIdent("column", c.name); err != nil {
			return l, err
		}
		if prev, ok := seen[lower(c.name)]; ok {
			return l, fmt.Errorf("%w: Layout.%s and Layout.%s name the same column %q", ErrInvalidOptions, prev, c.field, c.name)
		}
		seen[lower(c.name)] = c.field
	}
	return l, nil
}

type layoutColumn struct {
	field, name string
	optional    bool
}

func (l *Layout) columns() []layoutColumn {
	return []layoutColumn{
		{"Key", l.Key, false}, {"Data", l.Data, false}, {"Expiry", l.Expiry, false},
		{"Version", l.Version, true}, {"Created", l.Created, true}, {"Updated", l.Updated, true},
		{"Owner", l.Owner, true},
	}
}

// versioned reports whether the table has a version column.
func (l *Layout) versioned() bool { return l.Version != NoColumn }

// timestamps reports whether the table has created and updated columns.
func (l *Layout) timestamps() bool { return l.Created != "" }

// timeArg returns t as the layout stores it, as a bind argument.
func (l *Layout) timeArg(d *dialect, t time.Time) any {
	switch l.Time {
	case UnixSeconds:
		return t.Unix()
	case Timestamp:
		return d.timeArg(t.UTC().Truncate(time.Millisecond))
	}
	return t.UnixMilli()
}

// timeScan is a scan destination for a time stored in any [TimeFormat], as
// any driver returns it.
type timeScan struct {
	f TimeFormat
	t time.Time
}

// Scan implements [database/sql.Scanner].
func (s *timeScan) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		s.t = time.Time{}
	case int64:
		s.t = s.fromInt(v)
	case float64:
		s.t = s.fromInt(int64(v))
	case time.Time:
		s.t = v
	case []byte:
		return s.parse(string(v))
	case string:
		return s.parse(v)
	default:
		return fmt.Errorf("sqlsession: a time stored as %T", v)
	}
	return nil
}

func (s *timeScan) fromInt(n int64) time.Time {
	if s.f == UnixSeconds {
		return time.Unix(n, 0)
	}
	return time.UnixMilli(n)
}

// timeLayouts are the text forms of timestamps that drivers return.
var timeLayouts = []string{
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999 -07:00",
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
}

func (s *timeScan) parse(v string) error {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		s.t = s.fromInt(n)
		return nil
	}
	v = strings.TrimSpace(v)
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			s.t = t
			return nil
		}
	}
	return fmt.Errorf("sqlsession: cannot read %q as a time", v)
}
