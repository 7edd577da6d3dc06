package sqlsession

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"iter"
	"sync"
	"sync/atomic"
	"time"
)

// Store keeps sessions in one SQL table. Its methods map a session token to
// opaque data with an expiry; frontends (scs, gorilla/sessions, fiber, net/http)
// keep the cookie and the encoding.
//
// Create one with [New] or [NewWithBackend], call [Store.CreateTable] once at
// start-up if the table may be missing, and [Store.Close] at shutdown. A Store
// is safe for concurrent use by multiple goroutines. The zero Store is not
// usable.
type Store struct {
	b    Backend
	d    Dialect
	opts Options
	q    queries
	now  func() time.Time
	enc  *crypter // nil without Options.Keys

	handleKey [32]byte

	mu       sync.Mutex // guards closed transitions against wg.Add
	closed   atomic.Bool
	ctx      context.Context // cancelled by Close; parent of background sweeps
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	sweeping atomic.Bool
	ops      atomic.Uint64

	closeOnce sync.Once
	closeErr  error
}

// New returns a Store on db, speaking dialect. It validates opts and does no
// I/O. The Store never closes db. On MySQL and SQLite it keeps its statements
// prepared (closed by [Store.Close]), so that each operation is one round
// trip without the driver's interpolateParams; on PostgreSQL the drivers
// cache statements themselves.
func New(db *sql.DB, dialect Dialect, opts Options) (*Store, error) {
	if db == nil {
		return nil, fmt.Errorf("%w: nil *sql.DB", ErrInvalidOptions)
	}
	if dialect == MySQL || dialect == SQLite {
		return NewWithBackend(newPreparedBackend(db), dialect, opts)
	}
	return NewWithBackend(SQLBackend(db), dialect, opts)
}

// NewWithBackend returns a Store running its queries through b: the seam that
// modules for other database layers use (see [Backend]). It validates opts and
// does no I/O. A goroutine starts only if [Options.CleanupInterval] is set.
func NewWithBackend(b Backend, dialect Dialect, opts Options) (*Store, error) {
	if b == nil {
		return nil, fmt.Errorf("%w: nil Backend", ErrInvalidOptions)
	}
	if dialect.d == nil {
		return nil, fmt.Errorf("%w: zero Dialect", ErrInvalidOptions)
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Store{b: b, d: dialect, opts: opts, q: buildQueries(dialect.d, &opts), now: time.Now}
	if len(opts.Keys) > 0 {
		if s.enc, err = newCrypter(opts.Keys); err != nil {
			return nil, err
		}
	}
	rand.Read(s.handleKey[:])
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if opts.CleanupInterval > 0 {
		s.wg.Add(1)
		go s.janitor(opts.CleanupInterval, time.NewTimer)
	}
	return s, nil
}

// Dialect returns the Store's dialect.
func (s *Store) Dialect() Dialect { return s.d }

// Options returns the Store's options with every default filled in.
func (s *Store) Options() Options { return s.opts }

// CreateTable creates the session table and its expiry index if they do not
// exist, and adds the columns that the options need to an existing table. It
// is idempotent and safe to run from many instances at once. The ctx deadline
// is its time limit.
func (s *Store) CreateTable(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		// Another instance may be creating or altering the same table: the
		// race makes one of them fail, and the next pass finds it all done.
		if err = s.createTable(ctx); err == nil || ctx.Err() != nil {
			break
		}
	}
	return err
}

func (s *Store) createTable(ctx context.Context) error {
	for _, stmt := range s.q.createTable {
		if _, err := s.b.Exec(ctx, stmt); err != nil {
			// An existing table that lacks a column fails on its index:
			// name the column rather than echo the database.
			if have, cerr := s.columns(ctx); cerr == nil && len(have) > 0 {
				if _, cerr := s.checkTable(ctx, false); cerr != nil {
					return cerr
				}
			}
			return fmt.Errorf("sqlsession: create table %s: %w", s.opts.Table, err)
		}
	}
	have, err := s.checkTable(ctx, false)
	if err != nil {
		return err
	}
	for _, name := range s.q.optional {
		if have[name] {
			continue
		}
		if _, err := s.b.Exec(ctx, s.q.addColumn[name]); err != nil {
			return fmt.Errorf("sqlsession: add column %s to %s: %w", name, s.opts.Table, err)
		}
	}
	for _, stmt := range s.q.indexes {
		if _, err := s.b.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("sqlsession: create index on %s: %w", s.opts.Table, err)
		}
	}
	for _, ix := range s.q.columnIndexes {
		var n int64
		if err := s.b.QueryRow(ctx, s.q.indexCount, s.opts.Schema, s.opts.Table, ix.column).Scan(&n); err != nil {
			return fmt.Errorf("sqlsession: list indexes of %s: %w", s.opts.Table, err)
		}
		if n > 0 {
			continue
		}
		if _, err := s.b.Exec(ctx, ix.create); err != nil {
			return fmt.Errorf("sqlsession: create index on %s: %w", s.opts.Table, err)
		}
	}
	return nil
}

// CheckTable reports whether the table has every column this Store needs,
// returning an error wrapping [ErrMissingColumn] that names the first one
// missing. [Store.CreateTable] checks the same after creating what it can;
// call CheckTable instead at start-up for a table you manage yourself.
func (s *Store) CheckTable(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	_, err := s.checkTable(ctx, true)
	return err
}

// checkTable returns the table's columns after checking that the required
// ones, and with all set the optional ones, exist.
func (s *Store) checkTable(ctx context.Context, all bool) (map[string]bool, error) {
	have, err := s.columns(ctx)
	if err != nil {
		return nil, err
	}
	if len(have) == 0 {
		return nil, fmt.Errorf("%w: table %s does not exist", ErrMissingColumn, s.opts.Table)
	}
	want := requiredColumns
	if all {
		want = append(want[:len(want):len(want)], s.q.optional...)
	}
	for _, name := range want {
		if !have[name] {
			return nil, fmt.Errorf("%w: table %s has no column %q", ErrMissingColumn, s.opts.Table, name)
		}
	}
	return have, nil
}

// columns returns the set of the table's column names, in lower case.
func (s *Store) columns(ctx context.Context) (map[string]bool, error) {
	rows, err := s.b.Query(ctx, s.q.columns, s.opts.Schema, s.opts.Table)
	if err != nil {
		return nil, fmt.Errorf("sqlsession: list columns of %s: %w", s.opts.Table, err)
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("sqlsession: list columns of %s: %w", s.opts.Table, err)
		}
		have[lower(name)] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlsession: list columns of %s: %w", s.opts.Table, err)
	}
	return have, nil
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// Find returns the data of the live session with the given token. An unknown,
// expired, empty, oversized or malformed token is a miss: found is false and
// err is nil. err reports database failures only. Expiry is compared in SQL
// against the application's clock, so servers with skewed clocks agree.
func (s *Store) Find(ctx context.Context, token string) (data []byte, found bool, err error) {
	if s.closed.Load() {
		return nil, false, ErrClosed
	}
	defer s.tick()
	key, ok := s.key(token)
	if !ok {
		return nil, false, nil
	}
	now := s.now()
	if s.opts.IdleTimeout > 0 {
		return s.findSliding(ctx, key, now)
	}
	if s.opts.Replica != nil {
		err = s.opts.Replica.QueryRow(ctx, s.q.find, key, now.UnixMilli()).Scan(&data)
		if err == nil {
			return s.found(ctx, key, data, nil)
		}
		// A miss may be a write not yet replayed, an error a replica that
		// is down: either way the primary has the answer.
	}
	err = s.b.QueryRow(ctx, s.q.find, key, now.UnixMilli()).Scan(&data)
	return s.found(ctx, key, data, err)
}

// Lookup is [Store.Find] that also returns the session's expiry, in
// e.Expiry, for frontends that move an expiry only when it needs moving and
// skip writes of unchanged data. e.Key is the token as given.
func (s *Store) Lookup(ctx context.Context, token string) (e Entry, found bool, err error) {
	if s.closed.Load() {
		return Entry{}, false, ErrClosed
	}
	defer s.tick()
	key, ok := s.key(token)
	if !ok {
		return Entry{}, false, nil
	}
	now := s.now()
	data, exp, found, err := s.findExpiry(ctx, key, now, s.opts.Replica)
	if !found || err != nil {
		return Entry{}, found, err
	}
	if s.opts.IdleTimeout > 0 {
		if exp, err = s.slide(ctx, key, exp, now); err != nil {
			return Entry{}, false, err
		}
	}
	return Entry{Key: token, Data: data, Expiry: exp}, true, nil
}

// findExpiry reads data and expiry, from the replica first if there is one.
func (s *Store) findExpiry(ctx context.Context, key string, now time.Time, replica Backend) ([]byte, time.Time, bool, error) {
	var data []byte
	var exp int64
	if replica != nil {
		err := replica.QueryRow(ctx, s.q.findExpiry, key, now.UnixMilli()).Scan(&data, &exp)
		if err == nil {
			data, found, err := s.found(ctx, key, data, nil)
			return data, time.UnixMilli(exp), found, err
		}
		// As in Find: the primary has the answer.
	}
	err := s.b.QueryRow(ctx, s.q.findExpiry, key, now.UnixMilli()).Scan(&data, &exp)
	data, found, err := s.found(ctx, key, data, err)
	return data, time.UnixMilli(exp), found, err
}

func (s *Store) findSliding(ctx context.Context, key string, now time.Time) ([]byte, bool, error) {
	data, exp, found, err := s.findExpiry(ctx, key, now, nil)
	if !found || err != nil {
		return data, found, err
	}
	if _, err := s.slide(ctx, key, exp, now); err != nil {
		return nil, false, err
	}
	return data, true, nil
}

// slide moves a live session's expiry to now+IdleTimeout when it would
// expire sooner by more than a tenth of IdleTimeout, and returns the expiry.
func (s *Store) slide(ctx context.Context, key string, exp, now time.Time) (time.Time, error) {
	idle := s.opts.IdleTimeout
	want := now.Add(idle)
	if !exp.Before(want.Add(-idle / 10)) {
		return exp, nil
	}
	if err := s.touch(ctx, key, want, now); err != nil {
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

// Save stores data under token until expiry, replacing any session with that
// token, in one atomic statement. A zero expiry means now plus
// [Options.DefaultLifetime]. Save returns [ErrInvalidToken] for a token that
// [ValidToken] rejects and [ErrTooLarge] for data over [Options.MaxDataSize].
func (s *Store) Save(ctx context.Context, token string, data []byte, expiry time.Time) error {
	if s.closed.Load() {
		return ErrClosed
	}
	defer s.tick()
	key, ok := s.key(token)
	if !ok {
		return ErrInvalidToken
	}
	if len(data) > s.opts.MaxDataSize {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), s.opts.MaxDataSize)
	}
	if data == nil {
		data = []byte{}
	}
	now := s.now()
	if expiry.IsZero() {
		expiry = now.Add(s.opts.DefaultLifetime)
	}
	args, err := s.saveArgs(key, data, expiry, now)
	if err == nil && s.enc != nil {
		args[1] = s.enc.seal(key, data) // the hooks above saw the plain data
	}
	if err != nil {
		return err
	}
	err = s.retry(ctx, func() error {
		_, err := s.b.Exec(ctx, s.q.save, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlsession: save: %w", err)
	}
	return nil
}

// saveArgs returns the arguments of the save statement, running the owner
// and column hooks on the data.
func (s *Store) saveArgs(key string, data []byte, expiry, now time.Time) ([]any, error) {
	if !s.opts.Timestamps && s.opts.Owner == nil && len(s.opts.Columns) == 0 {
		return []any{key, data, expiry.UnixMilli()}, nil
	}
	args := make([]any, 0, 6+len(s.opts.Columns))
	args = append(args, key, data, expiry.UnixMilli())
	if s.opts.Timestamps {
		ms := now.UnixMilli()
		args = append(args, ms, ms)
	}
	if s.opts.Owner != nil {
		owner, err := s.opts.Owner(data)
		if err != nil {
			return nil, fmt.Errorf("sqlsession: save: Owner hook: %w", err)
		}
		if len(owner) > maxOwnerLen {
			return nil, fmt.Errorf("sqlsession: save: owner of %d bytes, limit %d", len(owner), maxOwnerLen)
		}
		if owner == "" {
			args = append(args, nil)
		} else {
			args = append(args, owner)
		}
	}
	for _, c := range s.opts.Columns {
		v, err := c.Value(data)
		if err != nil {
			return nil, fmt.Errorf("sqlsession: save: column %s: %w", c.Name, err)
		}
		args = append(args, v)
	}
	return args, nil
}

// Touch moves the expiry of the live session with the given token. It never
// creates a session: touching an unknown, deleted or expired token does
// nothing and returns nil.
func (s *Store) Touch(ctx context.Context, token string, expiry time.Time) error {
	if s.closed.Load() {
		return ErrClosed
	}
	defer s.tick()
	key, ok := s.key(token)
	if !ok {
		return nil
	}
	now := s.now()
	if expiry.IsZero() {
		expiry = now.Add(s.opts.DefaultLifetime)
	}
	return s.touch(ctx, key, expiry, now)
}

func (s *Store) touch(ctx context.Context, key string, expiry, now time.Time) error {
	args := []any{expiry.UnixMilli(), key, now.UnixMilli()}
	if s.opts.Timestamps {
		args = []any{expiry.UnixMilli(), now.UnixMilli(), key, now.UnixMilli()}
	}
	err := s.retry(ctx, func() error {
		_, err := s.b.Exec(ctx, s.q.touch, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlsession: touch: %w", err)
	}
	return nil
}

// Delete removes the session with the given token. Deleting an unknown token
// is not an error.
func (s *Store) Delete(ctx context.Context, token string) error {
	if s.closed.Load() {
		return ErrClosed
	}
	defer s.tick()
	key, ok := s.key(token)
	if !ok {
		return nil
	}
	err := s.retry(ctx, func() error {
		_, err := s.b.Exec(ctx, s.q.delete, key)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlsession: delete: %w", err)
	}
	return nil
}

// DeleteExpired removes the sessions that expired before the call, in
// statements of at most [Options.CleanupBatchSize] rows with a pause between
// them ([Options.CleanupPause]), and returns how many it removed. It stops early, with the count so far, when ctx ends. Background
// cleanup ([Options.CleanupInterval], [Options.CleanupEvery]) calls it.
func (s *Store) DeleteExpired(ctx context.Context) (int64, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	now := s.now().UnixMilli()
	batch := int64(s.opts.CleanupBatchSize)
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, fmt.Errorf("sqlsession: delete expired: %w", err)
		}
		var n int64
		start := time.Now()
		err := s.retry(ctx, func() (err error) {
			n, err = s.b.Exec(ctx, s.q.deleteBatch, now, batch)
			return err
		})
		total += n
		if err != nil {
			return total, fmt.Errorf("sqlsession: delete expired: %w", err)
		}
		if n < batch {
			return total, nil
		}
		if err := s.pause(ctx, time.Since(start)); err != nil {
			return total, fmt.Errorf("sqlsession: delete expired: %w", err)
		}
	}
}

// pause waits between two cleanup batches: Options.CleanupPause, or as long
// as the last batch took.
func (s *Store) pause(ctx context.Context, took time.Duration) error {
	d := s.opts.CleanupPause
	switch {
	case d < 0:
		return nil
	case d == 0:
		d = took
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Count returns the number of live sessions.
func (s *Store) Count(ctx context.Context) (int64, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	var n int64
	if err := s.b.QueryRow(ctx, s.q.count, s.now().UnixMilli()).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlsession: count: %w", err)
	}
	return n, nil
}

// Clear deletes every session in the table, live or expired.
func (s *Store) Clear(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if _, err := s.b.Exec(ctx, s.q.clear); err != nil {
		return fmt.Errorf("sqlsession: clear: %w", err)
	}
	return nil
}

// Entry is one live session, as [Store.All] yields it.
type Entry struct {
	// Key names the session for Find, Save, Touch and Delete of this Store.
	// With hashed tokens (the default) it is not the token itself, which the
	// table does not hold, but a handle that only this Store accepts.
	Key    string
	Data   []byte
	Expiry time.Time
}

// pageSize bounds the sessions All holds in memory at once.
const pageSize = 64

// All returns an iterator over the live sessions, in key order. It reads them
// a page at a time and holds no connection or lock while the loop body runs,
// so the body may call the Store, even on a single-connection database. A
// database error is yielded once, and ends the iteration:
//
//	for e, err := range store.All(ctx) {
//		if err != nil {
//			return err
//		}
//		...
//	}
func (s *Store) All(ctx context.Context) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		if s.closed.Load() {
			yield(Entry{}, ErrClosed)
			return
		}
		now := s.now().UnixMilli()
		after := ""
		page := make([]Entry, 0, pageSize)
		for {
			page = page[:0]
			if err := s.page(ctx, after, now, &page); err != nil {
				yield(Entry{}, err)
				return
			}
			for _, e := range page {
				after = e.Key
				if s.enc != nil {
					plain, err := s.enc.open(e.Key, e.Data)
					if err != nil {
						s.unreadable(ctx, e.Key, err)
						continue
					}
					e.Data = plain
				}
				e.Key = s.publicKey(e.Key)
				if !yield(e, nil) {
					return
				}
			}
			if len(page) < pageSize {
				return
			}
		}
	}
}

func (s *Store) page(ctx context.Context, after string, now int64, page *[]Entry) error {
	rows, err := s.b.Query(ctx, s.q.page, after, now, int64(pageSize))
	if err != nil {
		return fmt.Errorf("sqlsession: list: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e Entry
		var exp int64
		if err := rows.Scan(&e.Key, &e.Data, &exp); err != nil {
			return fmt.Errorf("sqlsession: list: %w", err)
		}
		if e.Data == nil {
			e.Data = []byte{}
		}
		e.Expiry = time.UnixMilli(exp)
		*page = append(*page, e)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlsession: list: %w", err)
	}
	return nil
}

// Close stops background cleanup, cancelling a sweep in progress, and waits
// for it to end. Afterwards every database method returns [ErrClosed]. Close
// is idempotent. It never closes the *sql.DB or pool the Store was given; a
// [Backend] that implements [io.Closer] is closed once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed.Store(true)
		s.mu.Unlock()
		s.cancel()
		s.wg.Wait()
		if c, ok := s.b.(io.Closer); ok {
			s.closeErr = c.Close()
		}
	})
	return s.closeErr
}
