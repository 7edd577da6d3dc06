package fiberstore_test

import (
	"bytes"
	"context"
	"encoding/gob"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/fiberstore"
)

// lostType stands for a type that the process which stored a session had
// registered and this one has not: its registered name is replaced in the
// bytes by one of the same length that nothing registers.
type lostType struct{ A int }

func init() { gob.RegisterName("fiberstore_test.lost_type", lostType{}) }

// crafted returns a row that claims a fiber v3 session of count entries and
// holds n: the definition of the map type, then the map with its count and
// n string entries. Decoded into a nil map it makes gob allocate for count
// entries; fiber, which decodes into an existing map, reads the n entries
// and fails at the end of the data.
func crafted(count uint64, n int) []byte {
	def := []byte{0x7f, 4, 1, 2, 0xff, 0x80, 0, 1, 0x10, 1, 0x10, 0, 0} // type 64 = map[any]any
	val := []byte{0xff, 0x80, 0}                                        // type 64, then the map
	val = appendGobUint(val, count)
	for i := range n {
		for _, s := range []string{fmt.Sprint("k", i), "v"} {
			// An interface value: type name, type id (string = 6), the
			// length of the value, and the value (a singleton string).
			val = append(val, 6)
			val = append(val, "string"...)
			val = append(val, 0x0c, byte(2+len(s)), 0, byte(len(s)))
			val = append(val, s...)
		}
	}
	b := appendGobUint(nil, uint64(len(def)))
	b = append(b, def...)
	b = appendGobUint(b, uint64(len(val)))
	return append(b, val...)
}

func appendGobUint(b []byte, x uint64) []byte {
	if x < 0x80 {
		return append(b, byte(x))
	}
	var be []byte
	for ; x > 0; x >>= 8 {
		be = append([]byte{byte(x)}, be...)
	}
	return append(append(b, byte(-len(be))), be...)
}

// undecodable lists stored sessions of fiber's middleware that it cannot
// decode.
func undecodable(t *testing.T) []struct {
	name string
	data []byte
} {
	whole := encode(t, map[any]any{"user": "alice", "n": 1, "x": lostType{1}})
	return []struct {
		name string
		data []byte
	}{
		{"4 Mi entries claimed, 3 held", crafted(1<<22, 3)},
		{"truncated", whole[:len(whole)-3]},
		{"unregistered type", bytes.ReplaceAll(whole, []byte("fiberstore_test.lost_type"), []byte("fiberstore_test.gone_type"))},
		{"garbage after the type", append(whole[:14:14], "garbage"...)},
		// gob panics on this one (a map key of a type that cannot be one).
		{"gob panics", []byte("\r\x7f\x04\x01\x02\xff0\x00\x01\x10\x01\x10\x00\x00\xffx\xff\x80\x000\x06string\f0\x00'000000000000000000000000000000000000000\x06string\f0\x00\x03000\x05int64\x040\x000\x06string\f0\x00\x0500000\a[]uint8\n0\x00\a0000000\x00000000000000000000000000000000000000000")},
	}
}

// logBuffer is an io.Writer for a slog handler, safe for concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newLoggedStorage is newTableStorage with the Store's Logger writing to
// the returned buffer. It also returns the Store.
func newLoggedStorage(t *testing.T) (*fiberstore.Storage, *sqlsession.Store, *table, *logBuffer) {
	t.Helper()
	b := &table{rows: map[string]tableRow{}}
	logs := &logBuffer{}
	s, err := sqlsession.NewWithBackend(b, sqlsession.SQLite, sqlsession.Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatalf("sqlsession.NewWithBackend() = %v", err)
	}
	st := fiberstore.New(s)
	t.Cleanup(func() { st.Close() })
	return st, s, b, logs
}

// allocated returns the bytes that fn allocated, in this process.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestGetUndecodable plants stored sessions that fiber's middleware cannot
// decode: Get reports each missing, having allocated little, deletes its
// row and logs it by its public id. It is not parallel: it measures the
// process's allocations.
func TestGetUndecodable(t *testing.T) {
	for _, tt := range undecodable(t) {
		t.Run(tt.name, func(t *testing.T) {
			st, s, b, logs := newLoggedStorage(t)
			token := sqlsession.NewToken()
			if err := s.Save(context.Background(), token, tt.data, time.Now().Add(time.Hour)); err != nil {
				t.Fatalf("Save() = %v", err)
			}
			var got []byte
			var err error
			n := allocated(func() { got, err = st.Get(token) })
			if got != nil || err != nil {
				t.Errorf("Get(token of %s) = %q, %v, want nil, nil", tt.name, got, err)
			}
			if n > 16<<20 {
				t.Errorf("Get(token of a %d-byte row) allocated %d MiB, want under 16", len(tt.data), n>>20)
			}
			if _, _, deletes := b.counts(); deletes != 1 || b.live() != 0 {
				t.Errorf("after Get: %d deletes, %d live rows, want the row deleted", deletes, b.live())
			}
			log := logs.String()
			if !strings.Contains(log, "does not decode") || !strings.Contains(log, s.SessionID(token)) {
				t.Errorf("log = %q, want a warning naming session %s", log, s.SessionID(token))
			}
			if strings.Contains(log, token) {
				t.Errorf("log = %q holds the session token", log)
			}
			// The next request of that cookie finds nothing, at no cost.
			if got, err := st.Get(token); got != nil || err != nil {
				t.Errorf("Get(token) again = %q, %v, want nil, nil", got, err)
			}
		})
	}
}

// TestGetKeepsOtherData stores values that are not fiber sessions, as
// fiber's limiter and CSRF middleware and applications do: Get returns
// them as they are and deletes nothing.
func TestGetKeepsOtherData(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data []byte
	}{
		{"text", []byte("limiter state")},
		{"msgp", []byte{0x83, 0xa1, 'c', 1, 0xa1, 'e', 0xce, 0, 0, 0, 9, 0xa1, 'r', 0}},
		{"every byte", func() []byte {
			b := make([]byte, 256)
			for i := range b {
				b[i] = byte(255 - i)
			}
			return b
		}()},
		{"gob of a slice", gobOf(t, []string{"a", "b"})},
		{"gob of map[string]string", gobOf(t, map[string]string{"a": "b"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, _, b, logs := newLoggedStorage(t)
			if err := st.Set(key, tt.data, time.Hour); err != nil {
				t.Fatalf("Set() = %v", err)
			}
			if got, err := st.Get(key); !bytes.Equal(got, tt.data) || err != nil {
				t.Errorf("Get(key) = %q, %v, want %q, nil", got, err, tt.data)
			}
			if _, _, deletes := b.counts(); deletes != 0 {
				t.Errorf("Get deleted %d rows, want 0", deletes)
			}
			if log := logs.String(); log != "" {
				t.Errorf("log = %q, want nothing", log)
			}
		})
	}
}

// TestOpaque turns decoding off: an undecodable session is returned as it
// is, and left in the table.
func TestOpaque(t *testing.T) {
	for _, tt := range undecodable(t) {
		t.Run(tt.name, func(t *testing.T) {
			st, s, b, _ := newLoggedStorage(t)
			st.Opaque = true
			if err := s.Save(context.Background(), key, tt.data, time.Now().Add(time.Hour)); err != nil {
				t.Fatalf("Save() = %v", err)
			}
			var got []byte
			var err error
			n := allocated(func() { got, err = st.Get(key) })
			if !bytes.Equal(got, tt.data) || err != nil {
				t.Errorf("Get(key) = %q, %v, want the stored bytes, nil", got, err)
			}
			if n > 16<<20 {
				t.Errorf("Get(key) of a %d-byte row allocated %d MiB, want under 16", len(tt.data), n>>20)
			}
			if _, _, deletes := b.counts(); deletes != 0 {
				t.Errorf("Get deleted %d rows, want 0", deletes)
			}
		})
	}
}

// TestValueBoundedMemory reads the owner from a row that claims 4 Mi
// entries: an error, at the cost of the row's bytes, as in fiber.
func TestValueBoundedMemory(t *testing.T) {
	data := crafted(1<<22, 3)
	var err error
	n := allocated(func() { _, err = fiberstore.Value("user_id")(data) })
	if err == nil {
		t.Errorf("Value(user_id)(crafted row) = nil error, want one")
	}
	if n > 16<<20 {
		t.Errorf("Value(user_id)(crafted row of %d bytes) allocated %d MiB, want under 16", len(data), n>>20)
	}
}
