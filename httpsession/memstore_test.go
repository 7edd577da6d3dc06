package httpsession_test

import (
	"bytes"
	"context"
	"sync"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/httpsession"
)

// memStore is an in-memory httpsession.Store that keeps the contract of
// sqlsession.Store: row versions, compare-and-swap, tombstones that no Save
// re-creates, expiries in whole milliseconds, and the write rule of
// sqlsession.Plan with the slack of a Store without IdleTimeout.
type memStore struct {
	mu   sync.Mutex
	rows map[string]*memRow
	ops  map[string]int // by method

	// hook, when set, runs at the start of every method with its name and
	// token; an error it returns is the method's.
	hook func(op, token string) error
}

type memRow struct {
	data    []byte
	expiry  time.Time
	version int64
	deleted bool
}

var _ httpsession.Store = (*memStore)(nil)

func newMemStore() *memStore {
	return &memStore{rows: map[string]*memRow{}, ops: map[string]int{}}
}

func (m *memStore) enter(op, token string) error {
	if m.hook != nil {
		if err := m.hook(op, token); err != nil {
			return err
		}
	}
	m.mu.Lock()
	m.ops[op]++
	return nil
}

// live returns the row of token if it is live.
func (m *memStore) live(token string) *memRow {
	r := m.rows[token]
	if r == nil || r.deleted || !r.expiry.After(time.Now()) {
		return nil
	}
	return r
}

func (m *memStore) Lookup(ctx context.Context, token string) (sqlsession.Entry, bool, error) {
	if err := m.enter("Lookup", token); err != nil {
		return sqlsession.Entry{}, false, err
	}
	defer m.mu.Unlock()
	r := m.live(token)
	if r == nil {
		return sqlsession.Entry{}, false, nil
	}
	return sqlsession.Entry{Key: token, Data: bytes.Clone(r.data), Expiry: r.expiry, Version: r.version}, true, nil
}

func (m *memStore) Save(ctx context.Context, token string, data []byte, expiry time.Time) error {
	if err := m.enter("Save", token); err != nil {
		return err
	}
	defer m.mu.Unlock()
	r := m.rows[token]
	switch {
	case r == nil:
		m.rows[token] = &memRow{data: bytes.Clone(data), expiry: expiry.Truncate(time.Millisecond), version: 1}
	case r.deleted:
		// A deleted session stays deleted.
	default:
		r.data, r.expiry, r.version = bytes.Clone(data), expiry.Truncate(time.Millisecond), r.version+1
	}
	return nil
}

func (m *memStore) SaveIf(ctx context.Context, token string, data []byte, expiry time.Time, version int64) error {
	if err := m.enter("SaveIf", token); err != nil {
		return err
	}
	defer m.mu.Unlock()
	r := m.live(token)
	if r == nil || r.version != version {
		return sqlsession.ErrConflict
	}
	r.data, r.expiry, r.version = bytes.Clone(data), expiry.Truncate(time.Millisecond), r.version+1
	return nil
}

func (m *memStore) Touch(ctx context.Context, token string, expiry time.Time) error {
	if err := m.enter("Touch", token); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if r := m.live(token); r != nil {
		r.expiry = expiry.Truncate(time.Millisecond)
	}
	return nil
}

func (m *memStore) Delete(ctx context.Context, token string) error {
	if err := m.enter("Delete", token); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if r := m.rows[token]; r != nil {
		r.deleted = true
	} else {
		m.rows[token] = &memRow{deleted: true}
	}
	return nil
}

func (m *memStore) Decide(loaded sqlsession.Entry, found bool, data []byte, expiry time.Time) sqlsession.Action {
	changed := len(data) > 0
	if found {
		changed = !bytes.Equal(loaded.Data, data)
	}
	return sqlsession.Plan(found, changed, loaded.Expiry, expiry, time.Until(expiry)/10)
}

// put stores a row directly, as another program would.
func (m *memStore) put(token string, data string, expiry time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var version int64 = 1
	if r := m.rows[token]; r != nil {
		version = r.version + 1
	}
	m.rows[token] = &memRow{data: []byte(data), expiry: expiry.Truncate(time.Millisecond), version: version}
}

// row returns the data and expiry of the live row of token.
func (m *memStore) row(token string) (data string, expiry time.Time, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.live(token)
	if r == nil {
		return "", time.Time{}, false
	}
	return string(r.data), r.expiry, true
}

// count returns the number of calls of op.
func (m *memStore) count(op string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ops[op]
}

// writes returns the number of calls of the writing methods.
func (m *memStore) writes() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ops["Save"] + m.ops["SaveIf"] + m.ops["Touch"] + m.ops["Delete"]
}

// liveRows returns the number of live rows.
func (m *memStore) liveRows() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for tok := range m.rows {
		if m.live(tok) != nil {
			n++
		}
	}
	return n
}
