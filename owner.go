package sqlsession

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"reflect"
	"time"
)

// maxOwnerLen is the longest owner Save accepts, in bytes: the owner column
// is 255 characters wide on MySQL and SQL Server.
const maxOwnerLen = 255

// Info describes one live session of an owner, as a "your devices" page
// shows it. It holds no token: ID names the session publicly.
type Info struct {
	// ID is a stable public identifier of the session, derived one way from
	// its stored key. It cannot be turned back into the token, and
	// [Store.DeleteByID] accepts it. [Store.SessionID] gives the ID of a token.
	ID string
	// Created and Updated are the times of the first and the latest Save (or
	// Touch); zero unless [Options.Timestamps] is set.
	Created, Updated time.Time
	// Expiry is when the session ends.
	Expiry time.Time
	// Columns holds the values of [Options.Columns] by name, as the driver
	// returns them except that []byte becomes string; nil for NULL.
	Columns map[string]any
}

// SessionID returns the public [Info.ID] of the session with the given token,
// so that a "your devices" page can mark the current one. It is "" for a
// token that [ValidToken] rejects.
func (s *Store) SessionID(token string) string {
	key, ok := s.key(token)
	if !ok {
		return ""
	}
	return publicID(key)
}

func publicID(key string) string {
	sum := sha256.Sum256([]byte("sqlsession session id\x00" + key))
	return b64.EncodeToString(sum[:16])
}

// ListByOwner returns the live sessions of owner, latest expiry first, at
// most 1000. It needs [Options.Owner].
func (s *Store) ListByOwner(ctx context.Context, owner string) (out []Info, err error) {
	ctx, tr := s.startOp(ctx, OpListByOwner)
	defer func() { tr.end(ctx, int64(len(out)), err) }()
	if err := s.ownerOp(owner); err != nil {
		return nil, err
	}
	if owner == "" {
		return nil, nil
	}
	rows, err := s.b.Query(ctx, s.q.listOwner, owner, s.q.time(s.now()))
	if err != nil {
		return nil, fmt.Errorf("sqlsession: list by owner: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		f := s.opts.Layout.Time
		exp, created, updated := timeScan{f: f}, timeScan{f: f}, timeScan{f: f}
		dest := []any{&key, &exp}
		if s.opts.Layout.timestamps() {
			dest = append(dest, &created, &updated)
		}
		extras := make([]any, len(s.q.extraNames))
		for i := range extras {
			dest = append(dest, &extras[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("sqlsession: list by owner: %w", err)
		}
		info := Info{ID: publicID(key), Expiry: exp.t}
		if created.t.After(time.Unix(0, 0)) {
			info.Created = created.t
		}
		if updated.t.After(time.Unix(0, 0)) {
			info.Updated = updated.t
		}
		if len(extras) > 0 {
			info.Columns = make(map[string]any, len(extras))
			for i, v := range extras {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				info.Columns[s.q.extraNames[i]] = v
			}
		}
		out = append(out, info)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlsession: list by owner: %w", err)
	}
	return out, nil
}

// DeleteByOwner deletes every session of owner ("log out everywhere") and
// returns how many it deleted. Like [Store.Delete], it leaves their keys
// remembered for [Options.DeleteGrace], so that requests still running with
// one of them cannot save it back. It needs [Options.Owner].
func (s *Store) DeleteByOwner(ctx context.Context, owner string) (n int64, err error) {
	ctx, tr := s.startOp(ctx, OpDeleteByOwner)
	defer func() { tr.end(ctx, n, err) }()
	if err := s.ownerOp(owner); err != nil {
		return 0, err
	}
	if owner == "" {
		return 0, nil
	}
	query, args := s.q.deleteOwnerNow, []any{owner}
	if s.tombstones() {
		query, args = s.q.deleteOwner, []any{s.q.dataArg(nil), s.q.dead, s.graceVersion(), owner}
	}
	err = s.retry(ctx, func() (err error) {
		n, err = s.b.Exec(ctx, query, args...)
		return err
	})
	s.forgetOwner(owner, "")
	if err != nil {
		return n, fmt.Errorf("sqlsession: delete by owner: %w", err)
	}
	return n, nil
}

// DeleteOthers deletes every session of owner except the one with token
// keep ("log out other devices") and returns how many it deleted. keep must
// be the token of a live session of owner (not its [Info.ID]): otherwise
// DeleteOthers deletes nothing and returns an error wrapping
// [ErrInvalidToken]. It needs [Options.Owner].
func (s *Store) DeleteOthers(ctx context.Context, owner, keep string) (n int64, err error) {
	ctx, tr := s.startOp(ctx, OpDeleteOthers)
	defer func() { tr.end(ctx, n, err) }()
	if err := s.ownerOp(owner); err != nil {
		return 0, err
	}
	if owner == "" {
		return 0, nil
	}
	key, ok := s.key(keep)
	if !ok {
		return 0, fmt.Errorf("sqlsession: delete others: %w: keep is not a session token", ErrInvalidToken)
	}
	var mine int64
	err = s.b.QueryRow(ctx, s.q.ownerHas, key, owner, s.q.time(s.now())).Scan(&mine)
	if err != nil {
		return 0, fmt.Errorf("sqlsession: delete others: %w", err)
	}
	if mine == 0 {
		return 0, fmt.Errorf("sqlsession: delete others: %w: keep is not the token of a live session of %q "+
			"(pass the current session's token, not its SessionID)", ErrInvalidToken, owner)
	}
	query, args := s.q.deleteOtherNow, []any{owner, key}
	if s.tombstones() {
		query, args = s.q.deleteOther, []any{s.q.dataArg(nil), s.q.dead, s.graceVersion(), owner, key}
	}
	err = s.retry(ctx, func() (err error) {
		n, err = s.b.Exec(ctx, query, args...)
		return err
	})
	s.forgetOwner(owner, key)
	if err != nil {
		return n, fmt.Errorf("sqlsession: delete others: %w", err)
	}
	return n, nil
}

// DeleteByID deletes the session of owner whose [Info.ID] is id ("log out
// this device") and reports whether there was one. Sessions of other owners
// are never touched, so a page may pass an ID straight from a form as long as
// owner is the signed-in user. It needs [Options.Owner].
func (s *Store) DeleteByID(ctx context.Context, owner, id string) (deleted bool, err error) {
	ctx, tr := s.startOp(ctx, OpDeleteByID)
	defer func() { tr.end(ctx, boolRows(deleted), err) }()
	if err := s.ownerOp(owner); err != nil {
		return false, err
	}
	if owner == "" || id == "" {
		return false, nil
	}
	rows, err := s.b.Query(ctx, s.q.ownerKeys, owner)
	if err != nil {
		return false, fmt.Errorf("sqlsession: delete by id: %w", err)
	}
	var match string
	for rows.Next() {
		var key string
		if err := rows.Scan(&key); err != nil {
			rows.Close()
			return false, fmt.Errorf("sqlsession: delete by id: %w", err)
		}
		if subtle.ConstantTimeCompare([]byte(publicID(key)), []byte(id)) == 1 {
			match = key
		}
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return false, fmt.Errorf("sqlsession: delete by id: %w", err)
	}
	if match == "" {
		return false, nil
	}
	n, err := s.deleteKey(ctx, match)
	if err != nil {
		return false, fmt.Errorf("sqlsession: delete by id: %w", err)
	}
	return n > 0, nil
}

func (s *Store) ownerOp(owner string) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if s.opts.Owner == nil {
		return ErrNoOwner
	}
	return ValidOwner(owner)
}

// OwnerString renders a decoded session value as an owner or column value,
// for the owner hooks of frontends: a string as it is; a bool, a number or a
// [fmt.Stringer] as fmt prints it; anything else (nil, structs, slices,
// maps) as "", which means anonymous.
func OwnerString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case fmt.Stringer:
		return fmt.Sprint(v) // fmt recovers from a panicking String method
	}
	switch reflect.ValueOf(v).Kind() {
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return fmt.Sprint(v)
	}
	return ""
}
