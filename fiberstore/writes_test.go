package fiberstore_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/fiberstore"
)

// table is an in-memory sqlsession.Backend that understands the statements
// of Lookup, Save, Touch and Delete (with the tombstone it leaves), and
// counts the writes by kind.
type table struct {
	mu      sync.Mutex
	rows    map[string]tableRow
	saves   int
	touches int
	deletes int
}

type tableRow struct {
	data    []byte
	expiry  int64
	version int64 // negative: a tombstone
}

func (b *table) Exec(_ context.Context, query string, args ...any) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case strings.HasPrefix(query, "INSERT"):
		b.saves++
		key := args[0].(string)
		r, ok := b.rows[key]
		if ok && r.version < 0 {
			return 0, nil // a deleted session is not re-created
		}
		b.rows[key] = tableRow{bytes.Clone(args[1].([]byte)), args[2].(int64), r.version + 1}
	case isTombstone(query):
		b.deletes++
		key := args[len(args)-1].(string)
		if _, ok := b.rows[key]; ok {
			b.rows[key] = tableRow{nil, 0, args[len(args)-2].(int64)}
		}
	case strings.HasPrefix(query, "UPDATE") && !strings.Contains(query, `"data"`):
		b.touches++
		expiry, key, now := args[0].(int64), args[1].(string), args[2].(int64)
		if r, ok := b.rows[key]; ok && r.expiry > now {
			b.rows[key] = tableRow{r.data, expiry, r.version}
		}
	case strings.HasPrefix(query, "DELETE") && len(args) == 1:
		b.deletes++
		delete(b.rows, args[0].(string))
	default:
		return 0, errors.New("table: unexpected statement: " + query)
	}
	return 1, nil
}

func (b *table) QueryRow(_ context.Context, query string, args ...any) sqlsession.Row {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.rows[args[0].(string)]
	if !ok || r.expiry <= args[1].(int64) {
		return stubRow{err: fmt.Errorf("table: %w", sql.ErrNoRows)}
	}
	return tableScan{r}
}

func (b *table) Query(context.Context, string, ...any) (sqlsession.Rows, error) {
	return nil, errors.New("table: unexpected query")
}

type tableScan struct{ r tableRow }

// Scan fills data, then the expiry and the version when asked for them.
func (s tableScan) Scan(dest ...any) error {
	for i, v := range []any{bytes.Clone(s.r.data), s.r.expiry, s.r.version}[:len(dest)] {
		if err := scanInto(dest[i], v); err != nil {
			return err
		}
	}
	return nil
}

// scanInto stores v in a scan destination, as database/sql would.
func scanInto(dest, v any) error {
	switch d := dest.(type) {
	case *[]byte:
		*d = v.([]byte)
	case *int64:
		*d = v.(int64)
	case sql.Scanner:
		return d.Scan(v)
	default:
		return fmt.Errorf("table: cannot scan into %T", dest)
	}
	return nil
}

// isTombstone tells the statement of a delete that leaves a tombstone: an
// UPDATE that sets the data and the version, which a SaveIf moves on by one.
func isTombstone(query string) bool {
	return strings.HasPrefix(query, "UPDATE") && strings.Contains(query, `"data" = ?`) && !strings.Contains(query, "+ 1")
}

// live returns the number of live rows.
func (b *table) live() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, r := range b.rows {
		if r.version >= 0 {
			n++
		}
	}
	return n
}

// counts returns the writes so far: saves, touches and deletes.
func (b *table) counts() (saves, touches, deletes int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.saves, b.touches, b.deletes
}

// expiry returns the stored expiry of the only live row.
func (b *table) expiry(t *testing.T) time.Time {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var at []time.Time
	for _, r := range b.rows {
		if r.version >= 0 {
			at = append(at, time.UnixMilli(r.expiry))
		}
	}
	if len(at) != 1 {
		t.Fatalf("the table holds %d live rows, want 1", len(at))
	}
	return at[0]
}

// setExpiry moves the expiry of every row, behind the Store's back.
func (b *table) setExpiry(at time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, r := range b.rows {
		b.rows[k] = tableRow{r.data, at.UnixMilli(), r.version}
	}
}

func newTableStorage(t *testing.T) (*fiberstore.Storage, *table) {
	t.Helper()
	b := &table{rows: map[string]tableRow{}}
	s, err := sqlsession.NewWithBackend(b, sqlsession.SQLite, sqlsession.Options{})
	if err != nil {
		t.Fatalf("sqlsession.NewWithBackend() = %v", err)
	}
	st := fiberstore.New(s)
	t.Cleanup(func() { st.Close() })
	return st, b
}

// encode returns values as fiber v3's session middleware encodes them.
func encode(t *testing.T, values map[any]any) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(&values); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const key = "session-id-1"

// TestSetSkipsUnchanged plays fiber's session middleware: every request
// gets the session and sets it back with the idle timeout.
func TestSetSkipsUnchanged(t *testing.T) {
	st, b := newTableStorage(t)
	ctx := context.Background()
	values := map[any]any{"user": "alice", "a": 1, "b": 2, "c": 3, "d": 4}
	const idle = 30 * time.Minute
	if err := st.SetWithContext(ctx, key, encode(t, values), idle); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		data, err := st.GetWithContext(ctx, key)
		if err != nil || data == nil {
			t.Fatalf("request %d: Get() = %v, %v", i, data, err)
		}
		// A new encoding each time, as fiber's middleware makes one.
		if err := st.SetWithContext(ctx, key, encode(t, values), idle); err != nil {
			t.Fatalf("request %d: Set() = %v", i, err)
		}
	}
	if saves, touches, _ := b.counts(); saves != 1 || touches != 0 {
		t.Errorf("100 unchanged requests: %d saves and %d touches after the first save, want 0 and 0", saves-1, touches)
	}

	// A change is saved.
	st.GetWithContext(ctx, key)
	values["a"] = 5
	if err := st.SetWithContext(ctx, key, encode(t, values), idle); err != nil {
		t.Fatal(err)
	}
	if saves, _, _ := b.counts(); saves != 2 {
		t.Errorf("Set(changed) after Get: %d saves in all, want 2", saves)
	}

	// An expiry near its end is moved alone.
	b.setExpiry(time.Now().Add(idle / 2))
	st.GetWithContext(ctx, key)
	if err := st.SetWithContext(ctx, key, encode(t, values), idle); err != nil {
		t.Fatal(err)
	}
	if saves, touches, _ := b.counts(); saves != 2 || touches != 1 {
		t.Errorf("Set(unchanged) of an expiry half gone: %d saves, %d touches; want 2, 1", saves, touches)
	}
	if left := time.Until(b.expiry(t)); left < idle-time.Minute || left > idle {
		t.Errorf("expiry after the touch is %v away, want about %v", left, idle)
	}
}

func TestSetWrites(t *testing.T) {
	ctx := context.Background()
	val := []byte("value")
	for _, tc := range []struct {
		name         string
		get          bool // Get before the Set
		between      func(st *fiberstore.Storage, b *table)
		exp          time.Duration // of the second Set; the first uses 1h
		saves, touch int           // writes of the second Set
		live         bool          // the value is there afterwards
	}{
		{name: "no Get", exp: time.Hour, saves: 1, live: true},
		{name: "Get, same", get: true, exp: time.Hour, live: true},
		{name: "Get, shorter expiry", get: true, exp: time.Second, touch: 1, live: true},
		{name: "Get, longer expiry", get: true, exp: 2 * time.Hour, touch: 1, live: true},
		{name: "Get, no expiry", get: true, exp: 0, touch: 1, live: true},
		{name: "Get, negative expiry", get: true, exp: -time.Second, touch: 1, live: true},
		// The Store keeps a deleted key deleted for its DeleteGrace.
		{name: "Get, Delete", get: true, exp: time.Hour, saves: 1,
			between: func(st *fiberstore.Storage, _ *table) { st.DeleteWithContext(ctx, key) }},
		{name: "Get, Reset", get: true, exp: time.Hour, saves: 1, live: true,
			between: func(st *fiberstore.Storage, _ *table) { st.ResetWithContext(ctx) }},
		{name: "Get, deleted elsewhere", get: true, exp: 2 * time.Hour, touch: 1,
			between: func(_ *fiberstore.Storage, b *table) { b.rows = map[string]tableRow{} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, b := newTableStorage(t)
			if err := st.SetWithContext(ctx, key, val, time.Hour); err != nil {
				t.Fatal(err)
			}
			if tc.get {
				if got, err := st.GetWithContext(ctx, key); err != nil || string(got) != "value" {
					t.Fatalf("Get() = %q, %v", got, err)
				}
			}
			if tc.between != nil {
				tc.between(st, b)
			}
			saves0, touches0, _ := b.counts()
			if err := st.SetWithContext(ctx, key, val, tc.exp); err != nil {
				t.Fatalf("Set() = %v", err)
			}
			saves, touches, _ := b.counts()
			if saves-saves0 != tc.saves || touches-touches0 != tc.touch {
				t.Errorf("Set(exp %v) = %d saves, %d touches; want %d, %d", tc.exp, saves-saves0, touches-touches0, tc.saves, tc.touch)
			}
			got, err := st.GetWithContext(ctx, key)
			if err != nil || (got != nil) != tc.live {
				t.Errorf("Get() after Set = %q, %v; want a value: %v", got, err, tc.live)
			}
		})
	}
}

// TestNegativeExpiry sets values with negative expiries, which fiber's
// contract leaves open: each is stored for the Store's DefaultLifetime, as
// a session saved without an expiry, and is written once.
func TestNegativeExpiry(t *testing.T) {
	ctx := context.Background()
	for _, exp := range []time.Duration{-time.Nanosecond, -time.Hour, math.MinInt64} {
		t.Run(exp.String(), func(t *testing.T) {
			b := &table{rows: map[string]tableRow{}}
			s, err := sqlsession.NewWithBackend(b, sqlsession.SQLite, sqlsession.Options{DefaultLifetime: 2 * time.Hour})
			if err != nil {
				t.Fatalf("sqlsession.NewWithBackend() = %v", err)
			}
			st := fiberstore.New(s)
			t.Cleanup(func() { st.Close() })
			val := encode(t, map[any]any{"user": "alice", "n": 1, "m": 2})
			start := time.Now()
			if err := st.SetWithContext(ctx, key, val, exp); err != nil {
				t.Fatalf("SetWithContext(key, val, %v) = %v", exp, err)
			}
			// The table keeps milliseconds.
			if at := b.expiry(t); at.Before(start.Add(2*time.Hour-time.Millisecond)) || at.After(time.Now().Add(2*time.Hour)) {
				t.Errorf("SetWithContext(key, val, %v) stored expiry %v, want now+2h (DefaultLifetime)", exp, time.Until(at))
			}
			for range 3 {
				if got, err := st.GetWithContext(ctx, key); !bytes.Equal(got, val) || err != nil {
					t.Fatalf("GetWithContext(key) = %q, %v, want the value", got, err)
				}
				if err := st.SetWithContext(ctx, key, encode(t, map[any]any{"user": "alice", "n": 1, "m": 2}), exp); err != nil {
					t.Fatalf("SetWithContext(key, val, %v) = %v", exp, err)
				}
			}
			if saves, touches, _ := b.counts(); saves != 1 || touches != 0 {
				t.Errorf("Set, then Get and Set of the same session 3 times, with exp %v: %d saves, %d touches; want 1, 0", exp, saves, touches)
			}
		})
	}
}

// TestNoExpirySkips sets a value without expiry twice through a Get: the
// second Set writes nothing.
func TestNoExpirySkips(t *testing.T) {
	st, b := newTableStorage(t)
	ctx := context.Background()
	st.SetWithContext(ctx, key, []byte("v"), 0)
	st.GetWithContext(ctx, key)
	st.SetWithContext(ctx, key, []byte("v"), 0)
	if saves, touches, _ := b.counts(); saves != 1 || touches != 0 {
		t.Errorf("Set(no expiry) twice with a Get between: %d saves, %d touches; want 1, 0", saves, touches)
	}
}

// TestConcurrentGetSet runs the cycle of the middleware from many
// goroutines on a few keys, under -race.
func TestConcurrentGetSet(t *testing.T) {
	st, _ := newTableStorage(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			k := fmt.Sprint("key-", i%4)
			for j := range 50 {
				if _, err := st.GetWithContext(ctx, k); err != nil {
					t.Error(err)
					return
				}
				v := []byte("same")
				if j%10 == 0 {
					v = []byte(fmt.Sprint("v", j))
				}
				if err := st.SetWithContext(ctx, k, v, time.Hour); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
