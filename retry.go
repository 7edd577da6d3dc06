package sqlsession

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// DefaultRetries is how many times a write is retried after a deadlock or
// serialization failure when [Options.Retries] is zero.
const DefaultRetries = 3

// Retryable reports whether err is a transient conflict that the same
// statement may well pass on a second try: SQLSTATE 40001 (serialization
// failure; MySQL's deadlock 1213 and Galera's certification failures),
// 40P01 (PostgreSQL deadlock) or SQL Server's deadlock victim 1205. It reads
// the SQLState() method of pgx's and lib/pq's errors and the text of
// go-sql-driver/mysql's and go-mssqldb's. It is the default of
// [Options.Retryable].
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var coded interface{ SQLState() string }
	if errors.As(err, &coded) {
		switch coded.SQLState() {
		case "40001", "40P01":
			return true
		}
	}
	msg := err.Error()
	return strings.Contains(msg, "Error 1213") || strings.Contains(msg, "(40001)") ||
		strings.Contains(msg, "SQLSTATE 40001") || strings.Contains(msg, "deadlocked")
}

// retry runs op until it succeeds, fails for good, or the retries are spent,
// waiting a little longer each time, with jitter.
func (s *Store) retry(ctx context.Context, op func() error) error {
	err := op()
	for attempt := 1; err != nil && attempt <= s.opts.Retries && s.opts.Retryable(err); attempt++ {
		wait := time.Duration(attempt*attempt) * 5 * time.Millisecond
		wait += time.Duration(rand.Int64N(int64(wait)))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (retrying after: %w)", ctx.Err(), err)
		case <-t.C:
		}
		if err = op(); err != nil && attempt == s.opts.Retries && s.opts.Retryable(err) {
			return fmt.Errorf("gave up after %d attempts: %w", attempt+1, err)
		}
	}
	return err
}
