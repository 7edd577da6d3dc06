package sqlsession

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// tableBackend answers the read statements from a map, as the SQL would:
// the single-key read (QueryRow) and the batched one (Query: keys IN (...),
// or on PostgreSQL one SELECT per key joined by UNION ALL).
// Single reads of a key in hold block until release is closed or their
// context ends, so that a test can keep the Store's lanes busy; Query can
// be made to block (until its context ends) or to fail.
type tableBackend struct {
	mu      sync.Mutex
	rows    map[string]string // key: data; every row is live, version 7
	hold    map[string]bool
	release chan struct{}
	held    chan string // a single read of a held key has begun
	batches [][]string  // the keys of each batched read, padding left out
	singles []string    // the keys of single reads
	single  []string    // the statements of single reads
	block   bool        // Query waits for its context to end
	fail    error       // Query's error
	stray   bool        // Query also returns a row under a key not asked for
	queried chan struct{}
}

func (b *tableBackend) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return 0, nil
}

func (b *tableBackend) QueryRow(ctx context.Context, query string, args ...any) Row {
	key := args[0].(string)
	b.mu.Lock()
	b.singles = append(b.singles, key)
	b.single = append(b.single, query)
	hold := b.hold[key]
	data, ok := b.rows[key]
	b.mu.Unlock()
	if hold {
		b.held <- key
		select {
		case <-b.release:
		case <-ctx.Done():
			return tableRow{err: ctx.Err()}
		}
	}
	if !ok {
		return tableRow{err: sql.ErrNoRows}
	}
	return tableRow{vals: []any{[]byte(data), int64(1 << 50), int64(7)}}
}

func (b *tableBackend) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	if !strings.Contains(query, " IN (") && !strings.Contains(query, " UNION ALL ") {
		return nil, fmt.Errorf("unexpected query %q", query)
	}
	var keys []string
	for _, a := range args[:len(args)-1] {
		if k := a.(string); k != "" && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	b.mu.Lock()
	b.batches = append(b.batches, keys)
	block, fail, stray, queried := b.block, b.fail, b.stray, b.queried
	rows := &tableRows{}
	for _, k := range keys {
		if data, ok := b.rows[k]; ok {
			rows.rows = append(rows.rows, []any{k, []byte(data), int64(1 << 50), int64(7)})
		}
	}
	b.mu.Unlock()
	if queried != nil {
		queried <- struct{}{}
	}
	if block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if fail != nil {
		return nil, fail
	}
	if stray {
		rows.rows = append(rows.rows, []any{"STRAY", []byte("x"), int64(1 << 50), int64(7)})
	}
	return rows, nil
}

type tableRow struct {
	vals []any
	err  error
}

func (r tableRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	return assign(dest, r.vals)
}

type tableRows struct {
	rows [][]any
	i    int
}

func (r *tableRows) Next() bool             { r.i++; return r.i <= len(r.rows) }
func (r *tableRows) Scan(dest ...any) error { return assign(dest, r.rows[r.i-1]) }
func (r *tableRows) Err() error             { return nil }
func (r *tableRows) Close() error           { return nil }

// assign scans vals into dest as database/sql would, for the types the
// read statements use.
func assign(dest, vals []any) error {
	for i, d := range dest {
		switch d := d.(type) {
		case *string:
			*d = vals[i].(string)
		case *[]byte:
			*d = slices.Clone(vals[i].([]byte))
		case *int64:
			*d = vals[i].(int64)
		case sql.Scanner:
			if err := d.Scan(vals[i]); err != nil {
				return err
			}
		default:
			return fmt.Errorf("cannot scan into %T", d)
		}
	}
	return nil
}

// busy starts a Lookup of each held key and waits until each has reached
// the backend: the lanes are taken. The returned function waits for them.
func busy(t *testing.T, s *Store, b *tableBackend) (wait func()) {
	t.Helper()
	var wg sync.WaitGroup
	for range readLanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Lookup(context.Background(), "held")
		}()
		<-b.held
	}
	return wg.Wait
}

// queued waits until n reads wait in s's queue.
func queued(t *testing.T, s *Store, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		s.batch.mu.Lock()
		got := len(s.batch.queue)
		s.batch.mu.Unlock()
		if got == n {
			return
		}
	}
	t.Fatalf("%d reads never queued", n)
}

type readResult struct {
	key   string
	data  string
	found bool
	err   error
}

// readAll looks keys up concurrently, each under ctxs[i] when given, each
// starting once the one before has joined the queue: the first is the one
// that runs the batch.
func readAll(t *testing.T, s *Store, keys []string, ctxs map[int]context.Context) chan readResult {
	out := make(chan readResult, len(keys))
	for i, k := range keys {
		ctx := context.Background()
		if c, ok := ctxs[i]; ok {
			ctx = c
		}
		go func() {
			e, found, err := s.Lookup(ctx, k)
			out <- readResult{k, string(e.Data), found, err}
		}()
		queued(t, s, i+1) // a read whose context has ended stays until its batch
	}
	return out
}

func TestBatchReads(t *testing.T) {
	rows := map[string]string{"held": "h", "a": "A", "b": "B", "c": "C"}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	leader, cancelLeader := context.WithCancel(context.Background())
	defer cancelLeader()
	tests := []struct {
		name  string
		setup func(b *tableBackend)
		keys  []string
		ctxs  map[int]context.Context
		want  map[string]readResult // by key; every read of the key
		// batches are the keys of the batched reads; singles, of the single
		// reads after the lanes were released.
		batches [][]string
		singles []string
	}{
		{
			name:    "one statement answers the queue",
			keys:    []string{"a", "b", "missing", "a", "c"},
			want:    map[string]readResult{"a": {data: "A", found: true}, "b": {data: "B", found: true}, "c": {data: "C", found: true}, "missing": {}},
			batches: [][]string{{"a", "b", "missing", "c"}},
		},
		{
			name: "a database error reaches every read",
			setup: func(b *tableBackend) {
				b.fail = errors.New("connection reset")
			},
			keys:    []string{"a", "b"},
			want:    map[string]readResult{"a": {err: errors.New("sqlsession: find: connection reset")}, "b": {err: errors.New("sqlsession: find: connection reset")}},
			batches: [][]string{{"a", "b"}},
		},
		{
			name:    "a row under a key not asked for: each reads alone",
			setup:   func(b *tableBackend) { b.stray = true },
			keys:    []string{"a", "missing"},
			want:    map[string]readResult{"a": {data: "A", found: true}, "missing": {}},
			batches: [][]string{{"a", "missing"}},
			singles: []string{"missing"},
		},
		{
			name: "the context of the read running the batch ends: the others read alone",
			setup: func(b *tableBackend) {
				b.block = true
				b.queried = make(chan struct{}, 1)
				go func() {
					<-b.queried
					cancelLeader()
				}()
			},
			keys:    []string{"a", "b", "c"},
			ctxs:    map[int]context.Context{0: leader},
			want:    map[string]readResult{"a": {err: errors.New("sqlsession: find: context canceled")}, "b": {data: "B", found: true}, "c": {data: "C", found: true}},
			batches: [][]string{{"a", "b", "c"}},
			singles: []string{"b", "c"},
		},
		{
			name:    "a read whose context has ended leaves the queue",
			keys:    []string{"a", "b"},
			ctxs:    map[int]context.Context{1: canceled},
			want:    map[string]readResult{"a": {data: "A", found: true}, "b": {err: errors.New("sqlsession: find: context canceled")}},
			singles: []string{"a"}, // a batch of one key: the single-key statement
		},
		{
			name:    "a batch of one key reads it with the single-key statement",
			keys:    []string{"a", "a"},
			want:    map[string]readResult{"a": {data: "A", found: true}},
			singles: []string{"a"},
		},
	}
	// More reads than a statement takes: two batches, in the queue's order.
	many := tests[0]
	many.name, many.keys, many.want, many.batches = "a long queue takes two statements", nil, map[string]readResult{}, [][]string{nil, nil}
	for i := range maxBatchRead + 6 {
		k := fmt.Sprintf("k%03d", i)
		many.keys = append(many.keys, k)
		many.want[k] = readResult{}
		many.batches[i/maxBatchRead] = append(many.batches[i/maxBatchRead], k)
	}
	tests = append(tests, many)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &tableBackend{rows: rows, hold: map[string]bool{"held": true}, release: make(chan struct{}), held: make(chan string)}
			if tt.setup != nil {
				tt.setup(b)
			}
			s, err := NewWithBackend(b, Postgres, Options{PlainTokens: true, BatchReads: true})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			wait := busy(t, s, b)
			out := readAll(t, s, tt.keys, tt.ctxs)
			close(b.release)
			wait()
			for range tt.keys {
				r := <-out
				want := tt.want[r.key]
				if r.data != want.data || r.found != want.found || fmt.Sprint(r.err) != fmt.Sprint(want.err) {
					t.Errorf("Lookup(%q) = %q, %v, %v; want %q, %v, %v", r.key, r.data, r.found, r.err, want.data, want.found, want.err)
				}
			}
			b.mu.Lock()
			defer b.mu.Unlock()
			for _, keys := range append(b.batches, tt.batches...) {
				slices.Sort(keys)
			}
			// Batches on different lanes run side by side.
			slices.SortFunc(b.batches, func(x, y []string) int { return strings.Compare(x[0], y[0]) })
			if !slices.EqualFunc(b.batches, tt.batches, slices.Equal) {
				t.Errorf("batched reads %q, want %q", b.batches, tt.batches)
			}
			singles := slices.DeleteFunc(slices.Clone(b.singles), func(k string) bool { return k == "held" })
			slices.Sort(singles)
			if !slices.Equal(singles, tt.singles) {
				t.Errorf("single reads %q, want %q", singles, tt.singles)
			}
		})
	}
}

// TestBatchReadsOwnData checks that two reads of one key answered by one
// batch do not share the data they return: a caller may change its own.
func TestBatchReadsOwnData(t *testing.T) {
	b := &tableBackend{rows: map[string]string{"held": "h", "a": "A"}, hold: map[string]bool{"held": true}, release: make(chan struct{}), held: make(chan string)}
	s, err := NewWithBackend(b, Postgres, Options{PlainTokens: true, BatchReads: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	wait := busy(t, s, b)
	got := make(chan []byte, 2)
	for i := range 2 {
		go func() {
			e, _, _ := s.Lookup(context.Background(), "a")
			got <- e.Data
		}()
		queued(t, s, i+1)
	}
	close(b.release)
	wait()
	x, y := <-got, <-got
	reads := len(b.batches) + len(slices.DeleteFunc(slices.Clone(b.singles), func(k string) bool { return k == "held" }))
	if reads != 1 || string(x) != "A" || string(y) != "A" {
		t.Fatalf("%d statements answered %q and %q, want one answering A twice", reads, x, y)
	}
	if &x[0] == &y[0] {
		t.Error("two reads of one key share their data")
	}
}

// TestBatchReadsFindAlone checks that a Find with a lane free sends Find's
// own statement, which reads the data alone, and a Lookup the one that
// also reads the expiry and version.
func TestBatchReadsFindAlone(t *testing.T) {
	b := &tableBackend{rows: map[string]string{"a": "A"}}
	s, err := NewWithBackend(b, Postgres, Options{PlainTokens: true, BatchReads: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if data, found, err := s.Find(ctx, "a"); string(data) != "A" || !found || err != nil {
		t.Fatalf("Find() = %q, %v, %v", data, found, err)
	}
	if e, found, err := s.Lookup(ctx, "a"); string(e.Data) != "A" || !found || err != nil {
		t.Fatalf("Lookup() = %q, %v, %v", e.Data, found, err)
	}
	if want := []string{s.q.find, s.q.findExpiry}; !slices.Equal(b.single, want) || len(b.batches) != 0 {
		t.Errorf("statements %q and %d batches, want %q and none", b.single, len(b.batches), want)
	}
}
