package sqlsession

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"testing/synctest"
	"time"
)

func TestJanitorRunsOnItsIntervalAndStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &fakeBackend{}
		s, err := NewWithBackend(b, Postgres, Options{CleanupInterval: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(53 * time.Second) // below the jitter's floor of 54s
		synctest.Wait()
		if n := b.deletes(); n != 0 {
			t.Fatalf("sweeps after 53s = %d, want 0", n)
		}
		time.Sleep(14 * time.Second) // past the ceiling of 66s
		synctest.Wait()
		if n := b.deletes(); n != 1 {
			t.Fatalf("sweeps after 67s = %d, want 1", n)
		}
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if n := b.deletes(); n < 9 || n > 12 {
			t.Fatalf("sweeps after 10m67s = %d, want 9 to 12", n)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		before := b.deletes()
		time.Sleep(time.Hour)
		synctest.Wait()
		if n := b.deletes(); n != before {
			t.Fatalf("sweeps after Close = %d, want none", n-before)
		}
		// synctest.Test fails if the janitor goroutine outlived Close.
	})
}

func TestCloseCancelsSweepInProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &fakeBackend{block: true, entered: make(chan struct{}, 1)}
		s, err := NewWithBackend(b, MySQL, Options{CleanupInterval: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		<-b.entered // a sweep is running and blocked in the database
		done := make(chan struct{})
		go func() { s.Close(); close(done) }()
		synctest.Wait()
		select {
		case <-done:
		default:
			t.Fatal("Close() did not return while a sweep was blocked")
		}
	})
}

func TestNoGoroutineUnlessConfigured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		before := runtime.NumGoroutine()
		s, err := NewWithBackend(&fakeBackend{}, SQLite, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if after := runtime.NumGoroutine(); after != before {
			t.Fatalf("goroutines after New = %d, want %d", after, before)
		}
		s.Close()
	})
}

func TestCleanupEvery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &fakeBackend{}
		s, err := NewWithBackend(b, SQLite, Options{CleanupEvery: 5})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ctx := context.Background()
		for i := 1; i <= 12; i++ {
			s.Find(ctx, "tok")
			synctest.Wait()
			if got, want := b.deletes(), i/5; got != want {
				t.Fatalf("sweeps after %d operations = %d, want %d", i, got, want)
			}
		}
	})
}

func TestDeleteExpiredBatches(t *testing.T) {
	tests := []struct {
		name     string
		affected []int64
		want     int64
		batches  int
	}{
		{"empty", nil, 0, 1},
		{"one partial batch", []int64{3}, 3, 1},
		{"exactly one batch", []int64{10, 0}, 10, 2},
		{"backlog", []int64{10, 10, 10, 4}, 34, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &fakeBackend{affected: tt.affected}
			s, err := NewWithBackend(b, Postgres, Options{CleanupBatchSize: 10})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			n, err := s.DeleteExpired(context.Background())
			if n != tt.want || err != nil {
				t.Fatalf("DeleteExpired() = %d, %v, want %d, nil", n, err, tt.want)
			}
			if got := b.deletes(); got != tt.batches {
				t.Fatalf("DeleteExpired() ran %d statements, want %d", got, tt.batches)
			}
		})
	}
}

func TestDeleteExpiredStopsWithContext(t *testing.T) {
	b := &fakeBackend{affected: []int64{10, 10, 10, 10}}
	s, _ := NewWithBackend(b, Postgres, Options{CleanupBatchSize: 10})
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.DeleteExpired(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("DeleteExpired(cancelled) = %v, want context.Canceled", err)
	}
}

func TestJitter(t *testing.T) {
	for i := 0; i < 1000; i++ {
		if d := jitter(time.Minute); d < 54*time.Second || d > 66*time.Second {
			t.Fatalf("jitter(1m) = %v, want 54s to 66s", d)
		}
	}
	if d := jitter(1); d != 1 {
		t.Fatalf("jitter(1ns) = %v, want 1ns", d)
	}
}

// slowBackend takes d per statement, in synctest's fake time.
type slowBackend struct {
	fakeBackend
	d time.Duration
}

func (b *slowBackend) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	time.Sleep(b.d)
	return b.fakeBackend.Exec(ctx, q, args...)
}

func TestCleanupPause(t *testing.T) {
	tests := []struct {
		name  string
		pause time.Duration
		want  time.Duration // 4 batches of 10ms each
	}{
		{"as long as the batch", 0, 4*10*time.Millisecond + 3*10*time.Millisecond},
		{"fixed", 50 * time.Millisecond, 4*10*time.Millisecond + 3*50*time.Millisecond},
		{"none", -1, 4 * 10 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := &slowBackend{fakeBackend{affected: []int64{10, 10, 10, 3}}, 10 * time.Millisecond}
				s, err := NewWithBackend(b, Postgres, Options{CleanupBatchSize: 10, CleanupPause: tt.pause})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				start := time.Now()
				if n, err := s.DeleteExpired(context.Background()); n != 33 || err != nil {
					t.Fatalf("DeleteExpired() = %d, %v, want 33, nil", n, err)
				}
				if got := time.Since(start); got != tt.want {
					t.Fatalf("DeleteExpired() took %v, want %v", got, tt.want)
				}
			})
		})
	}
}
