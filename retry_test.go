package sqlsession

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

type sqlStateError string

func (e sqlStateError) Error() string    { return "server says " + string(e) }
func (e sqlStateError) SQLState() string { return string(e) }

func TestRetryable(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{sqlStateError("40001"), true},
		{sqlStateError("40P01"), true},
		{fmt.Errorf("wrapped: %w", sqlStateError("40001")), true},
		{sqlStateError("23505"), false},
		{errors.New("Error 1213 (40001): Deadlock found when trying to get lock; try restarting transaction"), true},
		{errors.New("mssql: Transaction (Process ID 52) was deadlocked on lock resources"), true},
		{errors.New("Error 1062 (23000): Duplicate entry"), false},
		{errors.New("connection refused"), false},
		{context.Canceled, false},
	}
	for _, tt := range tests {
		if got := Retryable(tt.err); got != tt.want {
			t.Errorf("Retryable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// flakyBackend fails its first n Execs with err.
type flakyBackend struct {
	fakeBackend
	mu    sync.Mutex
	fails int
	err   error
	calls int
}

func (f *flakyBackend) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	f.mu.Lock()
	f.calls++
	fail := f.calls <= f.fails
	f.mu.Unlock()
	if fail {
		return 0, f.err
	}
	return 1, nil
}

func TestSaveRetries(t *testing.T) {
	deadlock := sqlStateError("40001")
	tests := []struct {
		name      string
		retries   int
		fails     int
		err       error
		wantCalls int
		wantErr   string
	}{
		{"no conflict", 0, 0, deadlock, 1, ""},
		{"two conflicts", 0, 2, deadlock, 3, ""},
		{"conflicts outlast retries", 0, 10, deadlock, 4, "gave up after 4 attempts"},
		{"retries off", -1, 1, deadlock, 1, "server says 40001"},
		{"one retry", 1, 5, deadlock, 2, "gave up after 2 attempts"},
		{"other errors are not retried", 0, 5, errors.New("disk full"), 1, "disk full"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := &flakyBackend{fails: tt.fails, err: tt.err}
				s, err := NewWithBackend(b, MySQL, Options{Retries: tt.retries})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				err = s.Save(context.Background(), "tok", []byte("x"), time.Time{})
				if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
					t.Fatalf("Save() = %v, want error containing %q", err, tt.wantErr)
				}
				if b.calls != tt.wantCalls {
					t.Fatalf("Save() ran %d statements, want %d", b.calls, tt.wantCalls)
				}
			})
		})
	}
}

// replicaBackend answers Find from a map, or fails.
type replicaBackend struct {
	fakeBackend
	rows  map[string][]byte
	err   error
	reads int
}

type bytesRow struct {
	data []byte
	err  error
}

func (r bytesRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	*(dest[0].(*[]byte)) = r.data
	return nil
}

func (b *replicaBackend) QueryRow(ctx context.Context, q string, args ...any) Row {
	b.reads++
	if b.err != nil {
		return bytesRow{err: b.err}
	}
	if d, ok := b.rows[args[0].(string)]; ok {
		return bytesRow{data: d}
	}
	return bytesRow{err: sql.ErrNoRows}
}

func TestReplicaReadYourWrites(t *testing.T) {
	tests := []struct {
		name                       string
		replica, primary           map[string][]byte
		replicaErr                 error
		wantData                   string
		wantFound                  bool
		wantReplicaRead, wantPrime int
	}{
		{"replayed", map[string][]byte{"t": []byte("r")}, map[string][]byte{"t": []byte("p")}, nil, "r", true, 1, 0},
		{"not replayed yet", map[string][]byte{}, map[string][]byte{"t": []byte("p")}, nil, "p", true, 1, 1},
		{"replica down", nil, map[string][]byte{"t": []byte("p")}, errors.New("connection refused"), "p", true, 1, 1},
		{"nowhere", map[string][]byte{}, map[string][]byte{}, nil, "", false, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := &replicaBackend{rows: tt.replica, err: tt.replicaErr}
			pri := &replicaBackend{rows: tt.primary}
			s, err := NewWithBackend(pri, Postgres, Options{PlainTokens: true, Replica: rep})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			data, found, err := s.Find(context.Background(), "t")
			if err != nil || found != tt.wantFound || string(data) != tt.wantData {
				t.Fatalf("Find() = %q, %v, %v, want %q, %v, nil", data, found, err, tt.wantData, tt.wantFound)
			}
			if rep.reads != tt.wantReplicaRead || pri.reads != tt.wantPrime {
				t.Fatalf("reads: replica %d, primary %d, want %d, %d", rep.reads, pri.reads, tt.wantReplicaRead, tt.wantPrime)
			}
		})
	}
}
