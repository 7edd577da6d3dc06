package sqlsession

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"
)

// The change log of the session cache: a table of (seq, session_key) rows
// that a trigger on the session table appends to for every inserted,
// updated or deleted row, whoever writes it. Each Store with the cache on
// reads the rows past the last seq it has seen, every PollInterval, and
// drops the sessions they name.
//
// Sequence numbers are handed out when a row is inserted, but become
// visible when its transaction commits, which is not always in the same
// order: a reader that has seen seq 8 may not yet see seq 7. So the poller
// keeps the numbers below the highest it has seen that it has not seen as
// gaps, and gives up on one after gapTimeout (a rolled back transaction
// leaves a gap that never fills). Gaps among the youngSpan newest seqs,
// the common case (commits in flight during the last poll), are read by
// starting the next poll's range just below the oldest of them and
// skipping the rows already seen: one query with one parameter. Older
// gaps (a transaction that stayed open while many others committed, or a
// rollback) are asked for by number, on every poll while there are any.
const (
	changeTable  = "_changes" // appended to Options.Table
	pollBatch    = 1000       // rows per poll query
	youngSpan    = 256        // gaps this close to the newest seq are read by range
	gapSlots     = 32         // older gaps asked for per query
	maxGaps      = 1024
	recentSeqs   = 1024 // seqs read at a (re)sync to find the gaps below the last
	gapTimeout   = 10 * time.Second
	retention    = time.Minute     // change rows are kept at least this long
	trimEvery    = 2 * time.Second // about
	trimSpan     = 1000            // seqs per trim statement, one statement per poll
	checkEvery   = time.Second     // MAX(seq) and server restarts
	maxBackoff   = time.Second
	flushMessage = "sqlsession: session cache emptied and bypassed until the change log is read again"
)

// changeSpec is what a dialect needs to write the change log's SQL.
type changeSpec struct {
	o        *Options
	d        *dialect
	table    string // the session table, quoted, with its schema
	key      string // the key column, quoted
	ver      string // the version column, quoted; "" for none
	log      string // the change log, quoted, with its schema
	logName  string // unquoted, without schema; also the prefix of trigger names
	seq, col string // the change log's columns, quoted
}

// changeSQL is a dialect's change log. Its statements take no parameters:
// the names in them are validated identifiers.
type changeSQL struct {
	create   []string        // creates the change log and its triggers where missing
	triggers []guardedCreate // triggers made where CREATE TRIGGER has no IF NOT EXISTS
	exists   string          // 1 when the change log and every trigger exist, else 0
	// restart returns a value that changes when the server restarts and
	// may lose change rows (PostgreSQL's unlogged table); "" where the log
	// is as durable as the sessions.
	restart string
}

// guardedCreate is a statement run when its check counts 0.
type guardedCreate struct{ check, create string }

// changeQueries are the statements of the cache and its change log.
type changeQueries struct {
	changeSQL
	logName  string
	load     string // key, now: data, expiry[, version][, owner]
	recent   string // none: the last recentSeqs seqs, newest first
	poll     string // after: seq, key of newer rows, at most pollBatch
	pollGaps string // gapSlots seqs: those rows
	trim     string // from, below: deletes the rows in between
	min      string // none: the lowest seq, NULL when empty
	max      string // none: the highest seq, NULL when empty
}

// Names of the change log's columns.
const (
	colSeq        = "seq"
	colSessionKey = "session_key"
)

func buildChangeQueries(d *dialect, o *Options) changeQueries {
	l := &o.Layout
	c := func(name string) string { return d.ident(name) }
	t := d.ident(o.Schema, o.Table)
	logName := o.Table + changeTable
	log := d.ident(o.Schema, logName)
	seq, col := c(colSeq), c(colSessionKey)
	spec := &changeSpec{o: o, d: d, table: t, key: c(l.Key), log: log, logName: logName, seq: seq, col: col}
	if l.versioned() {
		spec.ver = c(l.Version)
	}
	q := changeQueries{changeSQL: d.sql.changeLog(spec), logName: logName}
	p := params{d: d}
	next := func() string { return p.next() }
	reset := func() { p = params{d: d} }

	sel := []string{c(l.Data), c(l.Expiry)}
	if l.versioned() {
		sel = append(sel, c(l.Version))
	}
	if o.Owner != nil {
		sel = append(sel, c(l.Owner))
	}
	q.load = fmt.Sprintf("SELECT %s FROM %s WHERE %s = %s AND %s > %s", join(sel), t, c(l.Key), next(), c(l.Expiry), next())
	q.recent = d.sql.limit(fmt.Sprintf("SELECT %s FROM %s ORDER BY %s DESC", seq, log, seq), fmt.Sprint(recentSeqs))
	reset()
	q.poll = d.sql.limit(fmt.Sprintf("SELECT %s, %s FROM %s WHERE %s > %s ORDER BY %s", seq, col, log, seq, next(), seq), fmt.Sprint(pollBatch))
	reset()
	in := make([]string, gapSlots)
	for i := range in {
		in[i] = next()
	}
	q.pollGaps = fmt.Sprintf("SELECT %s, %s FROM %s WHERE %s IN (%s)", seq, col, log, seq, join(in))
	reset()
	q.trim = fmt.Sprintf("DELETE FROM %s WHERE %s >= %s AND %s < %s", log, seq, next(), seq, next())
	q.min = fmt.Sprintf("SELECT MIN(%s) FROM %s", seq, log)
	q.max = fmt.Sprintf("SELECT MAX(%s) FROM %s", seq, log)
	return q
}

// createChangeLog creates the change log and its trigger where missing.
func (s *Store) createChangeLog(ctx context.Context) error {
	for _, stmt := range s.cq.create {
		if _, err := s.b.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("sqlsession: create the change log %s: %w", s.cq.logName, err)
		}
	}
	for _, tr := range s.cq.triggers {
		var n int64
		if err := s.b.QueryRow(ctx, tr.check).Scan(&n); err != nil {
			return fmt.Errorf("sqlsession: list the triggers of %s: %w", s.opts.Table, err)
		}
		if n > 0 {
			continue
		}
		if _, err := s.b.Exec(ctx, tr.create); err != nil {
			return fmt.Errorf("sqlsession: create the change log trigger on %s: %w", s.opts.Table, err)
		}
	}
	return nil
}

// checkChangeLog returns an error wrapping ErrNoChangeLog when the change
// log or its trigger is missing.
func (s *Store) checkChangeLog(ctx context.Context) error {
	var n int64
	if err := s.b.QueryRow(ctx, s.cq.exists).Scan(&n); err != nil {
		return fmt.Errorf("sqlsession: look for the change log %s: %w", s.cq.logName, err)
	}
	if n == 0 {
		return fmt.Errorf("%w: %s or its trigger on %s (run CreateTable with Options.Cache set)", ErrNoChangeLog, s.cq.logName, s.opts.Table)
	}
	return nil
}

// newChangeLog returns the reader of the Store's change log.
func (s *Store) newChangeLog() *changeLog {
	return &changeLog{c: s.cache, r: sqlChanges{s}, jitter: trimJitter, logger: s.opts.logger, table: s.opts.Table}
}

// startPoller starts the change log's poller on first use of the cache.
func (s *Store) startPoller() {
	c := s.cache
	if c.started.Load() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() || c.started.Load() {
		return
	}
	c.started.Store(true)
	s.wg.Add(1)
	go s.pollLoop(time.NewTimer)
}

// pollLoop reads the change log every PollInterval until Close. After a
// failure the cache is emptied and bypassed, and the poller tries again
// after a growing wait (up to a second) until a read succeeds.
func (s *Store) pollLoop(newTimer func(time.Duration) *time.Timer) {
	defer s.wg.Done()
	c := s.cache
	log := s.opts.logger()
	failures := 0
	wait := time.Duration(0)
	for {
		t := newTimer(wait)
		select {
		case <-s.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		err := c.log.step(s.ctx)
		switch {
		case err == nil:
			if failures > 0 {
				log.Info("sqlsession: session cache reads the change log again", "table", s.opts.Table, "failures", failures)
			}
			failures, wait = 0, c.o.PollInterval
		case s.ctx.Err() != nil:
			return
		default:
			c.pollErrors.Add(1)
			if failures == 0 {
				log.Warn(flushMessage, "table", s.opts.Table, "err", err)
			}
			failures++
			wait = min(c.o.PollInterval<<min(failures, 16), maxBackoff)
		}
	}
}

// gap is a seq below the highest seen that has not been seen.
type gap struct {
	seq   int64
	since int64 // mono time it was found
}

// mark is the highest seq seen at a time, for trimming.
type mark struct {
	at, seq int64
}

// changeReader runs the change log's queries: the database in production,
// a fake in tests.
type changeReader interface {
	recent(ctx context.Context) ([]int64, error)
	poll(ctx context.Context, after int64) ([]change, error)
	gaps(ctx context.Context, seqs []int64) ([]change, error)
	trim(ctx context.Context, from, below int64) error
	min(ctx context.Context) (int64, bool, error)
	max(ctx context.Context) (int64, bool, error)
	restart(ctx context.Context) (string, error)
}

// change is one row of the change log. An empty key stands for every
// session (a TRUNCATE of the table).
type change struct {
	seq int64
	key string
}

// changeLog is the poller's state. Only the poller goroutine touches it.
type changeLog struct {
	c      *cache
	r      changeReader
	jitter func(time.Duration) time.Duration
	logger func() *slog.Logger // nil: silent
	table  string

	trimFailing bool

	synced   bool
	maxSeen  int64
	gaps     []gap // ascending seq
	marks    []mark
	trimFrom int64 // the next trim starts here; 0: at the lowest seq
	trimTo   int64 // trims go up to here
	nextTrim int64
	nextChk  int64
	boot     string
}

var errLogReset = errors.New("sqlsession: the change log was reset (truncated, recreated, or lost in a server restart)")

// step reads the change log once: a (re)sync after a flush, else every row
// past the last seen and every gap, evicting their keys. When it returns
// nil, every change committed before it began has been applied, but for
// gaps given up on (gapTimeout, maxGaps).
func (l *changeLog) step(ctx context.Context) error {
	c := l.c
	start := c.mono()
	c.polls.Add(1)
	if l.synced && start-c.caughtUp.Load() > int64(retention/2) {
		// Stalled for so long that rows it has not read may be trimmed.
		l.synced = false
		c.desync()
	}
	if !l.synced {
		if err := l.sync(ctx, start); err != nil {
			return err
		}
		c.resync(start)
		return nil
	}
	if err := l.read(ctx, start); err != nil {
		l.fail()
		return err
	}
	if start >= l.nextChk {
		if err := l.check(ctx); err != nil {
			l.fail()
			return err
		}
		l.nextChk = start + int64(checkEvery)
	}
	c.caughtUp.Store(start)
	// Housekeeping: a failed trim is retried by a later one, and logged
	// once, since the log grows until one succeeds.
	switch err := l.trim(ctx, start); {
	case err != nil && ctx.Err() == nil && !l.trimFailing && l.logger != nil:
		l.logger().Warn("sqlsession: trimming the session cache's change log failed; it grows until a trim succeeds", "table", l.table, "err", err)
		l.trimFailing = true
	case err == nil:
		l.trimFailing = false
	}
	return nil
}

func (l *changeLog) fail() {
	l.synced = false
	l.c.desync()
}

// sync starts reading the change log from its newest rows: the cache is
// empty, so older changes do not matter, but numbers below the newest that
// are not there yet may still commit.
func (l *changeLog) sync(ctx context.Context, now int64) error {
	boot, err := l.r.restart(ctx)
	if err != nil {
		return err
	}
	seqs, err := l.r.recent(ctx)
	if err != nil {
		return err
	}
	l.boot, l.gaps, l.marks, l.maxSeen = boot, l.gaps[:0], l.marks[:0], 0
	if len(seqs) > 0 {
		slices.Sort(seqs)
		l.maxSeen = seqs[len(seqs)-1]
		for i := 1; i < len(seqs); i++ {
			l.addGaps(seqs[i-1]+1, seqs[i], now)
		}
	}
	l.trimFrom, l.trimTo, l.synced = 0, 0, true
	l.nextChk = now + int64(checkEvery)
	l.nextTrim = now + int64(l.jitter(trimEvery))
	l.marks = append(l.marks, mark{now, l.maxSeen})
	return nil
}

// addGaps records the seqs from lo up to hi (exclusive) as gaps, at most
// maxGaps of them, the newest.
func (l *changeLog) addGaps(lo, hi, now int64) {
	if hi-lo > maxGaps {
		lo = hi - maxGaps
	}
	for s := lo; s < hi; s++ {
		l.gaps = append(l.gaps, gap{s, now})
	}
	if n := len(l.gaps) - maxGaps; n > 0 {
		l.gaps = append(l.gaps[:0], l.gaps[n:]...)
	}
}

// read applies every row past maxSeen and every gap that has filled.
func (l *changeLog) read(ctx context.Context, now int64) error {
	// Gaps past their time are given up: rolled back, or a transaction
	// so long that MaxAge has to cover it.
	keep := l.gaps[:0]
	for _, g := range l.gaps {
		if now-g.since < int64(gapTimeout) {
			keep = append(keep, g)
		}
	}
	l.gaps = keep
	young := sort.Search(len(l.gaps), func(i int) bool { return l.gaps[i].seq > l.maxSeen-youngSpan })
	from := l.maxSeen
	if young < len(l.gaps) {
		from = l.gaps[young].seq - 1
	}
	for {
		rows, err := l.r.poll(ctx, from)
		if err != nil {
			return err
		}
		for _, ch := range rows {
			l.apply(ch, now)
		}
		if len(rows) < pollBatch {
			break
		}
		from = rows[len(rows)-1].seq // a full page: there may be more
	}
	if young > 0 {
		seqs := make([]int64, 0, young)
		for _, g := range l.gaps[:young] {
			seqs = append(seqs, g.seq)
		}
		for len(seqs) > 0 {
			n := min(len(seqs), gapSlots)
			rows, err := l.r.gaps(ctx, seqs[:n])
			if err != nil {
				return err
			}
			for _, ch := range rows {
				l.apply(ch, now)
			}
			seqs = seqs[n:]
		}
	}
	if len(l.marks) == 0 || now-l.marks[len(l.marks)-1].at >= int64(time.Second) {
		l.marks = append(l.marks, mark{now, l.maxSeen})
		if len(l.marks) > int(2*retention/time.Second)+2 {
			l.marks = l.marks[1:]
		}
	}
	return nil
}

// apply evicts the session a change names and updates maxSeen and the gaps.
func (l *changeLog) apply(ch change, now int64) {
	switch {
	case ch.seq > l.maxSeen:
		l.addGaps(l.maxSeen+1, ch.seq, now)
		l.maxSeen = ch.seq
	default:
		i, ok := slices.BinarySearchFunc(l.gaps, ch.seq, func(g gap, s int64) int { return cmpInt(g.seq, s) })
		if !ok {
			return // seen already
		}
		l.gaps = slices.Delete(l.gaps, i, i+1) // a gap that filled
	}
	if ch.key == "" {
		l.c.flush()
		return
	}
	l.c.invalidate(ch.key)
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// check flushes when the server restarted (losing unread change rows) or
// the change log was reset below what was seen.
func (l *changeLog) check(ctx context.Context) error {
	boot, err := l.r.restart(ctx)
	if err != nil {
		return err
	}
	if boot != l.boot {
		return fmt.Errorf("%w: the server restarted", errLogReset)
	}
	top, ok, err := l.r.max(ctx)
	if err != nil {
		return err
	}
	if l.maxSeen > 0 && (!ok || top < l.maxSeen) {
		return errLogReset
	}
	return nil
}

// trim deletes the change rows that every instance has had retention to
// read: below the highest seq this one had seen retention ago. It never
// deletes the newest row, so the sequence never goes back. Each call runs
// at most one statement over at most trimSpan seqs, so that a backlog is
// worked off a little per poll and never delays one by much.
func (l *changeLog) trim(ctx context.Context, now int64) error {
	if now >= l.nextTrim {
		l.nextTrim = now + int64(l.jitter(trimEvery))
		for _, m := range l.marks {
			if now-m.at < int64(retention) {
				break
			}
			l.trimTo = max(l.trimTo, m.seq)
		}
	}
	if l.trimFrom >= l.trimTo {
		return nil
	}
	if l.trimFrom == 0 {
		lo, ok, err := l.r.min(ctx)
		if err != nil {
			return err
		}
		if !ok {
			l.trimFrom = l.trimTo
			return nil
		}
		l.trimFrom = lo
	}
	hi := min(l.trimTo, l.trimFrom+trimSpan)
	if hi > l.trimFrom {
		if err := l.r.trim(ctx, l.trimFrom, hi); err != nil {
			return err
		}
	}
	l.trimFrom = max(l.trimFrom, hi)
	return nil
}

// sqlChanges runs the change log's queries on the Store's primary.
type sqlChanges struct{ s *Store }

func (r sqlChanges) recent(ctx context.Context) ([]int64, error) {
	rows, err := r.s.b.Query(ctx, r.s.cq.recent)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

func (r sqlChanges) poll(ctx context.Context, after int64) ([]change, error) {
	return r.query(ctx, r.s.cq.poll, after)
}

func (r sqlChanges) gaps(ctx context.Context, seqs []int64) ([]change, error) {
	args := make([]any, gapSlots)
	for i := range args {
		args[i] = int64(-1)
		if i < len(seqs) {
			args[i] = seqs[i]
		}
	}
	out, err := r.query(ctx, r.s.cq.pollGaps, args...)
	slices.SortFunc(out, func(a, b change) int { return cmpInt(a.seq, b.seq) })
	return out, err
}

func (r sqlChanges) query(ctx context.Context, q string, args ...any) ([]change, error) {
	rows, err := r.s.b.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []change
	for rows.Next() {
		var ch change
		if err := rows.Scan(&ch.seq, &ch.key); err != nil {
			return nil, err
		}
		out = append(out, ch)
	}
	return out, rows.Err()
}

func (r sqlChanges) trim(ctx context.Context, from, below int64) error {
	_, err := r.s.b.Exec(ctx, r.s.cq.trim, from, below)
	return err
}

func (r sqlChanges) min(ctx context.Context) (int64, bool, error) {
	var n sql.NullInt64
	if err := r.s.b.QueryRow(ctx, r.s.cq.min).Scan(&n); err != nil {
		return 0, false, err
	}
	return n.Int64, n.Valid, nil
}

func (r sqlChanges) max(ctx context.Context) (int64, bool, error) {
	var n sql.NullInt64
	if err := r.s.b.QueryRow(ctx, r.s.cq.max).Scan(&n); err != nil {
		return 0, false, err
	}
	return n.Int64, n.Valid, nil
}

func (r sqlChanges) restart(ctx context.Context) (string, error) {
	if r.s.cq.restart == "" {
		return "", nil
	}
	var v string
	err := r.s.b.QueryRow(ctx, r.s.cq.restart).Scan(&v)
	return v, err
}

// trimJitter spreads the trims of many instances.
func trimJitter(d time.Duration) time.Duration {
	return d/2 + time.Duration(rand.Int64N(int64(d)))
}

// literal quotes a validated name as an SQL string literal.
func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
