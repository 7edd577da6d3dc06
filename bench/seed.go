package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// execFunc runs one statement during set-up.
type execFunc func(ctx context.Context, query string, args ...any) error

// seedFunc bulk-inserts sessions with the given tokens, data and expiry,
// behind the store's back: set-up, never measured.
type seedFunc func(ctx context.Context, tokens []string, data []byte, expiry time.Time) error

// seedRowsPerStatement bounds a multi-row INSERT: 5 columns × 200 rows stays
// far below every server's limit on bind parameters.
const seedRowsPerStatement = 200

// bulkInsert inserts n rows into table, several rows per statement. row
// returns the values of row i, one per column; ph returns the nth bind
// parameter of the dialect.
func bulkInsert(ctx context.Context, exec execFunc, dialect, table string, cols []string, n int, row func(i int) []any) error {
	for lo := 0; lo < n; lo += seedRowsPerStatement {
		hi := min(lo+seedRowsPerStatement, n)
		var b strings.Builder
		b.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
		args := make([]any, 0, (hi-lo)*len(cols))
		for i := lo; i < hi; i++ {
			if i > lo {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for j, v := range row(i) {
				if j > 0 {
					b.WriteString(", ")
				}
				args = append(args, v)
				b.WriteString(placeholder(dialect, len(args)))
			}
			b.WriteByte(')')
		}
		if err := exec(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("seed %s: %w", table, err)
		}
	}
	return nil
}

func placeholder(dialect string, n int) string {
	if dialect == "postgres" {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

// coreSeed seeds the table shape of the core (and of the floor): token,
// data, expires_at in Unix milliseconds. hashed stores the core's key for
// each token instead of the token.
func coreSeed(exec execFunc, dialect string, hashed bool) seedFunc {
	return func(ctx context.Context, tokens []string, data []byte, expiry time.Time) error {
		ms := expiry.UnixMilli()
		return bulkInsert(ctx, exec, dialect, "sessions", []string{"token", "data", "expires_at"}, len(tokens), func(i int) []any {
			k := tokens[i]
			if hashed {
				k = storedKey(k)
			}
			return []any{k, data, ms}
		})
	}
}

// scsSeed seeds the table shape of scs's stores: token, data, expiry as
// the store's own Commit writes it.
func scsSeed(exec execFunc, dialect string) seedFunc {
	return func(ctx context.Context, tokens []string, data []byte, expiry time.Time) error {
		var exp any = expiry
		switch dialect {
		case "mysql":
			exp = expiry.UTC()
		case "sqlite":
			exp = expiry.UTC().Format("2006-01-02T15:04:05.999")
		}
		if dialect == "sqlite" {
			// sqlite3store keeps the expiry as a Julian day number.
			return bulkInsertSQLiteJulian(ctx, exec, tokens, data, exp)
		}
		return bulkInsert(ctx, exec, dialect, "sessions", []string{"token", "data", "expiry"}, len(tokens), func(i int) []any {
			return []any{tokens[i], data, exp}
		})
	}
}

// bulkInsertSQLiteJulian is bulkInsert for sqlite3store, whose expiry is
// julianday(text).
func bulkInsertSQLiteJulian(ctx context.Context, exec execFunc, tokens []string, data []byte, exp any) error {
	for lo := 0; lo < len(tokens); lo += seedRowsPerStatement {
		hi := min(lo+seedRowsPerStatement, len(tokens))
		var b strings.Builder
		b.WriteString("INSERT INTO sessions (token, data, expiry) VALUES ")
		args := make([]any, 0, (hi-lo)*3)
		for i := lo; i < hi; i++ {
			if i > lo {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, julianday(?))")
			args = append(args, tokens[i], data, exp)
		}
		if err := exec(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("seed sessions: %w", err)
		}
	}
	return nil
}

// waderSeed seeds the table of wader/gormstore: its rows hold the session
// values encoded by securecookie, which the store decodes on every load.
func waderSeed(exec execFunc, dialect string, w *waderImpl) seedFunc {
	return func(ctx context.Context, tokens []string, data []byte, expiry time.Time) error {
		enc, err := w.encodedValues(data)
		if err != nil {
			return err
		}
		if err := w.addRequests(tokens); err != nil {
			return err
		}
		now := time.Now()
		return bulkInsert(ctx, exec, dialect, "sessions", []string{"id", "data", "created_at", "updated_at", "expires_at"}, len(tokens), func(i int) []any {
			return []any{tokens[i], enc, now, now, expiry}
		})
	}
}
