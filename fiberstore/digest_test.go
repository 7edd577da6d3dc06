package fiberstore

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"runtime"
	"testing"
	"time"
)

type profile struct {
	Name  string
	Tags  map[string]int
	Next  *profile
	Since time.Time
	note  string // unexported: gob leaves it out
}

func init() { gob.Register(profile{}) }

// gobOf encodes v as fiber's session middleware does: gob of a map.
func gobOf(t testing.TB, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(v); err != nil {
		t.Fatalf("gob.Encode(%v) = %v", v, err)
	}
	return b.Bytes()
}

// session returns fiber v3 session data of n keys, with a nested map.
func session(n int) map[any]any {
	m := map[any]any{
		"user":    profile{Name: "alice", Tags: map[string]int{"a": 1, "b": 2, "c": 3, "d": 4}, Since: time.Unix(1e9, 5).UTC()},
		"n":       7,
		"n64":     int64(7),
		"bytes":   []byte("xyz"),
		"nothing": nil,
	}
	for i := range n {
		m[fmt.Sprint("k", i)] = i
	}
	return m
}

// TestDigestIgnoresMapOrder encodes one session many times: gob writes its
// map in different orders, and the digest stays the same.
func TestDigestIgnoresMapOrder(t *testing.T) {
	forms := map[string]bool{}
	want := mustDigest(t, gobOf(t, session(8)))
	for range 50 {
		data := gobOf(t, session(8))
		forms[string(data)] = true
		if got := mustDigest(t, data); got != want {
			t.Fatalf("digest(one session, another encoding) = %x, want %x", got, want)
		}
	}
	if len(forms) < 2 {
		t.Errorf("50 gob encodings of one map gave %d byte forms; the test needs gob's random order", len(forms))
	}
	t.Logf("50 gob encodings of one 13-key session: %d different byte forms, one digest", len(forms))
}

func TestDigestSeesChanges(t *testing.T) {
	base := mustDigest(t, gobOf(t, session(2)))
	for _, tc := range []struct {
		name   string
		change func(m map[any]any)
	}{
		{"value", func(m map[any]any) { m["n"] = 8 }},
		{"type", func(m map[any]any) { m["n"] = int32(7) }},
		{"key added", func(m map[any]any) { m["new"] = "" }},
		{"key removed", func(m map[any]any) { delete(m, "nothing") }},
		{"nil to empty", func(m map[any]any) { m["nothing"] = "" }},
		{"nested map", func(m map[any]any) {
			p := m["user"].(profile)
			p.Tags = map[string]int{"a": 1, "b": 2, "c": 3, "d": 5}
			m["user"] = p
		}},
		{"time", func(m map[any]any) {
			p := m["user"].(profile)
			p.Since = p.Since.Add(time.Nanosecond)
			m["user"] = p
		}},
		{"pointer", func(m map[any]any) {
			p := m["user"].(profile)
			p.Next = &profile{Name: "bob"}
			m["user"] = p
		}},
		{"bytes", func(m map[any]any) { m["bytes"] = []byte("xyZ") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := session(2)
			tc.change(m)
			if mustDigest(t, gobOf(t, m)) == base {
				t.Errorf("digest(session with %s changed) = digest(session), want a difference", tc.name)
			}
		})
	}

	// Unexported fields never reach the table: no difference to see.
	m := session(2)
	p := m["user"].(profile)
	p.note = "private"
	m["user"] = p
	if mustDigest(t, gobOf(t, m)) != base {
		t.Error("digest differs by an unexported field, which gob does not store")
	}
}

// trap encodes until gob decodes it; then its GobEncode panics, as a buggy
// type of an application's might on data read back from a table.
type trap struct{ armed bool }

func (t trap) GobEncode() ([]byte, error) {
	if t.armed {
		panic("trap")
	}
	return []byte{1}, nil
}

func (t *trap) GobDecode([]byte) error {
	t.armed = true
	return nil
}

func init() { gob.Register(trap{}) }

// TestDigestEncoderPanics digests a session holding a value whose own
// encoding method panics: the digest falls back to the bytes.
func TestDigestEncoderPanics(t *testing.T) {
	data := gobOf(t, map[any]any{"t": trap{}})
	d, err := digest(data)
	if err != nil || d != byteDigest(data) {
		t.Errorf("digest(session with a panicking encoder) = %x, %v, want the digest of its bytes, nil", d, err)
	}
}

func TestDigestOtherData(t *testing.T) {
	v2 := map[string]any{"user": "alice", "n": 1, "m": 2, "o": 3}
	if a, b := mustDigest(t, gobOf(t, v2)), mustDigest(t, gobOf(t, v2)); a != b {
		t.Errorf("digest of fiber v2 data differs between encodings")
	}
	// Not a session: the bytes themselves.
	for _, data := range [][]byte{nil, {}, []byte("limiter state"), {0xff, 0x00}} {
		if mustDigest(t, data) != mustDigest(t, bytes.Clone(data)) {
			t.Errorf("digest(%q) is not stable", data)
		}
	}
	if mustDigest(t, []byte("a")) == mustDigest(t, []byte("b")) {
		t.Error("digest(a) = digest(b)")
	}
}

// TestRememberBounded fills the memory of a Storage past its bound.
func TestRememberBounded(t *testing.T) {
	s := &Storage{}
	for i := range maxRemembered + 100 {
		s.remember(fmt.Sprint("key-", i), seen{})
	}
	if n := len(s.seen); n != maxRemembered {
		t.Errorf("after %d Gets the Storage remembers %d keys, want %d", maxRemembered+100, n, maxRemembered)
	}
	s.remember("key-0", seen{}) // may be there or not: still bounded
	if _, ok := s.take("key-0"); !ok {
		t.Error("take(key just remembered) = false")
	}
	if _, ok := s.take("key-0"); ok {
		t.Error("take(key) twice = true, want the entry consumed")
	}
}

// FuzzDigest feeds arbitrary stored values to digest: it never panics, is
// a function of the data, and fails only on data that sessionFormat takes
// for a session of fiber's middleware.
func FuzzDigest(f *testing.F) {
	f.Add(gobOf(f, session(3)))
	f.Add(gobOf(f, map[string]any{"a": 1}))
	f.Add(crafted(1<<22, 3))
	f.Add(gobOf(f, session(3))[:40])
	f.Add([]byte("not gob"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		d1, err1 := digest(data)
		d2, err2 := digest(bytes.Clone(data))
		if d1 != d2 || (err1 == nil) != (err2 == nil) {
			t.Fatalf("digest(%q) = %x, %v, then %x, %v", data, d1, err1, d2, err2)
		}
		if err1 != nil && sessionFormat(data) == notSession {
			t.Fatalf("digest(%q) = %v for data that is not a session", data, err1)
		}
	})
}

// mustDigest returns digest(data), failing t on an error.
func mustDigest(t testing.TB, data []byte) [32]byte {
	t.Helper()
	d, err := digest(data)
	if err != nil {
		t.Fatalf("digest(%q) = %v", data, err)
	}
	return d
}

// crafted returns a row that claims a fiber v3 session of count entries and
// holds n (the same as in undecodable_test.go, of the external test
// package).
func crafted(count uint64, n int) []byte {
	def := []byte{0x7f, 4, 1, 2, 0xff, 0x80, 0, 1, 0x10, 1, 0x10, 0, 0}
	val := appendGobUint([]byte{0xff, 0x80, 0}, count)
	for i := range n {
		for _, s := range []string{fmt.Sprint("k", i), "v"} {
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

// TestSessionFormat tells fiber's session data from other values.
func TestSessionFormat(t *testing.T) {
	type named map[any]any
	gob.Register(named{})
	var id [8]byte
	tests := []struct {
		name string
		data []byte
		want format
	}{
		{"fiber v3 session", gobOf(t, session(3)), formatV3},
		{"empty v3 session", gobOf(t, map[any]any{}), formatV3},
		{"fiber v2 session", gobOf(t, map[string]any{"a": 1}), formatV2},
		{"crafted", crafted(1<<22, 3), formatV3},
		{"truncated after the type", gobOf(t, session(3))[:14], formatV3},
		{"named map type", gobOf(t, named{"a": 1}), formatV3},
		{"truncated type", gobOf(t, session(3))[:8], notSession},
		{"map[string]string", gobOf(t, map[string]string{"a": "b"}), notSession},
		{"map[int]any", gobOf(t, map[int]any{1: "b"}), notSession},
		{"slice", gobOf(t, []string{"a"}), notSession},
		{"struct", gobOf(t, profile{Name: "a"}), notSession},
		{"string", gobOf(t, "map[interface {}]interface {}"), notSession},
		{"msgp map", []byte{0x82, 0xa1, 'a', 1, 0xa1, 'b', 2}, notSession},
		{"text", []byte("limiter state"), notSession},
		{"zeros", id[:], notSession},
		{"nil", nil, notSession},
		{"one byte", []byte{0x7f}, notSession},
	}
	for _, tt := range tests {
		if got := sessionFormat(tt.data); got != tt.want {
			t.Errorf("sessionFormat(%s: % x) = %d, want %d", tt.name, tt.data, got, tt.want)
		}
	}
	data := gobOf(t, session(3))
	if n := testing.AllocsPerRun(100, func() { sessionFormat(data) }); n != 0 {
		t.Errorf("sessionFormat allocates %v times, want 0", n)
	}
}

// TestDigestBoundedMemory digests a 100-byte row that claims a session of
// 4 Mi entries: it fails, having allocated about what the row holds, not
// the hundreds of MiB a map of that size takes.
func TestDigestBoundedMemory(t *testing.T) {
	// Holding what it claims, the row is a session like any other.
	if d, err := digest(crafted(3, 3)); err != nil || d != mustDigest(t, gobOf(t, map[any]any{"k0": "v", "k1": "v", "k2": "v"})) {
		t.Fatalf("digest(crafted(3, 3)) = %x, %v, want the digest of its 3 entries", d, err)
	}
	data := crafted(1<<22, 3)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := digest(data)
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatalf("digest(crafted row) = nil error, want one: the row does not decode")
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 16<<20 {
		t.Errorf("digest(crafted row of %d bytes) allocated %d MiB, want under 16", len(data), n>>20)
	}
}
