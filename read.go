package sqlsession

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Find returns the data of the live session with the given token. An unknown,
// expired, empty, oversized or malformed token is a miss: found is false and
// err is nil. err reports database failures only. Expiry is compared in SQL
// against the application's clock, so servers with skewed clocks agree. With
// [Options.IdleTimeout], Find moves the expiry as [Store.Lookup] does.
func (s *Store) Find(ctx context.Context, token string) (data []byte, found bool, err error) {
	ctx, tr := s.startOp(ctx, OpFind)
	defer func() { tr.end(ctx, boolRows(found), err) }()
	if s.opts.IdleTimeout > 0 {
		// Sliding expiry needs the stored expiry: the one read path.
		e, found, err := s.lookup(ctx, token)
		return e.Data, found, err
	}
	if s.closed.Load() {
		return nil, false, ErrClosed
	}
	defer s.tick()
	key, ok := s.key(token)
	if !ok {
		return nil, false, nil
	}
	now := s.now()
	if s.cache != nil {
		if e, found, ok, err := s.cachedRead(ctx, key, now); ok {
			return e.Data, found, err
		}
	}
	if r := s.opts.Replica; r != nil {
		if data, err := s.findData(ctx, r, key, now); err == nil {
			return s.found(ctx, key, data, nil)
		}
		// A miss may be a write not yet replayed, an error a replica that
		// is down: either way the primary has the answer.
	}
	if s.batch != nil {
		data, err = s.batch.find(ctx, key, now)
		return s.found(ctx, key, data, err)
	}
	data, err = s.findData(ctx, s.b, key, now)
	return s.found(ctx, key, data, err)
}

// findData reads one live session's data through b: Find's statement.
func (s *Store) findData(ctx context.Context, b Backend, key string, now time.Time) ([]byte, error) {
	f := &findCall{args: [2]any{key, s.q.time(now)}}
	f.dest[0] = &f.data
	err := b.QueryRow(ctx, s.q.find, f.args[:]...).Scan(f.dest[:]...)
	return f.data, err
}

// findCall is what one Find hands the Backend: its arguments, its scan
// destination and the data it scans into. Each escapes through the
// Backend's interface, and would be an allocation of its own; together they
// are one.
type findCall struct {
	args [2]any
	dest [1]any
	data []byte
}

// Lookup is [Store.Find] that also returns the session's expiry and row
// version, in e.Expiry and e.Version: what frontends need to skip writes of
// unchanged data ([Store.Decide]) and to write with [Store.SaveIf]. e.Key is
// the token as given. Like Find, it reads from [Options.Replica] first when
// one is set, and with [Options.IdleTimeout] moves the expiry of a session
// that would end sooner than IdleTimeout by more than a tenth of it.
func (s *Store) Lookup(ctx context.Context, token string) (e Entry, found bool, err error) {
	ctx, tr := s.startOp(ctx, OpLookup)
	defer func() { tr.end(ctx, boolRows(found), err) }()
	return s.lookup(ctx, token)
}

// lookup is Lookup, and Find with sliding expiry.
func (s *Store) lookup(ctx context.Context, token string) (e Entry, found bool, err error) {
	if s.closed.Load() {
		return Entry{}, false, ErrClosed
	}
	defer s.tick()
	key, ok := s.key(token)
	if !ok {
		return Entry{}, false, nil
	}
	now := s.now()
	e, found, err = s.read(ctx, key, now)
	if !found || err != nil {
		return Entry{}, found, err
	}
	if s.opts.IdleTimeout > 0 {
		if e.Expiry, err = s.slide(ctx, key, e.Expiry, now); err != nil {
			return Entry{}, false, err
		}
	}
	e.Key = token
	return e, true, nil
}

// read reads data, expiry and version, from the cache or else from the
// replica first if there is one: the read path of Lookup, and of Find with
// sliding expiry.
func (s *Store) read(ctx context.Context, key string, now time.Time) (Entry, bool, error) {
	if s.cache != nil {
		if e, found, ok, err := s.cachedRead(ctx, key, now); ok {
			return e, found, err
		}
	}
	if r := s.opts.Replica; r != nil {
		row, err := s.readRow(ctx, r, key, now)
		if err == nil {
			data, found, err := s.found(ctx, key, row.data, nil)
			return Entry{Data: data, Expiry: row.exp, Version: row.version}, found, err
		}
		// As in Find: the primary has the answer.
	}
	row, err := s.primaryRead(ctx, key, now)
	data, found, err := s.found(ctx, key, row.data, err)
	return Entry{Data: data, Expiry: row.exp, Version: row.version}, found, err
}

// primaryRead reads key's row from the primary: in a batch with
// Options.BatchReads, else on its own.
func (s *Store) primaryRead(ctx context.Context, key string, now time.Time) (storedRow, error) {
	if s.batch != nil {
		return s.batch.read(ctx, key, now)
	}
	return s.readRow(ctx, s.b, key, now)
}

// readCall is findCall for readRow: arguments, scan destinations and what
// they scan into, in one allocation instead of five.
type readCall struct {
	args    [2]any
	dest    [3]any
	data    []byte
	exp     timeScan
	version int64
}

// slide moves a live session's expiry to now+IdleTimeout when it would
// expire sooner by more than a tenth of IdleTimeout, and returns the expiry.
func (s *Store) slide(ctx context.Context, key string, exp, now time.Time) (time.Time, error) {
	want := now.Add(s.opts.IdleTimeout)
	if Plan(true, false, exp, want, s.opts.IdleTimeout/10) != ActionTouch || !exp.Before(want) {
		return exp, nil
	}
	if _, err := s.touch(ctx, key, want, now); err != nil {
		return exp, err
	}
	return want, nil
}

// found turns a lookup's result into Find's, opening encrypted data. Data
// that cannot be authentic is a miss: the row is deleted and the event
// logged, so one bad row never locks a user out.
func (s *Store) found(ctx context.Context, key string, data []byte, err error) ([]byte, bool, error) {
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("sqlsession: find: %w", err)
	}
	if s.enc != nil {
		plain, oerr := s.enc.open(key, data)
		if oerr != nil {
			s.unreadable(ctx, key, oerr)
			return nil, false, nil
		}
		data = plain
	}
	if data == nil {
		data = []byte{}
	}
	return data, true, nil
}

// unreadable reports a row whose data does not open, deleting it when it is
// corrupt. A row sealed with a key this Store lacks is left alone: another
// instance may already hold the new key of a rotation.
func (s *Store) unreadable(ctx context.Context, key string, err error) {
	log := s.opts.logger()
	id := publicID(key)
	if !errors.Is(err, errCorrupt) {
		log.WarnContext(ctx, "sqlsession: session sealed with a key this store lacks; treated as missing", "table", s.opts.Table, "session", id)
		return
	}
	_, derr := s.b.Exec(ctx, s.q.delete, key)
	log.WarnContext(ctx, "sqlsession: corrupt session data; row deleted", "table", s.opts.Table, "session", id, "delete_error", derr)
}
