package gorillastore

import (
	"bytes"
	"encoding/gob"
	"log/slog"
	"strings"
	"testing"
)

// lostType stands for a type the process that stored a session had
// registered and this one has not: its registered name is replaced in the
// bytes by one of the same length that nothing registers.
type lostType struct{ A int }

func init() { gob.RegisterName("gorillastore.lost_type", lostType{}) }

// panicky is a Serializer that breaks its contract: it panics on data it
// did not make.
type panicky struct{ GobSerializer }

func (panicky) Deserialize([]byte) (map[any]any, error) { panic("bad data") }

// TestUndecodableData stores data that does not decode: loading it gives a
// new, empty session and no error, never a panic, and logs a warning.
func TestUndecodableData(t *testing.T) {
	good, err := GobSerializer{}.Serialize(map[any]any{"user": "alice", "x": lostType{1}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ser  Serializer
		data []byte
	}{
		{"garbage", nil, []byte("not gob")},
		{"truncated", nil, good[:len(good)-3]},
		{"unregistered type", nil, bytes.ReplaceAll(good, []byte("gorillastore.lost_type"), []byte("gorillastore.gone_type"))},
		{"JSON garbage", JSONSerializer{}, []byte("{not json")},
		{"Serializer panics", panicky{}, good},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, f := newFake(t)
			st := New(db, hashKey)
			var logs bytes.Buffer
			st.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			cookie := save(t, st, map[any]any{"user": "alice"})
			_, row := f.only(t)
			f.set(tc.data, row.expiry)
			st.Serializer = tc.ser
			s, err := load(st, cookie)
			if err != nil || !s.IsNew || len(s.Values) != 0 || s.ID != "" {
				t.Errorf("New(cookie of undecodable data) = IsNew %t, %d values, ID %q, %v; want a new empty session, nil",
					s.IsNew, len(s.Values), s.ID, err)
			}
			if !strings.Contains(logs.String(), "does not decode") {
				t.Errorf("log = %q, want a warning that the data does not decode", logs.String())
			}
		})
	}
}
