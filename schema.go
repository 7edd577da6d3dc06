package sqlsession

import (
	"context"
	"fmt"
)

// CreateTable creates the session table and its expiry index if they do not
// exist, and adds the columns that the options need to an existing table.
// With [Options.Cache] it also creates the change log and the trigger that
// fills it. It is idempotent and safe to run from many instances at once.
// The ctx deadline is its time limit.
func (s *Store) CreateTable(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		// Another instance may be creating or altering the same table: the
		// race makes one of them fail, and the next pass finds it all done.
		if err = s.createTable(ctx); err == nil || ctx.Err() != nil {
			break
		}
	}
	return err
}

func (s *Store) createTable(ctx context.Context) error {
	// A table that exists must be a session table before anything changes:
	// a wrong name (a typo naming an application table) gets an error and
	// leaves that table as it was.
	existing, err := s.columns(ctx)
	if err != nil {
		return err
	}
	if len(existing) > 0 {
		if _, err := s.checkTable(ctx, false); err != nil {
			return err
		}
	}
	for _, stmt := range s.q.createTable {
		if _, err := s.b.Exec(ctx, stmt); err != nil {
			// An existing table that lacks a column fails on its index:
			// name the column rather than echo the database.
			if have, cerr := s.columns(ctx); cerr == nil && len(have) > 0 {
				if _, cerr := s.checkTable(ctx, false); cerr != nil {
					return cerr
				}
			}
			return fmt.Errorf("sqlsession: create table %s: %w", s.opts.Table, err)
		}
	}
	have, err := s.checkTable(ctx, false)
	if err != nil {
		return err
	}
	for _, name := range s.q.optional {
		if have[name] {
			continue
		}
		if _, err := s.b.Exec(ctx, s.q.addColumn[name]); err != nil {
			return fmt.Errorf("sqlsession: add column %s to %s: %w", name, s.opts.Table, err)
		}
	}
	if s.q.ownerType != "" {
		var typ string
		if err := s.b.QueryRow(ctx, s.q.ownerType, s.opts.Schema, s.opts.Table, s.q.ownerName).Scan(&typ); err != nil {
			return fmt.Errorf("sqlsession: read the owner column of %s: %w", s.opts.Table, err)
		}
		if lower(typ) != "varbinary" {
			if _, err := s.b.Exec(ctx, s.q.ownerFix); err != nil {
				return fmt.Errorf("sqlsession: make the owner column of %s binary: %w", s.opts.Table, err)
			}
		}
	}
	for _, stmt := range s.q.indexes {
		if _, err := s.b.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("sqlsession: create index on %s: %w", s.opts.Table, err)
		}
	}
	for _, ix := range s.q.columnIndexes {
		var n int64
		if err := s.b.QueryRow(ctx, s.q.indexCount, s.opts.Schema, s.opts.Table, ix.column).Scan(&n); err != nil {
			return fmt.Errorf("sqlsession: list indexes of %s: %w", s.opts.Table, err)
		}
		if n > 0 {
			continue
		}
		if _, err := s.b.Exec(ctx, ix.create); err != nil {
			return fmt.Errorf("sqlsession: create index on %s: %w", s.opts.Table, err)
		}
	}
	if s.cache != nil {
		return s.createChangeLog(ctx)
	}
	return nil
}

// CheckTable reports whether the table has every column this Store needs,
// returning an error wrapping [ErrMissingColumn] that names the first one
// missing, and with [Options.Cache] whether the change log and its trigger
// exist ([ErrNoChangeLog]). [Store.CreateTable] checks the same after creating what it can;
// call CheckTable instead at start-up for a table you manage yourself.
func (s *Store) CheckTable(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if _, err := s.checkTable(ctx, true); err != nil {
		return err
	}
	if s.cache != nil {
		return s.checkChangeLog(ctx)
	}
	return nil
}

// checkTable returns the table's columns after checking that the required
// ones, and with all set the optional ones, exist.
func (s *Store) checkTable(ctx context.Context, all bool) (map[string]bool, error) {
	have, err := s.columns(ctx)
	if err != nil {
		return nil, err
	}
	if len(have) == 0 {
		return nil, fmt.Errorf("%w: table %s does not exist", ErrMissingColumn, s.opts.Table)
	}
	want := s.q.required
	if all {
		want = append(want[:len(want):len(want)], s.q.optional...)
	}
	for _, name := range want {
		if !have[name] {
			return nil, fmt.Errorf("%w: table %s has no column %q", ErrMissingColumn, s.opts.Table, name)
		}
	}
	return have, nil
}

// columns returns the set of the table's column names, in lower case.
func (s *Store) columns(ctx context.Context) (map[string]bool, error) {
	rows, err := s.b.Query(ctx, s.q.columns, s.opts.Schema, s.opts.Table)
	if err != nil {
		return nil, fmt.Errorf("sqlsession: list columns of %s: %w", s.opts.Table, err)
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("sqlsession: list columns of %s: %w", s.opts.Table, err)
		}
		have[lower(name)] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlsession: list columns of %s: %w", s.opts.Table, err)
	}
	return have, nil
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
