package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/sqlsession/sqlsession"
)

// cleanup runs "cleanup": Store.DeleteExpired in batches, with progress.
//
// Ctrl-C stops it between batches: the statement running finishes, the next
// one never starts, and the count so far is reported.
func (c *cli) cleanup(ctx context.Context, args []string) error {
	fs := c.flagSet("cleanup")
	f := c.dbFlags(fs)
	batch := fs.Int("batch", sqlsession.DefaultCleanupBatchSize, "delete at most `N` sessions per statement")
	pause := fs.Duration("pause", 0, "pause between batches: 0 paces them to leave the database to live traffic (sqlsession.Options.CleanupPause); a positive `duration` is a fixed pause; a negative one runs them back to back, for a maintenance window")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if *batch <= 0 {
		return usagef("--batch must be positive")
	}
	t, err := c.open(ctx, f, false)
	if err != nil {
		return err
	}
	defer t.Close()
	if _, err := t.requireTable(ctx); err != nil {
		return err
	}

	// How many there are to delete, for the progress bar. More may expire
	// while it runs; DeleteExpired takes the time once, when it starts.
	var expired int64
	q := fmt.Sprintf("SELECT COUNT(*) FROM %s WHERE %s <= ?", t.qualified(), t.ident(colExpires))
	if err := t.db.QueryRowContext(ctx, t.rebind(q), time.Now().UnixMilli()).Scan(&expired); err != nil {
		return fmt.Errorf("count expired sessions in %s: %w", t.name(), err)
	}

	p := &progress{w: c.stdout, tty: isTerminal(c.stdout), total: expired, start: time.Now()}
	b := &batches{Backend: sqlsession.SQLBackend(t.db), stop: ctx, done: p.batch}
	s, err := sqlsession.NewWithBackend(b, t.src.Dialect, sqlsession.Options{Table: t.table, Schema: t.schema, CleanupBatchSize: *batch, CleanupPause: *pause})
	if err != nil {
		return err
	}
	defer s.Close()
	// The statements run on a context that Ctrl-C does not cancel, so a
	// batch is never cut off half way; the backend refuses the next one.
	n, err := s.DeleteExpired(context.WithoutCancel(ctx))
	p.finish()
	switch {
	case errors.Is(err, errInterrupted):
		return fmt.Errorf("%w: deleted %d expired %s from %s in %d %s before Ctrl-C", errInterrupted, n, plural(n, "session", "sessions"), t.name(), p.batches, plural(int64(p.batches), "batch", "batches"))
	case err != nil:
		return fmt.Errorf("after deleting %d expired %s: %w", n, plural(n, "session", "sessions"), err)
	}
	if n == 0 {
		fmt.Fprintf(c.stdout, "no expired session to delete in %s\n", t.name())
		return nil
	}
	fmt.Fprintf(c.stdout, "deleted %d expired %s from %s in %d %s (%s)\n", n, plural(n, "session", "sessions"), t.name(), p.batches, plural(int64(p.batches), "batch", "batches"), time.Since(p.start).Round(time.Millisecond))
	return nil
}

// batches is the database/sql backend of the cleanup Store, reporting the
// rows each statement deletes and refusing to start one once stop ends.
// DeleteExpired runs batch deletes through it (Exec, or on PostgreSQL a
// QueryRow whose first column is the rows deleted) and reads (its probes,
// MySQL's picks of keys); the last batch often finds nothing left, and is
// not reported.
type batches struct {
	sqlsession.Backend
	stop context.Context
	done func(n int64)
}

func (b *batches) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	if b.stop.Err() != nil {
		return 0, errInterrupted
	}
	n, err := b.Backend.Exec(ctx, query, args...)
	if err == nil && n > 0 {
		b.done(n)
	}
	return n, err
}

func (b *batches) QueryRow(ctx context.Context, query string, args ...any) sqlsession.Row {
	if !strings.Contains(query, "DELETE") {
		return b.Backend.QueryRow(ctx, query, args...)
	}
	if b.stop.Err() != nil {
		return errRow{errInterrupted}
	}
	return batchRow{b.Backend.QueryRow(ctx, query, args...), b.done}
}

// batchRow reports the rows of a batch that returns its count first.
type batchRow struct {
	sqlsession.Row
	done func(n int64)
}

func (r batchRow) Scan(dest ...any) error {
	err := r.Row.Scan(dest...)
	if n, ok := dest[0].(*int64); ok && err == nil && *n > 0 {
		r.done(*n)
	}
	return err
}

// errRow is a Row whose Scan fails with err.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// progress reports the batches that deleted rows: a bar redrawn in place on
// a terminal, one line per batch otherwise.
type progress struct {
	w       io.Writer
	tty     bool
	total   int64 // expired sessions counted before the start
	start   time.Time
	deleted int64
	batches int // that deleted rows
	drawn   bool
}

func (p *progress) batch(n int64) {
	p.batches++
	p.deleted += n
	if !p.tty {
		fmt.Fprintf(p.w, "batch %d: deleted %d (%d in all)\n", p.batches, n, p.deleted)
		return
	}
	const width = 30
	total := max(p.total, p.deleted)
	filled := width
	if total > 0 {
		filled = int(p.deleted * width / total)
	}
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d expired sessions deleted", strings.Repeat("#", filled), strings.Repeat(".", width-filled), p.deleted, total)
	p.drawn = true
}

// finish ends the bar's line.
func (p *progress) finish() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
