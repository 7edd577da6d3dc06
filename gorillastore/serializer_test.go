package gorillastore

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestSerializers(t *testing.T) {
	for _, tc := range []struct {
		name string
		ser  Serializer
		in   map[any]any
		want map[any]any // nil: in
	}{
		{name: "gob empty", ser: GobSerializer{}, in: map[any]any{}},
		{name: "gob basic", ser: GobSerializer{}, in: map[any]any{"s": "x", "i": 1, "f": 1.5, "b": true, "bytes": []byte{0, 1}}},
		{name: "gob non-string keys", ser: GobSerializer{}, in: map[any]any{1: "one", int64(1): "one64", "1": "string", true: "yes"}},
		{name: "gob registered struct", ser: GobSerializer{}, in: map[any]any{"user": account{"alice", []string{"a", "b"}}}},
		{name: "gob flashes", ser: GobSerializer{}, in: map[any]any{"_flash": []any{"one", 2}}},
		{name: "gob nil value", ser: GobSerializer{}, in: map[any]any{"nothing": nil}},
		{name: "json empty", ser: JSONSerializer{}, in: map[any]any{}},
		{name: "json", ser: JSONSerializer{},
			in:   map[any]any{"s": "x", "n": 2, "list": []int{1}, "obj": map[string]string{"k": "v"}, "nil": nil},
			want: map[any]any{"s": "x", "n": 2.0, "list": []any{1.0}, "obj": map[string]any{"k": "v"}, "nil": nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := tc.ser.Serialize(tc.in)
			if err != nil {
				t.Fatalf("Serialize(%v) = %v", tc.in, err)
			}
			got, err := tc.ser.Deserialize(data)
			want := tc.want
			if want == nil {
				want = tc.in
			}
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("Deserialize(Serialize(%v)) = %v, %v; want %v", tc.in, got, err, want)
			}
		})
	}
}

// TestDeterministic encodes equal Values many times: map iteration order
// must not show in the bytes.
func TestDeterministic(t *testing.T) {
	values := map[any]any{}
	for i, k := range strings.Fields("a b c d e f g h i j k l m n o p") {
		values[k] = i
		values[i] = k
	}
	values["user"] = account{"alice", nil}
	for _, ser := range []Serializer{GobSerializer{}, JSONSerializer{}} {
		v := values
		if _, ok := ser.(JSONSerializer); ok {
			v = map[any]any{}
			for k, x := range values {
				if s, ok := k.(string); ok {
					v[s] = x
				}
			}
		}
		first, err := ser.Serialize(v)
		if err != nil {
			t.Fatalf("%T.Serialize() = %v", ser, err)
		}
		for range 50 {
			if again, _ := ser.Serialize(v); !bytes.Equal(again, first) {
				t.Fatalf("%T.Serialize() differs between calls on equal values", ser)
			}
		}
	}
}

func TestSerializerErrors(t *testing.T) {
	type unregistered struct{ X int }
	for _, tc := range []struct {
		name string
		ser  Serializer
		in   map[any]any
		is   error
	}{
		{"gob unregistered type", GobSerializer{}, map[any]any{"x": unregistered{1}}, nil},
		{"gob func", GobSerializer{}, map[any]any{"f": func() {}}, nil},
		{"json int key", JSONSerializer{}, map[any]any{1: "one"}, ErrNonStringKey},
		{"json channel", JSONSerializer{}, map[any]any{"c": make(chan int)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.ser.Serialize(tc.in)
			if err == nil || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Errorf("Serialize(%v) = %v, want an error (%v)", tc.in, err, tc.is)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "gorillastore: ") {
				t.Errorf("Serialize() error %q lacks the package prefix", err)
			}
		})
	}
	for _, tc := range []struct {
		name string
		ser  Serializer
		data string
	}{
		{"gob garbage", GobSerializer{}, "\x07garbage"},
		{"gob json", GobSerializer{}, `{"a":1}`},
		{"json garbage", JSONSerializer{}, "{"},
		{"json array", JSONSerializer{}, "[1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := tc.ser.Deserialize([]byte(tc.data)); err == nil {
				t.Errorf("Deserialize(%q) = %v, nil; want an error", tc.data, got)
			}
		})
	}
}

// TestGobUncomparableKey decodes a stream whose key is a slice, as a
// corrupt or hostile row might hold: an error, not a panic.
func TestGobUncomparableKey(t *testing.T) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode([]gobPair{{K: []any{1}, V: "k"}}); err != nil {
		t.Fatal(err)
	}
	if got, err := (GobSerializer{}).Deserialize(buf.Bytes()); err == nil {
		t.Errorf("Deserialize(slice key) = %v, nil; want an error", got)
	}
}

func TestValue(t *testing.T) {
	gobOf := func(m map[any]any) []byte {
		b, err := GobSerializer{}.Serialize(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	jsonOf := func(m map[any]any) []byte {
		b, err := JSONSerializer{}.Serialize(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name    string
		data    []byte
		want    string
		wantErr bool
	}{
		{"gob string", gobOf(map[any]any{"user_id": "u-42", "n": 1}), "u-42", false},
		{"gob int", gobOf(map[any]any{"user_id": 42}), "42", false},
		{"gob uint64", gobOf(map[any]any{"user_id": uint64(1 << 63)}), "9223372036854775808", false},
		{"gob missing", gobOf(map[any]any{"other": "x"}), "", false},
		{"gob empty", []byte{}, "", false},
		{"gob struct", gobOf(map[any]any{"user_id": account{}}), "", true},
		{"json string", jsonOf(map[any]any{"user_id": "u-42"}), "u-42", false},
		{"json number", jsonOf(map[any]any{"user_id": 42}), "42", false},
		{"json fraction", jsonOf(map[any]any{"user_id": 4.5}), "", true},
		{"json null", jsonOf(map[any]any{"user_id": nil}), "", false},
		{"garbage", []byte("\x00\x01"), "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Value("user_id")(tc.data)
			if got != tc.want || (err != nil) != tc.wantErr {
				t.Errorf("Value(%q)(%q) = %q, %v; want %q, error %v", "user_id", tc.data, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// FuzzDeserialize feeds corrupt rows to both serializers: they never panic,
// what decodes encodes and decodes again to the same values, and encoding
// those values again gives the same bytes (Save relies on that to skip
// writes; no type registered here holds a map, whose gob order is random).
func FuzzDeserialize(f *testing.F) {
	for _, m := range []map[any]any{
		{},
		{"user": "alice", "n": 3},
		{1: true, "_flash": []any{"hi"}},
		{"user": account{"bob", []string{"x"}}},
	} {
		b, err := GobSerializer{}.Serialize(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"user":"alice","n":3,"deep":{"a":[1,2,{"b":null}]}}`))
	f.Add([]byte("{"))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, ser := range []Serializer{GobSerializer{}, JSONSerializer{}} {
			values, err := ser.Deserialize(data)
			if err != nil {
				continue
			}
			again, err := ser.Serialize(values)
			if err != nil {
				// Gob decodes some streams into values it cannot encode
				// (a nil inside an interface slice, say); that is a miss.
				continue
			}
			back, err := ser.Deserialize(again)
			if err != nil {
				t.Fatalf("%T: Deserialize(Serialize(%v)) = %v", ser, values, err)
			}
			// %#v prints maps sorted, and NaN equal to NaN.
			if got, want := fmt.Sprintf("%#v", back), fmt.Sprintf("%#v", values); got != want {
				t.Fatalf("%T: round trip of %s gave %s", ser, want, got)
			}
			if third, err := ser.Serialize(back); err != nil || !bytes.Equal(third, again) {
				t.Fatalf("%T: Serialize of equal values gave %q, then %q (%v)", ser, again, third, err)
			}
		}
		Value("user")(data) // must not panic
	})
}
