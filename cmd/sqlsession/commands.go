package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"

	"github.com/sqlsession/sqlsession"
)

// createTable runs "create-table".
func (c *cli) createTable(ctx context.Context, args []string) error {
	fs := c.flagSet("create-table")
	f := c.dbFlags(fs)
	timeout := fs.Duration("timeout", 3*time.Second, "time limit for connecting and creating")
	timestamps := fs.Bool("timestamps", false, "add the created_at and updated_at columns (sqlsession.Options.Timestamps)")
	owner := fs.Bool("owner-column", false, "add the indexed owner column (sqlsession.Options.Owner)")
	cache := fs.Bool("cache", false, "also install the change log and trigger of the session cache (sqlsession.Options.Cache)")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if *timeout <= 0 {
		return usagef("--timeout must be positive")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	t, err := c.open(ctx, f, true)
	if err != nil {
		return timedOut(ctx, *timeout, err)
	}
	defer t.Close()
	opts := sqlsession.Options{Timestamps: *timestamps}
	if *owner {
		opts.Owner = neverSaves
	}
	if *cache {
		// Any bound turns the cache on, and with it CreateTable's change
		// log; this Store never reads, so nothing is cached or polled.
		opts.Cache = sqlsession.CacheOptions{MaxEntries: 1}
	}
	s, err := t.store(opts)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.CreateTable(ctx); err != nil {
		return timedOut(ctx, *timeout, err)
	}
	if *cache {
		fmt.Fprintf(c.stdout, "table %s and the change log of the session cache are ready in %s\n", t.name(), t.src.Redacted)
		return nil
	}
	fmt.Fprintf(c.stdout, "table %s is ready in %s\n", t.name(), t.src.Redacted)
	return nil
}

// timedOut names the --timeout flag when ctx ran out.
func timedOut(ctx context.Context, d time.Duration, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("timed out after %s (--timeout): %w", d, err)
	}
	return err
}

// list runs "list": the live sessions of one owner.
func (c *cli) list(ctx context.Context, args []string) error {
	fs := c.flagSet("list")
	f := c.dbFlags(fs)
	owner := fs.String("owner", "", "the `owner` whose sessions to list (required)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if *owner == "" {
		return usagef("--owner is required")
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
	s, extras, err := t.ownerStore(cols)
	if err != nil {
		return err
	}
	defer s.Close()
	infos, err := s.ListByOwner(ctx, *owner)
	if err != nil {
		return err
	}
	if *asJSON {
		type session struct {
			ID      string         `json:"id"`
			Created *time.Time     `json:"created,omitempty"`
			Updated *time.Time     `json:"updated,omitempty"`
			Expiry  time.Time      `json:"expiry"`
			Columns map[string]any `json:"columns,omitempty"`
		}
		out := []session{}
		for _, in := range infos {
			out = append(out, session{ID: in.ID, Created: optTime(in.Created), Updated: optTime(in.Updated), Expiry: in.Expiry.UTC(), Columns: in.Columns})
		}
		return writeJSON(c.stdout, out)
	}
	if len(infos) == 0 {
		fmt.Fprintf(c.stdout, "%s has no live session\n", *owner)
		return nil
	}
	now := time.Now()
	head := []string{"ID", "CREATED", "LAST SEEN", "EXPIRES"}
	for _, e := range extras {
		head = append(head, strings.ToUpper(e))
	}
	rows := [][]string{head}
	for _, in := range infos {
		row := []string{in.ID, when(in.Created, now), when(in.Updated, now), when(in.Expiry, now)}
		for _, e := range extras {
			v := in.Columns[e]
			if v == nil {
				row = append(row, "-")
			} else {
				row = append(row, printable(fmt.Sprint(v)))
			}
		}
		rows = append(rows, row)
	}
	writeTable(c.stdout, rows)
	return nil
}

// revoke runs "revoke": it deletes the sessions of one owner, or one of
// them.
func (c *cli) revoke(ctx context.Context, args []string) error {
	fs := c.flagSet("revoke")
	f := c.dbFlags(fs)
	owner := fs.String("owner", "", "the `owner` whose sessions to delete (required)")
	id := fs.String("id", "", "delete only the session with this `ID` (from 'sqlsession list')")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if *owner == "" {
		return usagef("--owner is required")
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
	s, _, err := t.ownerStore(cols)
	if err != nil {
		return err
	}
	defer s.Close()
	if *id != "" {
		ok, err := s.DeleteByID(ctx, *owner, *id)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%s has no session %s", *owner, *id)
		}
		fmt.Fprintf(c.stdout, "revoked session %s of %s\n", *id, *owner)
		return nil
	}
	n, err := s.DeleteByOwner(ctx, *owner)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "revoked %d %s of %s\n", n, plural(n, "session", "sessions"), *owner)
	return nil
}

// writeTable prints rows in columns two spaces apart.
func writeTable(w io.Writer, rows [][]string) {
	var width []int
	for _, r := range rows {
		for i, cell := range r {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], len([]rune(cell)))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i, cell := range r {
			b.WriteString(cell)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", width[i]-len([]rune(cell))+2))
			}
		}
		fmt.Fprintln(w, b.String())
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// when formats t for a terminal: the UTC time and how far from now it is.
func when(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC") + " (" + relative(t, now) + ")"
}

// relative says how long before or after now t is, roughly: "3h ago",
// "in 29d23h".
func relative(t, now time.Time) string {
	d := t.Sub(now)
	ago := d < 0
	if ago {
		d = -d
	}
	var s string
	switch {
	case d < time.Second:
		return "now"
	case d < time.Minute:
		s = d.Truncate(time.Second).String()
	case d < time.Hour:
		s = fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		s = fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	default:
		s = fmt.Sprintf("%dd%02dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
	}
	if ago {
		return s + " ago"
	}
	return "in " + s
}

// printable replaces the control characters of a value read from the
// table, which could move the cursor or recolour an operator's terminal.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}

// plural returns one or many, as n asks.
func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
