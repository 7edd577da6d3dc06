package dbtest

import (
	"context"
	"sync/atomic"

	"github.com/sqlsession/sqlsession"
)

// CountWrites wraps b so that writes counts the statements that write: every
// Exec (INSERT, UPDATE, DELETE, DDL) of the Store. If b implements
// sqlsession.Pinner, the wrapper does too, and the pinned connection counts
// as well.
func CountWrites(b sqlsession.Backend, writes *atomic.Int64) sqlsession.Backend {
	c := counter{b, writes}
	if _, ok := b.(sqlsession.Pinner); ok {
		return pinCounter{c}
	}
	return c
}

type counter struct {
	sqlsession.Backend
	writes *atomic.Int64
}

func (c counter) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	c.writes.Add(1)
	return c.Backend.Exec(ctx, query, args...)
}

type pinCounter struct{ counter }

func (c pinCounter) Pin(ctx context.Context) (sqlsession.Backend, func(), error) {
	b, release, err := c.Backend.(sqlsession.Pinner).Pin(ctx)
	if err != nil {
		return nil, nil, err
	}
	return counter{b, c.writes}, release, nil
}

var _ sqlsession.Pinner = pinCounter{}
