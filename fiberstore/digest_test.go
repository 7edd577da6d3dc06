package fiberstore

import (
	"bytes"
	"encoding/gob"
	"fmt"
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
	want := digest(gobOf(t, session(8)))
	for range 50 {
		data := gobOf(t, session(8))
		forms[string(data)] = true
		if got := digest(data); got != want {
			t.Fatalf("digest(one session, another encoding) = %x, want %x", got, want)
		}
	}
	if len(forms) < 2 {
		t.Errorf("50 gob encodings of one map gave %d byte forms; the test needs gob's random order", len(forms))
	}
	t.Logf("50 gob encodings of one 13-key session: %d different byte forms, one digest", len(forms))
}

func TestDigestSeesChanges(t *testing.T) {
	base := digest(gobOf(t, session(2)))
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
			if digest(gobOf(t, m)) == base {
				t.Errorf("digest(session with %s changed) = digest(session), want a difference", tc.name)
			}
		})
	}

	// Unexported fields never reach the table: no difference to see.
	m := session(2)
	p := m["user"].(profile)
	p.note = "private"
	m["user"] = p
	if digest(gobOf(t, m)) != base {
		t.Error("digest differs by an unexported field, which gob does not store")
	}
}

func TestDigestOtherData(t *testing.T) {
	v2 := map[string]any{"user": "alice", "n": 1, "m": 2, "o": 3}
	if a, b := digest(gobOf(t, v2)), digest(gobOf(t, v2)); a != b {
		t.Errorf("digest of fiber v2 data differs between encodings")
	}
	// Not a session: the bytes themselves.
	for _, data := range [][]byte{nil, {}, []byte("limiter state"), {0xff, 0x00}} {
		if digest(data) != digest(bytes.Clone(data)) {
			t.Errorf("digest(%q) is not stable", data)
		}
	}
	if digest([]byte("a")) == digest([]byte("b")) {
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

// FuzzDigest feeds arbitrary stored values to digest: it never panics, and
// is a function of the data.
func FuzzDigest(f *testing.F) {
	f.Add(gobOf(f, session(3)))
	f.Add(gobOf(f, map[string]any{"a": 1}))
	f.Add([]byte("not gob"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		if digest(data) != digest(bytes.Clone(data)) {
			t.Fatalf("digest(%q) differs between calls", data)
		}
	})
}
