package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/sqlsession/sqlsession"
)

// report is what "stats" finds. Sizes are of the data column, in bytes, over
// the live sessions.
//
// Its JSON form has the same keys for every table, so that scripts need no
// special case: the expiry range is null for an empty table, and without
// an owner column owner_column is false and owners holds zeros and an
// empty top list.
type report struct {
	Table        string     `json:"table"`
	Database     string     `json:"database"`
	Dialect      string     `json:"dialect"`
	Live         int64      `json:"live"`
	Expired      int64      `json:"expired"`
	DataBytes    dataSizes  `json:"data_bytes"`
	OldestExpiry *time.Time `json:"oldest_expiry"` // over all rows; null for an empty table
	NewestExpiry *time.Time `json:"newest_expiry"`
	OwnerColumn  bool       `json:"owner_column"` // whether the table has one
	Owners       ownerStats `json:"owners"`       // zeros without an owner column
}

type dataSizes struct {
	P50   int64 `json:"p50"`
	P90   int64 `json:"p90"`
	P99   int64 `json:"p99"`
	Max   int64 `json:"max"`
	Total int64 `json:"total"`
}

type ownerStats struct {
	Distinct  int64        `json:"distinct"`  // owners with a live session
	Anonymous int64        `json:"anonymous"` // live sessions without an owner
	Top       []ownerCount `json:"top"`       // most sessions first
}

type ownerCount struct {
	Owner    string `json:"owner"`
	Sessions int64  `json:"sessions"`
}

// stats runs "stats".
func (c *cli) stats(ctx context.Context, args []string) error {
	fs := c.flagSet("stats")
	f := c.dbFlags(fs)
	top := fs.Int("top", 10, "show the `N` owners with the most live sessions")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if *top < 0 {
		return usagef("--top must not be negative")
	}
	t, err := c.open(ctx, f, false)
	if err != nil {
		return err
	}
	defer t.Close()
	cols, err := t.requireTable(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	r, err := t.report(ctx, now, cols[colOwner] != "", *top)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(c.stdout, r)
	}
	r.print(c.stdout, now)
	return nil
}

// report gathers the statistics with plain aggregate queries; under write
// load they are a close estimate, not one snapshot.
func (t *target) report(ctx context.Context, now time.Time, hasOwner bool, top int) (*report, error) {
	r := &report{Table: t.name(), Database: t.src.Redacted, Dialect: t.src.Dialect.Name(), OwnerColumn: hasOwner, Owners: ownerStats{Top: []ownerCount{}}}
	tbl, exp, data, owner := t.qualified(), t.ident(colExpires), t.ident(colData), t.ident(colOwner)
	size := t.sizeOf(data)
	ms := now.UnixMilli()
	wrap := func(what string, err error) error {
		return fmt.Errorf("stats of %s: %s: %w", t.name(), what, err)
	}

	var all int64
	var oldest, newest sql.NullInt64
	q := fmt.Sprintf("SELECT COUNT(*), COALESCE(SUM(CASE WHEN %s > ? THEN 1 ELSE 0 END), 0), MIN(%s), MAX(%s) FROM %s", exp, exp, exp, tbl)
	if err := t.db.QueryRowContext(ctx, t.rebind(q), ms).Scan(&all, &r.Live, &oldest, &newest); err != nil {
		return nil, wrap("count", err)
	}
	r.Expired = all - r.Live
	if oldest.Valid {
		o, n := time.UnixMilli(oldest.Int64).UTC(), time.UnixMilli(newest.Int64).UTC()
		r.OldestExpiry, r.NewestExpiry = &o, &n
	}

	if r.Live > 0 {
		q = fmt.Sprintf("SELECT COALESCE(SUM(%s), 0), COALESCE(MAX(%s), 0) FROM %s WHERE %s > ?", size, size, tbl, exp)
		if err := t.db.QueryRowContext(ctx, t.rebind(q), ms).Scan(&r.DataBytes.Total, &r.DataBytes.Max); err != nil {
			return nil, wrap("data size", err)
		}
		for _, p := range []struct {
			dst *int64
			p   float64
		}{{&r.DataBytes.P50, 0.50}, {&r.DataBytes.P90, 0.90}, {&r.DataBytes.P99, 0.99}} {
			// Nearest rank: the smallest size with at least p of the
			// sessions at or below it.
			rank := int64(math.Ceil(p.p * float64(r.Live)))
			q := t.nth(fmt.Sprintf("SELECT %s FROM %s WHERE %s > ? ORDER BY %s", size, tbl, exp, size))
			err := t.db.QueryRowContext(ctx, t.rebind(q), ms, rank-1).Scan(p.dst)
			if errors.Is(err, sql.ErrNoRows) {
				// Sessions expired since the count.
				*p.dst = r.DataBytes.Max
			} else if err != nil {
				return nil, wrap("data size percentiles", err)
			}
		}
	}

	if !hasOwner {
		return r, nil
	}
	q = fmt.Sprintf("SELECT COUNT(DISTINCT %s), COALESCE(SUM(CASE WHEN %s IS NULL THEN 1 ELSE 0 END), 0) FROM %s WHERE %s > ?", owner, owner, tbl, exp)
	if err := t.db.QueryRowContext(ctx, t.rebind(q), ms).Scan(&r.Owners.Distinct, &r.Owners.Anonymous); err != nil {
		return nil, wrap("owners", err)
	}
	if top == 0 || r.Owners.Distinct == 0 {
		return r, nil
	}
	q = t.limit(fmt.Sprintf("SELECT %s, COUNT(*) FROM %s WHERE %s > ? AND %s IS NOT NULL GROUP BY %s ORDER BY COUNT(*) DESC, %s", owner, tbl, exp, owner, owner, owner))
	rows, err := t.db.QueryContext(ctx, t.rebind(q), ms, int64(top))
	if err != nil {
		return nil, wrap("top owners", err)
	}
	defer rows.Close()
	for rows.Next() {
		var oc ownerCount
		if err := rows.Scan(&oc.Owner, &oc.Sessions); err != nil {
			return nil, wrap("top owners", err)
		}
		r.Owners.Top = append(r.Owners.Top, oc)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("top owners", err)
	}
	return r, nil
}

// sizeOf is the SQL for the size in bytes of the quoted column col.
func (t *target) sizeOf(col string) string {
	switch t.src.Dialect {
	case sqlsession.Postgres:
		return "octet_length(" + col + ")"
	case sqlsession.MySQL:
		return "LENGTH(" + col + ")"
	case sqlsession.SQLServer:
		return "CAST(DATALENGTH(" + col + ") AS BIGINT)"
	default:
		return "length(CAST(" + col + " AS BLOB))"
	}
}

// nth appends "the row at offset ?" to an ordered query.
func (t *target) nth(query string) string {
	if t.src.Dialect == sqlsession.SQLServer {
		return query + " OFFSET ? ROWS FETCH NEXT 1 ROWS ONLY"
	}
	return query + " LIMIT 1 OFFSET ?"
}

// limit appends "at most ? rows" to an ordered query.
func (t *target) limit(query string) string {
	if t.src.Dialect == sqlsession.SQLServer {
		return query + " OFFSET 0 ROWS FETCH NEXT ? ROWS ONLY"
	}
	return query + " LIMIT ?"
}

// print writes the report for a person.
func (r *report) print(w io.Writer, now time.Time) {
	line := func(key, format string, args ...any) {
		fmt.Fprintf(w, "%-10s%s\n", key, fmt.Sprintf(format, args...))
	}
	line("table", "%s (%s, %s)", r.Table, r.Dialect, r.Database)
	sessions := fmt.Sprintf("%d live, %d expired", r.Live, r.Expired)
	if r.Expired > 0 {
		sessions += " (delete them with 'sqlsession cleanup')"
	}
	line("sessions", "%s", sessions)
	if r.Live > 0 {
		d := r.DataBytes
		line("data", "p50 %s, p90 %s, p99 %s, max %s; %s in all (live sessions)",
			byteSize(d.P50), byteSize(d.P90), byteSize(d.P99), byteSize(d.Max), byteSize(d.Total))
	}
	if r.OldestExpiry != nil {
		line("expiry", "oldest %s, newest %s", when(*r.OldestExpiry, now), when(*r.NewestExpiry, now))
	}
	if !r.OwnerColumn {
		line("owners", "no owner column")
		return
	}
	o := r.Owners
	line("owners", "%d %s, %d anonymous %s", o.Distinct, plural(o.Distinct, "owner", "owners"), o.Anonymous, plural(o.Anonymous, "session", "sessions"))
	if len(o.Top) == 0 {
		return
	}
	width := 0
	for _, oc := range o.Top {
		width = max(width, len([]rune(printable(oc.Owner))))
	}
	for i, oc := range o.Top {
		key := ""
		if i == 0 {
			key = "top"
		}
		name := printable(oc.Owner)
		line(key, "%s%s  %d", name, strings.Repeat(" ", width-len([]rune(name))), oc.Sessions)
	}
}

// byteSize formats a size: "512 B", "1.5 KiB", "3.0 MiB".
func byteSize(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v, unit := float64(n)/1024, "KiB"
	for _, u := range []string{"MiB", "GiB", "TiB"} {
		if v < 1024 {
			break
		}
		v, unit = v/1024, u
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}
