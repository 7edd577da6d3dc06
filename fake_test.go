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
	affected []int64 // answers for successive deletes; 0 when exhausted
	block    bool    // Exec waits for ctx to end
	entered  chan struct{}
}

func (f *fakeBackend) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	f.mu.Lock()
	f.execs = append(f.execs, query)
	var n int64
	if strings.HasPrefix(query, "DELETE") && len(f.affected) > 0 {
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
		if strings.HasPrefix(q, "DELETE") {
			n++
		}
	}
	return n
}

type fakeRow struct{}

func (fakeRow) Scan(...any) error { return sql.ErrNoRows }
