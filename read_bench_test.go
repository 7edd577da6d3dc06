package sqlsession

import (
	"context"
	"database/sql"
	"testing"
	"time"
)

// rowBackend answers every QueryRow with one live row, scanned as a
// driver scans it: a fresh copy of the data, the expiry through the
// destination's Scan as int64 Unix milliseconds, the version as int64. It
// allocates only the copy, so that the benchmarks count the Store's own
// allocations.
type rowBackend struct {
	row dataRow
}

type dataRow struct {
	data    []byte
	expiry  int64
	version int64
}

func (b *rowBackend) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return 0, nil
}

func (b *rowBackend) QueryRow(ctx context.Context, query string, args ...any) Row { return &b.row }

func (b *rowBackend) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	return nil, sql.ErrConnDone
}

func (r *dataRow) Scan(dest ...any) error {
	for i, d := range dest {
		switch i {
		case 0:
			*d.(*[]byte) = append([]byte(nil), r.data...)
		case 1:
			if err := d.(sql.Scanner).Scan(r.expiry); err != nil {
				return err
			}
		case 2:
			*d.(*int64) = r.version
		}
	}
	return nil
}

// BenchmarkRead measures the Store's own work and allocations per Find and
// Lookup of a live session, on a Backend that costs nothing: hashing the
// token, binding the arguments, scanning. The driver's copy of the data is
// one of the allocations counted.
func BenchmarkRead(b *testing.B) {
	be := &rowBackend{row: dataRow{data: []byte(`{"user":"ada"}`), expiry: time.Now().Add(time.Hour).UnixMilli(), version: 3}}
	s, err := NewWithBackend(be, Postgres, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	tok := NewToken()
	b.Run("Find", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, found, err := s.Find(ctx, tok); !found || err != nil {
				b.Fatal(found, err)
			}
		}
	})
	b.Run("Lookup", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if e, found, err := s.Lookup(ctx, tok); !found || err != nil || e.Version != 3 {
				b.Fatal(found, err)
			}
		}
	})
}
