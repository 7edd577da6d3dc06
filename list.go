package sqlsession

import (
	"context"
	"fmt"
	"iter"
	"strings"
	"time"
)

// Count returns the number of live sessions.
func (s *Store) Count(ctx context.Context) (n int64, err error) {
	ctx, tr := s.startOp(ctx, OpCount)
	defer func() { tr.end(ctx, n, err) }()
	if s.closed.Load() {
		return 0, ErrClosed
	}
	if err := s.b.QueryRow(ctx, s.q.count, s.q.time(s.now())).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlsession: count: %w", err)
	}
	return n, nil
}

// Clear deletes every session in the table, live or expired.
func (s *Store) Clear(ctx context.Context) (err error) {
	ctx, tr := s.startOp(ctx, OpClear)
	var n int64
	defer func() { tr.end(ctx, n, err) }()
	if s.closed.Load() {
		return ErrClosed
	}
	n, err = s.b.Exec(ctx, s.q.clear)
	s.forgetAll()
	if err != nil {
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
	// Version is the row's version as [Store.Lookup] read it, for
	// [Store.SaveIf]: every Save and SaveIf moves it on. It is 0 from
	// [Store.All].
	Version int64
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
		now := s.q.time(s.now())
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
				if !strings.HasPrefix(e.Key, s.opts.Layout.KeyPrefix) {
					continue // another application's row in a shared table
				}
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

func (s *Store) page(ctx context.Context, after string, now any, page *[]Entry) (err error) {
	ctx, tr := s.startOp(ctx, OpList)
	defer func() { tr.end(ctx, int64(len(*page)), err) }()
	rows, err := s.b.Query(ctx, s.q.page, after, now, int64(pageSize))
	if err != nil {
		return fmt.Errorf("sqlsession: list: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e Entry
		exp := timeScan{f: s.opts.Layout.Time}
		if err := rows.Scan(&e.Key, &e.Data, &exp); err != nil {
			return fmt.Errorf("sqlsession: list: %w", err)
		}
		if e.Data == nil {
			e.Data = []byte{}
		}
		e.Expiry = exp.t
		*page = append(*page, e)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlsession: list: %w", err)
	}
	return nil
}
