package fiberstore

import (
	"bytes"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
)

// digest returns a SHA-256 digest of a stored value that is the same for
// values that hold the same session, though fiber's encoding of them differs.
//
// fiber's session middleware writes its map with encoding/gob, which walks
// a map in Go's random order: one unchanged session of two keys or more
// encodes to different bytes from one request to the next. digest decodes
// such data (as fiber v3 or v2 wrote it) and hashes a canonical form of the
// decoded map, with map entries in sorted order at every depth. Any other
// value, or one that does not decode here (a type that is not registered,
// data of fiber's limiter or CSRF middleware), is hashed as the bytes it is;
// the two kinds never share a digest.
func digest(data []byte) [sha256.Size]byte {
	if m, ok := decodeSession(data); ok {
		if b, err := appendCanonical([]byte{1}, m, 0); err == nil {
			return sha256.Sum256(b)
		}
	}
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(data)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// decodeSession decodes data as fiber v3's (map[any]any) or v2's
// (map[string]any) session data.
func decodeSession(data []byte) (reflect.Value, bool) {
	if len(data) == 0 {
		return reflect.Value{}, false
	}
	var v3 map[any]any
	if gobDecode(data, &v3) == nil {
		return reflect.ValueOf(v3), true
	}
	var v2 map[string]any
	if gobDecode(data, &v2) == nil {
		return reflect.ValueOf(v2), true
	}
	return reflect.Value{}, false
}

// gobDecode decodes data into v. On some malformed input gob panics rather
// than failing (a map key whose type cannot be a key, found by FuzzDigest):
// here that is an error like any other, since the data comes from a table.
func gobDecode(data []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("fiberstore: malformed gob data: %v", r)
		}
	}()
	return gob.NewDecoder(bytes.NewReader(data)).Decode(v)
}

// maxDepth bounds how deep appendCanonical goes into nested values.
const maxDepth = 64

var errNotCanonical = errors.New("fiberstore: no canonical form")

var (
	gobEncoder      = reflect.TypeFor[gob.GobEncoder]()
	binaryMarshaler = reflect.TypeFor[encoding.BinaryMarshaler]()
	textMarshaler   = reflect.TypeFor[encoding.TextMarshaler]()
)

// appendCanonical appends an encoding of v to b that is equal for equal
// values of gob-decoded data: each value is tagged with its kind, dynamic
// types with their names, and map entries sorted by their encoded keys.
// Types that gob lets encode themselves (GobEncoder, BinaryMarshaler,
// TextMarshaler, in gob's order) are appended as they encode. Channels and
// functions, which gob cannot hold, are an error.
func appendCanonical(b []byte, v reflect.Value, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, errNotCanonical
	}
	depth++
	if !v.IsValid() {
		return append(b, 'z'), nil
	}
	switch v.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			return append(b, 'z'), nil
		}
		e := v.Elem()
		b = appendString(append(b, 'I'), typeName(e.Type()))
		return appendCanonical(b, e, depth)
	case reflect.Pointer:
		if v.IsNil() {
			return append(b, 'z'), nil
		}
		return appendCanonical(append(b, 'p'), v.Elem(), depth)
	}
	if enc, ok, err := marshal(v); ok {
		if err != nil {
			return nil, err
		}
		return appendString(append(b, 'm'), string(enc)), nil
	}
	switch v.Kind() {
	case reflect.Bool:
		if v.Bool() {
			return append(b, 't'), nil
		}
		return append(b, 'f'), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return binary.AppendVarint(append(b, 'i'), v.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return binary.AppendUvarint(append(b, 'u'), v.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return binary.BigEndian.AppendUint64(append(b, 'd'), math.Float64bits(v.Float())), nil
	case reflect.Complex64, reflect.Complex128:
		c := v.Complex()
		b = binary.BigEndian.AppendUint64(append(b, 'c'), math.Float64bits(real(c)))
		return binary.BigEndian.AppendUint64(b, math.Float64bits(imag(c))), nil
	case reflect.String:
		return appendString(append(b, 's'), v.String()), nil
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return appendString(append(b, 'b'), string(v.Bytes())), nil
		}
		fallthrough
	case reflect.Array:
		b = binary.AppendUvarint(append(b, 'l'), uint64(v.Len()))
		for i := range v.Len() {
			var err error
			if b, err = appendCanonical(b, v.Index(i), depth); err != nil {
				return nil, err
			}
		}
		return b, nil
	case reflect.Map:
		type entry struct{ k, v []byte }
		entries := make([]entry, 0, v.Len())
		for it := v.MapRange(); it.Next(); {
			k, err := appendCanonical(nil, it.Key(), depth)
			if err != nil {
				return nil, err
			}
			e, err := appendCanonical(nil, it.Value(), depth)
			if err != nil {
				return nil, err
			}
			entries = append(entries, entry{k, e})
		}
		slices.SortFunc(entries, func(a, b entry) int { return bytes.Compare(a.k, b.k) })
		b = binary.AppendUvarint(append(b, 'M'), uint64(len(entries)))
		for _, e := range entries {
			b = appendString(b, string(e.k))
			b = appendString(b, string(e.v))
		}
		return b, nil
	case reflect.Struct:
		t := v.Type()
		b = append(b, 'S')
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue // gob skips them: zero in decoded data
			}
			b = appendString(b, f.Name)
			var err error
			if b, err = appendCanonical(b, v.Field(i), depth); err != nil {
				return nil, err
			}
		}
		return append(b, 'E'), nil
	}
	return nil, errNotCanonical
}

// marshal encodes v with the method gob would use for its type, if any.
func marshal(v reflect.Value) ([]byte, bool, error) {
	if !v.CanInterface() {
		return nil, false, nil
	}
	t := v.Type()
	for _, m := range []reflect.Type{gobEncoder, binaryMarshaler, textMarshaler} {
		var x any
		switch {
		case t.Implements(m):
			x = v.Interface()
		case reflect.PointerTo(t).Implements(m):
			p := reflect.New(t)
			p.Elem().Set(v)
			x = p.Interface()
		default:
			continue
		}
		var b []byte
		var err error
		switch m {
		case gobEncoder:
			b, err = x.(gob.GobEncoder).GobEncode()
		case binaryMarshaler:
			b, err = x.(encoding.BinaryMarshaler).MarshalBinary()
		default:
			b, err = x.(encoding.TextMarshaler).MarshalText()
		}
		return b, true, err
	}
	return nil, false, nil
}

// typeName names a dynamic type: its package path and its name.
func typeName(t reflect.Type) string {
	if t.Name() != "" {
		return t.PkgPath() + "." + t.Name()
	}
	return t.String()
}

// appendString appends s with its length.
func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}
