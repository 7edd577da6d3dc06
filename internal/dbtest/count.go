package dbtest

import (
	"context"
	"strings"
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

// IsSweepBatch reports whether query is one batch of DeleteExpired: a
// DELETE of expired rows (an Exec), or on PostgreSQL, where the batch
// reports the rows it deleted, a WITH ... DELETE ... RETURNING (a QueryRow).
func IsSweepBatch(query string) bool {
	return (strings.HasPrefix(query, "DELETE") || strings.HasPrefix(query, "WITH d AS (DELETE")) && strings.Contains(query, "<=")
}
