package gorillastore

import (
	"bytes"
	"cmp"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
)

// A Serializer turns a session's Values into the bytes kept in the data
// column, and back. Implementations must be safe for concurrent use.
// [GobSerializer] is the default; [JSONSerializer] is the other built-in.
type Serializer interface {
	// Serialize encodes values. It must not change them.
	Serialize(values map[any]any) ([]byte, error)
	// Deserialize decodes what Serialize made. It must return an error, and
	// never panic, on data it did not make.
	Deserialize(data []byte) (map[any]any, error)
}

// GobSerializer encodes session values with encoding/gob, as gorilla's own
// stores do: keys and values may be of any type gob can encode. A concrete
// type stored in Values (a struct, say) must be registered with
// [gob.Register] in every program that reads or writes it.
//
// The encoding is deterministic where gob allows: the key/value pairs are
// sorted by key (string keys first, in byte order; other keys by type name,
// then by their fmt.Sprint form), so equal Values give equal bytes. Maps
// nested inside values are written in gob's own, random, order. Empty Values
// encode to no bytes at all.
//
// The zero value is ready to use and safe for concurrent use.
type GobSerializer struct{}

// gobPair is one entry of Values on the wire: the gob stream holds a []gobPair.
type gobPair struct {
	K, V any
}

// Serialize encodes values as a gob stream of key/value pairs sorted by key.
func (GobSerializer) Serialize(values map[any]any) ([]byte, error) {
	if len(values) == 0 {
		return []byte{}, nil
	}
	pairs := make([]gobPair, 0, len(values))
	for k, v := range values {
		pairs = append(pairs, gobPair{k, v})
	}
	slices.SortStableFunc(pairs, func(a, b gobPair) int { return compareKeys(a.K, b.K) })
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(pairs); err != nil {
		return nil, fmt.Errorf("gorillastore: gob encode session values: %w", err)
	}
	return buf.Bytes(), nil
}

// Deserialize decodes a stream written by [GobSerializer.Serialize].
func (GobSerializer) Deserialize(data []byte) (map[any]any, error) {
	values := make(map[any]any)
	if len(data) == 0 {
		return values, nil
	}
	var pairs []gobPair
	if err := gobDecode(data, &pairs); err != nil {
		return nil, fmt.Errorf("gorillastore: gob decode session values: %w", err)
	}
	for _, p := range pairs {
		// A key that cannot be a map key (a slice, say) would panic below.
		if p.K != nil && !reflect.ValueOf(p.K).Comparable() {
			return nil, fmt.Errorf("gorillastore: gob decode session values: key of type %T is not comparable", p.K)
		}
		values[p.K] = p.V
	}
	return values, nil
}

// compareKeys orders Values keys for a deterministic encoding.
func compareKeys(a, b any) int {
	as, aok := a.(string)
	bs, bok := b.(string)
	switch {
	case aok && bok:
		return cmp.Compare(as, bs)
	case aok:
		return -1
	case bok:
		return 1
	}
	if c := cmp.Compare(fmt.Sprintf("%T", a), fmt.Sprintf("%T", b)); c != 0 {
		return c
	}
	return cmp.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

// JSONSerializer encodes session values as a JSON object, for tables that
// other programs read. Every key must be a string ([ErrNonStringKey]
// otherwise). Values come back as JSON decodes them into an any: numbers as
// float64, objects as map[string]any, arrays as []any.
//
// The encoding is deterministic: encoding/json sorts object keys, nested maps
// included.
//
// The zero value is ready to use and safe for concurrent use.
type JSONSerializer struct{}

// Serialize encodes values as a JSON object.
func (JSONSerializer) Serialize(values map[any]any) ([]byte, error) {
	m := make(map[string]any, len(values))
	for k, v := range values {
		s, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("%w: key of type %T", ErrNonStringKey, k)
		}
		m[s] = v
	}
	data, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("gorillastore: JSON encode session values: %w", err)
	}
	return data, nil
}

// Deserialize decodes a JSON object written by [JSONSerializer.Serialize].
func (JSONSerializer) Deserialize(data []byte) (map[any]any, error) {
	values := make(map[any]any)
	if len(data) == 0 {
		return values, nil
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("gorillastore: JSON decode session values: %w", err)
	}
	for k, v := range m {
		values[k] = v
	}
	return values, nil
}

// Value returns a function that reads the string stored under key in session
// data as a [Store] saved it, with [GobSerializer] or [JSONSerializer] (a
// JSON object is recognised as such, anything else is read as gob). It is
// meant for code that looks into the table without a request: the owner
// hook of sqlsession's Options (Owner: gorillastore.Value("user_id")), or a
// scan of the sessions:
//
//	userOf := gorillastore.Value("user_id")
//	for e, err := range sqlStore.All(ctx) {
//		...
//		if id, err := userOf(e.Data); err == nil && id == "42" { ... }
//	}
//
// A missing key or a nil value gives "" and a nil error. A string is
// returned as is, and integers (and integral JSON numbers) in decimal. Data
// that does not decode, or a value of another type, gives an error. Gob data
// decodes only where every type it holds is registered with [gob.Register].
func Value(key string) func(data []byte) (string, error) {
	return func(data []byte) (string, error) {
		var s Serializer = GobSerializer{}
		if len(data) > 0 && data[0] == '{' && json.Valid(data) {
			s = JSONSerializer{}
		}
		values, err := s.Deserialize(data)
		if err != nil {
			return "", err
		}
		switch v := values[key].(type) {
		case nil:
			return "", nil
		case string:
			return v, nil
		case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, uintptr:
			return fmt.Sprint(v), nil
		case float64:
			if v == math.Trunc(v) && !math.IsInf(v, 0) {
				return strconv.FormatFloat(v, 'f', -1, 64), nil
			}
			return "", fmt.Errorf("gorillastore: value of %q is %v, not an integer", key, v)
		default:
			return "", fmt.Errorf("gorillastore: value of %q is a %T, not a string", key, v)
		}
	}
}

// gobDecode decodes data into v. On some malformed input gob panics rather
// than failing (a nested map key whose type cannot be a key): since the data
// comes from a table, that is an error like any other.
func gobDecode(data []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed gob data: %v", r)
		}
	}()
	return gob.NewDecoder(bytes.NewReader(data)).Decode(v)
}
