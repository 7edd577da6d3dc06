package sqlsession

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"
)

// Save stores data under token until expiry, replacing any session with that
// token, in one atomic statement that also moves the row's version on. A
// zero expiry means now plus [Options.DefaultLifetime].
//
// A token deleted less than [Options.DeleteGrace] ago is not re-created:
// Save then writes nothing and returns [ErrDeleted], so a request that
// loaded a session before a logout cannot bring it back when it saves
// afterwards. Frontends whose host cannot handle that error treat it as
// success: the session is gone either way.
//
// Save returns [ErrInvalidToken] for a token that [ValidToken] rejects,
// [ErrTooLarge] for data over [Options.MaxDataSize], [ErrInvalidExpiry] for
// an expiry outside the years 1 to 9999 and [ErrInvalidOwner] when the
// [Options.Owner] hook returns an owner that [ValidOwner] rejects.
func (s *Store) Save(ctx context.Context, token string, data []byte, expiry time.Time) (err error) {
	ctx, tr := s.startOp(ctx, OpSave)
	var n int64
	defer func() { tr.end(ctx, n, err) }()
	if s.closed.Load() {
		return ErrClosed
	}
	defer s.tick()
	key, now, expiry, err := s.checkWrite(token, data, expiry)
	if err != nil {
		return fmt.Errorf("sqlsession: save: %w", err)
	}
	if data == nil {
		data = []byte{}
	}
	args := make([]any, 0, 6+len(s.opts.Columns))
	args = append(args, key, s.q.dataArg(data), s.q.time(expiry))
	if s.opts.Layout.timestamps() {
		at := s.q.time(now)
		args = append(args, at, at)
	}
	if args, err = s.derived(args, data); err != nil {
		return fmt.Errorf("sqlsession: save: %w", err)
	}
	if s.enc != nil {
		args[1] = s.enc.seal(key, data) // the hooks above saw the plain data
	}
	err = s.retry(ctx, func() (err error) {
		n, err = s.b.Exec(ctx, s.q.save, args...)
		return err
	})
	s.forget(key) // even after an error: the write may have committed
	if err != nil {
		return fmt.Errorf("sqlsession: save: %w", s.explain(ctx, err, len(data)))
	}
	if n == 0 && s.q.tombstone != "" {
		// The upsert changed nothing: a tombstone refused it.
		return ErrDeleted
	}
	return nil
}

// SaveIf stores data under token until expiry only if the live session
// still has the given version, the [Entry.Version] that [Store.Lookup] read,
// and moves the version on. It never creates a session. When another
// request saved the session since it was read, or it was deleted, renewed or
// has expired, SaveIf writes nothing and returns [ErrConflict]: read the
// session again and apply the change to what is there now. It is one
// statement, and validates its arguments as [Store.Save] does.
func (s *Store) SaveIf(ctx context.Context, token string, data []byte, expiry time.Time, version int64) (err error) {
	ctx, tr := s.startOp(ctx, OpSaveIf)
	var n int64
	defer func() { tr.end(ctx, n, err) }()
	if s.closed.Load() {
		return ErrClosed
	}
	if s.q.saveIf == "" {
		return ErrNoVersion
	}
	defer s.tick()
	key, now, expiry, err := s.checkWrite(token, data, expiry)
	if err != nil {
		return fmt.Errorf("sqlsession: save if: %w", err)
	}
	if data == nil {
		data = []byte{}
	}
	args := make([]any, 0, 7+len(s.opts.Columns))
	args = append(args, s.q.dataArg(data), s.q.time(expiry))
	if s.opts.Layout.timestamps() {
		args = append(args, s.q.time(now))
	}
	if args, err = s.derived(args, data); err != nil {
		return fmt.Errorf("sqlsession: save if: %w", err)
	}
	if s.enc != nil {
		args[0] = s.enc.seal(key, data)
	}
	args = append(args, key, version, s.q.time(now))
	err = s.retry(ctx, func() (err error) {
		n, err = s.b.Exec(ctx, s.q.saveIf, args...)
		return err
	})
	s.forget(key)
	if err != nil {
		return fmt.Errorf("sqlsession: save if: %w", s.explain(ctx, err, len(data)))
	}
	if n == 0 {
		return ErrConflict
	}
	return nil
}

// checkWrite validates the arguments of a write and returns the key, the
// time of the write and the expiry to store.
func (s *Store) checkWrite(token string, data []byte, expiry time.Time) (key string, now, exp time.Time, err error) {
	key, ok := s.key(token)
	if !ok {
		return "", now, exp, ErrInvalidToken
	}
	if len(data) > s.opts.MaxDataSize {
		return "", now, exp, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), s.opts.MaxDataSize)
	}
	now = s.now()
	if expiry.IsZero() {
		expiry = now.Add(s.opts.DefaultLifetime)
	}
	if err := checkExpiry(expiry); err != nil {
		return "", now, exp, err
	}
	return key, now, expiry, nil
}

// Expiries the table can hold in every layout: an SQL timestamp ends with
// the year 9999.
var (
	minExpiry = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxExpiry = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
)

func checkExpiry(t time.Time) error {
	if t.Before(minExpiry) || !t.Before(maxExpiry) {
		return fmt.Errorf("%w: %v is outside the years 1 to 9999", ErrInvalidExpiry, t)
	}
	return nil
}

// derived appends the values that the Owner and Columns hooks derive from
// data to the arguments of a write.
func (s *Store) derived(args []any, data []byte) ([]any, error) {
	if s.opts.Owner != nil {
		owner, err := s.opts.Owner(data)
		if err != nil {
			return nil, fmt.Errorf("owner hook: %w", err)
		}
		if err := ValidOwner(owner); err != nil {
			return nil, fmt.Errorf("owner hook: %w", err)
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
			return nil, fmt.Errorf("column %s: %w", c.Name, err)
		}
		args = append(args, v)
	}
	return args, nil
}

// ValidOwner reports whether an owner is one the Store accepts, returning
// nil or an error wrapping [ErrInvalidOwner]: at most 255 bytes of valid
// UTF-8 without NUL bytes. "" is valid and means anonymous. Owners are
// compared byte for byte on every dialect: "alice" and "alice " are two
// owners.
func ValidOwner(owner string) error {
	switch {
	case len(owner) > maxOwnerLen:
		return fmt.Errorf("%w: %d bytes, limit %d", ErrInvalidOwner, len(owner), maxOwnerLen)
	case !utf8.ValidString(owner):
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidOwner)
	}
	for i := 0; i < len(owner); i++ {
		if owner[i] == 0 {
			return fmt.Errorf("%w: holds a NUL byte", ErrInvalidOwner)
		}
	}
	return nil
}

// Touch moves the expiry of the live session with the given token. It never
// creates a session: touching an unknown, deleted or expired token does
// nothing and returns nil. It does not change the row's version.
func (s *Store) Touch(ctx context.Context, token string, expiry time.Time) (err error) {
	ctx, tr := s.startOp(ctx, OpTouch)
	var n int64
	defer func() { tr.end(ctx, n, err) }()
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
	if err := checkExpiry(expiry); err != nil {
		return fmt.Errorf("sqlsession: touch: %w", err)
	}
	n, err = s.touch(ctx, key, expiry, now)
	return err
}

// touch moves a live session's expiry and returns the rows it changed.
func (s *Store) touch(ctx context.Context, key string, expiry, now time.Time) (int64, error) {
	args := []any{s.q.time(expiry), key, s.q.time(now)}
	if s.opts.Layout.timestamps() {
		args = []any{s.q.time(expiry), s.q.time(now), key, s.q.time(now)}
	}
	var n int64
	err := s.retry(ctx, func() (err error) {
		n, err = s.b.Exec(ctx, s.q.touch, args...)
		return err
	})
	s.forget(key)
	if err != nil {
		return n, fmt.Errorf("sqlsession: touch: %w", err)
	}
	return n, nil
}

// Delete removes the session with the given token: it is gone for every
// reader at once, and its key is remembered for [Options.DeleteGrace] so that
// no Save re-creates it. Deleting an unknown token is not an error.
func (s *Store) Delete(ctx context.Context, token string) (err error) {
	ctx, tr := s.startOp(ctx, OpDelete)
	var n int64
	defer func() { tr.end(ctx, n, err) }()
	if s.closed.Load() {
		return ErrClosed
	}
	defer s.tick()
	key, ok := s.key(token)
	if !ok {
		return nil
	}
	if n, err = s.deleteKey(ctx, key); err != nil {
		return fmt.Errorf("sqlsession: delete: %w", err)
	}
	return nil
}

// deleteKey deletes one row, leaving a tombstone unless DeleteGrace is
// negative, and returns how many rows it changed.
func (s *Store) deleteKey(ctx context.Context, key string) (int64, error) {
	c := &deleteCall{}
	query, args := s.q.delete, c.args[:1]
	if s.tombstones() {
		query, args = s.q.tombstone, c.args[:]
		c.args = [4]any{s.q.dataArg(nil), s.q.dead, s.graceVersion(), key}
	} else {
		c.args[0] = key
	}
	var n int64
	err := s.retry(ctx, func() (err error) {
		n, err = s.b.Exec(ctx, query, args...)
		return err
	})
	s.forget(key)
	return n, err
}

// deleteCall holds the arguments of one delete, which escape through the
// Backend's interface: one allocation for the array, built only in the form
// the delete uses.
type deleteCall struct {
	args [4]any
}

// graceVersion is the version of a tombstone made now: the end of its
// grace, in Unix milliseconds, negated. DeleteExpired removes it once the
// clock has passed that.
func (s *Store) graceVersion() int64 {
	// A grace beyond the year 9999 would overflow; no tombstone needs it.
	if s.opts.DeleteGrace > 100*365*24*time.Hour {
		return -maxExpiry.UnixMilli()
	}
	return -s.now().Add(s.opts.DeleteGrace).UnixMilli()
}

// explain adds what the server's limits say to a failed write of a session
// of n bytes. MySQL and MariaDB drop the connection of a statement larger
// than max_allowed_packet, and the driver reports only a broken connection.
func (s *Store) explain(ctx context.Context, err error, n int) error {
	if s.d != MySQL || n < 1<<16 || ctx.Err() != nil {
		return err
	}
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var limit int64
	if s.b.QueryRow(qctx, "SELECT @@max_allowed_packet").Scan(&limit) != nil || int64(n)+1024 < limit {
		return err
	}
	return fmt.Errorf("%w: %d bytes do not fit the server's max_allowed_packet of %d bytes "+
		"(raise it, or lower Options.MaxDataSize below it): %w", ErrTooLarge, n, limit, err)
}

// tombstones reports whether deletes leave tombstones.
func (s *Store) tombstones() bool { return s.opts.DeleteGrace > 0 && s.q.tombstone != "" }
