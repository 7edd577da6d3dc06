package sqlsession

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Read batching ([Options.BatchReads]). A Store lets readLanes reads of
// the table run at once, each its own statement, as without batching. A
// read that arrives while all lanes are busy joins a queue instead of
// taking a connection of its own; when a lane's statement ends, the queue
// (up to maxBatchRead keys) becomes the next statement of that lane:
// SELECT ... WHERE key IN (...), on PostgreSQL one SELECT per key joined by
// UNION ALL (see postgresSQL.readMany), and for a batch of one key the
// single-key statement. Under light load nothing waits and every read is
// the statement it would be without batching; under heavy load one
// statement answers many requests, which costs the database and the
// process far less than one statement each.
//
// No goroutine is started: the first still-waiting read of a batch runs
// it, answers the others and hands the lane on. A read whose context ends
// while it waits leaves with the context's error and is dropped from its
// batch. When a batch fails because the context of the read running it
// ended, the others read on their own instead of sharing that error.
const (
	readLanes    = 4
	maxBatchRead = 64
)

// Where a queued read stands.
const (
	readWaiting   int32 = iota
	readAnswered        // row and err are set
	readLeading         // batch is set: run it
	readAbandoned       // its context ended while it waited
)

// readBatcher is a Store's queue of reads.
type readBatcher struct {
	s       *Store
	mu      sync.Mutex
	running int           // lanes in use
	queue   []*queuedRead // waiting for a lane
}

// queuedRead is one read waiting in the queue, and then its answer.
type queuedRead struct {
	key   string
	wake  chan struct{} // closed once state leaves readWaiting for readAnswered or readLeading
	state atomic.Int32
	batch []*queuedRead // the reads to run, when leading
	row   storedRow
	err   error // sql.ErrNoRows for a miss
	retry bool  // the batch failed with its leader's context: read alone
}

// storedRow is what a read finds of a session's row.
type storedRow struct {
	data    []byte
	exp     time.Time
	version int64
}

// find is read for [Store.Find]: a read with a lane of its own sends
// Find's statement, which reads the data alone.
func (b *readBatcher) find(ctx context.Context, key string, now time.Time) ([]byte, error) {
	if !b.lane() {
		row, err := b.read(ctx, key, now)
		return row.data, err
	}
	defer b.release()
	return b.s.findData(ctx, b.s.b, key, now)
}

// lane takes a free lane, if there is one, for a read of its own, which
// calls release when it ends.
func (b *readBatcher) lane() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.takeLane()
}

// takeLane is lane with b.mu held.
func (b *readBatcher) takeLane() bool {
	if b.running < readLanes {
		b.running++
		return true
	}
	return false
}

// read returns key's row, live at now, or an error wrapping sql.ErrNoRows.
func (b *readBatcher) read(ctx context.Context, key string, now time.Time) (storedRow, error) {
	b.mu.Lock()
	if b.takeLane() {
		b.mu.Unlock()
		defer b.release()
		return b.s.readRow(ctx, b.s.b, key, now)
	}
	w := &queuedRead{key: key, wake: make(chan struct{})}
	b.queue = append(b.queue, w)
	b.mu.Unlock()
	select {
	case <-w.wake:
	case <-ctx.Done():
		if w.state.CompareAndSwap(readWaiting, readAbandoned) {
			return storedRow{}, ctx.Err()
		}
		<-w.wake // answered, or handed a batch, meanwhile
	}
	if w.state.Load() == readLeading {
		b.run(ctx, w.batch, now)
		b.release()
	}
	if w.retry {
		return b.s.readRow(ctx, b.s.b, key, now)
	}
	return w.row, w.err
}

// release hands the caller's lane to the first waiting read of the next
// batch, or frees it when no read waits.
func (b *readBatcher) release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.queue) > 0 {
		n := min(len(b.queue), maxBatchRead)
		batch := slices.Clone(b.queue[:n])
		rest := copy(b.queue, b.queue[n:]) // the queue keeps its array
		clear(b.queue[rest:])
		b.queue = b.queue[:rest]
		for _, w := range batch {
			if w.state.CompareAndSwap(readWaiting, readLeading) {
				w.batch = batch
				close(w.wake)
				return
			}
		}
		// Every read of this batch has left: try the next.
	}
	b.running--
}

// run reads the rows of batch's keys in one statement and answers every
// read of batch but the caller's (which is leading and reads its own).
func (b *readBatcher) run(ctx context.Context, batch []*queuedRead, now time.Time) {
	keys := make([]string, 0, len(batch))
	asked := make(map[string]bool, len(batch)) // until a read of the key has its row
	for _, w := range batch {
		if w.state.Load() != readAbandoned && !asked[w.key] {
			asked[w.key] = true
			keys = append(keys, w.key)
		}
	}
	rows, err := b.s.readRows(ctx, keys, now)
	stray := false
	for k := range rows {
		stray = stray || !asked[k]
	}
	for _, w := range batch {
		switch {
		case err != nil && ctx.Err() != nil && w.state.Load() != readLeading:
			w.retry = true // not its error: the leader's context ended
		case err != nil:
			w.err = err
		default:
			r, ok := rows[w.key]
			switch {
			case ok && asked[w.key]:
				w.row = r
				asked[w.key] = false
			case ok:
				// A second read of the key gets data of its own.
				w.row = storedRow{data: bytes.Clone(r.data), exp: r.exp, version: r.version}
			case stray:
				// A row came back under a key not asked for (a table
				// whose key column compares case-insensitively): the
				// key = ? statement knows what matches.
				w.retry = true
			default:
				w.err = sql.ErrNoRows
			}
		}
		if w.state.CompareAndSwap(readWaiting, readAnswered) {
			close(w.wake)
		}
	}
}

// readRow reads one live session's row through b: the single-key
// statement.
func (s *Store) readRow(ctx context.Context, b Backend, key string, now time.Time) (storedRow, error) {
	c := &readCall{args: [2]any{key, s.q.time(now)}, exp: timeScan{f: s.opts.Layout.Time}}
	c.dest = [3]any{&c.data, &c.exp, &c.version}
	dest := c.dest[:]
	if !s.opts.Layout.versioned() {
		dest = dest[:2]
	}
	err := b.QueryRow(ctx, s.q.findExpiry, c.args[:]...).Scan(dest...)
	return storedRow{data: c.data, exp: c.exp.t, version: c.version}, err
}

// readRows reads the live rows of keys in one statement, by the key each
// row is stored under: for one key the single-key statement, not a batch
// padded out.
func (s *Store) readRows(ctx context.Context, keys []string, now time.Time) (map[string]storedRow, error) {
	if len(keys) == 1 {
		r, err := s.readRow(ctx, s.b, keys[0], now)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return nil, nil
		case err != nil:
			return nil, err
		}
		return map[string]storedRow{keys[0]: r}, nil
	}
	n := keyBucket(len(keys))
	args := make([]any, 0, n+1)
	for _, k := range keys {
		args = append(args, k)
	}
	for len(args) < n {
		// No session is stored under "" (Save refuses an empty token): the
		// statement's spare keys find nothing.
		args = append(args, "")
	}
	args = append(args, s.q.time(now))
	rs, err := s.b.Query(ctx, bucketSQL(s.q.findMany, n), args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	rows := make(map[string]storedRow, len(keys))
	var (
		key     string
		data    []byte
		exp     = timeScan{f: s.opts.Layout.Time}
		version int64
	)
	dest := []any{&key, &data, &exp, &version}
	if !s.opts.Layout.versioned() {
		dest = dest[:3]
	}
	for rs.Next() {
		data, version = nil, 0
		if err := rs.Scan(dest...); err != nil {
			return nil, err
		}
		rows[key] = storedRow{data: data, exp: exp.t, version: version}
	}
	return rows, rs.Err()
}
