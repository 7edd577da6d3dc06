package sqlsession

import (
	"context"
	"database/sql"
	"strings"
	"sync"
)

// fakeBackend records statements and answers DELETE batches with a scripted
// number of rows. It lets the hermetic tests drive cleanup without a driver.
type fakeBackend struct {
	mu       sync.Mutex
	execs    []string
	batches  [][]any // the arguments of PostgreSQL's batches
	affected []int64 // answers for successive deletes; 0 when exhausted
	block    bool    // Exec waits for ctx to end
	entered  chan struct{}
}

func (f *fakeBackend) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	f.mu.Lock()
	f.execs = append(f.execs, query)
	var n int64
	if (strings.HasPrefix(query, "DELETE") || strings.HasPrefix(query, "WITH d AS (DELETE")) && len(f.affected) > 0 {
		n, f.affected = f.affected[0], f.affected[1:]
	}
	block, entered := f.block, f.entered
	f.mu.Unlock()
	if block {
		if entered != nil {
			entered <- struct{}{}
		}
		<-ctx.Done()
		return 0, ctx.Err()
	}
	return n, nil
}

func (f *fakeBackend) QueryRow(ctx context.Context, query string, args ...any) Row {
	if strings.HasPrefix(query, "WITH d AS (DELETE") {
		// PostgreSQL's batch: rows deleted and the latest expiry.
		f.mu.Lock()
		f.batches = append(f.batches, args)
		f.mu.Unlock()
		n, err := f.Exec(ctx, query, args...)
		return batchRow{n: n, err: err}
	}
	return fakeRow{}
}

func (f *fakeBackend) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	return nil, sql.ErrConnDone
}

func (f *fakeBackend) deletes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, q := range f.execs {
		if strings.HasPrefix(q, "DELETE") || strings.HasPrefix(q, "WITH d AS (DELETE") {
			n++
		}
	}
	return n
}

type fakeRow struct{}

// batchRow answers a batch of DeleteExpired that reports what it deleted:
// n rows, the latest expiring at n (Unix ms, the default layout's).
type batchRow struct {
	n   int64
	err error
}

func (r batchRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	*dest[0].(*int64) = r.n
	*dest[1].(*any) = r.n
	return nil
}

func (fakeRow) Scan(...any) error { return sql.ErrNoRows }
