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
// encodes to different bytes from one request to the next. For data of
// fiber's session middleware (see sessionFormat), digest decodes it as fiber
// does (see decodeSession) and hashes a canonical form of the decoded map,
// with map entries in sorted order at every depth; such data that does not
// decode is an error, as it is for fiber. Any other value (data of fiber's
// limiter or CSRF middleware, say) is hashed as the bytes it is, without
// decoding; the two kinds never share a digest.
func digest(data []byte) ([sha256.Size]byte, error) {
	return digestOf(data, sessionFormat(data))
}

// digestOf is digest of data whose format is f.
func digestOf(data []byte, f format) ([sha256.Size]byte, error) {
	if f == notSession {
		return byteDigest(data), nil
	}
	m, err := decodeSession(data, f)
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	b, err := canonical(m)
	if err != nil {
		// Too deep, or a value whose own encoder fails: compare the bytes.
		return byteDigest(data), nil
	}
	return sha256.Sum256(b), nil
}

// canonical returns the canonical form of a decoded session, turning a
// panic of a value's own encoding method (application code, run on data
// from a table) into an error.
func canonical(m reflect.Value) (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("fiberstore: canonical form: %v", r)
		}
	}()
	return appendCanonical([]byte{1}, m, 0)
}

// byteDigest is the digest of data taken as bytes.
func byteDigest(data []byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(data)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// format is how a stored value is encoded.
type format int

const (
	notSession format = iota // anything but a session of fiber's middleware
	formatV3                 // gob of a map[any]any: fiber v3's session middleware
	formatV2                 // gob of a map[string]any: fiber v2's
)

// sessionFormat tells data written by fiber's session middleware from any
// other value, without decoding it and without allocating.
//
// The middleware encodes a session's map with a new gob.Encoder each time,
// so its data always opens with one message: the definition of the map's
// type, an unnamed map with interface values and interface keys (fiber v3)
// or string keys (fiber v2). sessionFormat reads that message and nothing
// else. Other values (limiter and CSRF state encoded with msgp, arbitrary
// bytes an application stores) do not open with it.
func sessionFormat(data []byte) format {
	n, rest, ok := gobUint(data)
	if !ok || n > uint64(len(rest)) {
		return notSession
	}
	msg := rest[:n]
	// A type definition: its negated id, then a wireType whose field MapT
	// (the fourth) holds a mapType, whose first field is the CommonType.
	id, msg, ok := gobInt(msg)
	if !ok || id >= 0 || len(msg) < 3 || msg[0] != 4 || msg[1] != 1 {
		return notSession
	}
	msg = msg[2:]
	if msg[0] == 1 {
		// CommonType.Name, which gob leaves empty for unnamed types today;
		// Id follows it with a field delta of 1.
		l, rest, ok := gobUint(msg[1:])
		if !ok || l >= uint64(len(rest)) || rest[l] != 1 {
			return notSession
		}
		msg = rest[l:]
	} else if msg[0] != 2 {
		return notSession // Id follows the missing Name with a delta of 2
	}
	// CommonType.Id, which gob's decoder does not read: the message's own
	// id names the type.
	_, msg, ok = gobInt(msg[1:])
	if !ok {
		return notSession
	}
	// The end of CommonType, Key, Elem (interface: id 8, string: id 6, as
	// gob ints), the end of mapType and of wireType.
	switch string(msg) {
	case "\x00\x01\x10\x01\x10\x00\x00":
		return formatV3
	case "\x00\x01\x0c\x01\x10\x00\x00":
		return formatV2
	}
	return notSession
}

// gobUint reads an unsigned integer as gob encodes it: a byte below 0x80 is
// the value, any other byte is the negated count of the big-endian bytes
// that follow.
func gobUint(b []byte) (uint64, []byte, bool) {
	if len(b) == 0 {
		return 0, nil, false
	}
	if b[0] < 0x80 {
		return uint64(b[0]), b[1:], true
	}
	n := -int(int8(b[0]))
	if n < 1 || n > 8 || len(b) < 1+n {
		return 0, nil, false
	}
	var x uint64
	for _, c := range b[1 : 1+n] {
		x = x<<8 | uint64(c)
	}
	return x, b[1+n:], true
}

// gobInt reads a signed integer as gob encodes it: an unsigned integer
// whose low bit is the sign.
func gobInt(b []byte) (int64, []byte, bool) {
	u, rest, ok := gobUint(b)
	if u&1 != 0 {
		return ^int64(u >> 1), rest, ok
	}
	return int64(u >> 1), rest, ok
}

// decodeSession decodes data of format f (formatV3 or formatV2) exactly as
// fiber's session middleware does: into a map that already exists. gob
// allocates a map it decodes into only when the map is nil, and then sizes
// it for the count of entries the data claims, however few the data holds;
// into an existing map it adds the entries it reads, so the memory follows
// the bytes, and decoding costs what fiber's own decoding of the row costs.
func decodeSession(data []byte, f format) (reflect.Value, error) {
	switch f {
	case formatV3:
		m := make(map[any]any)
		if err := gobDecode(data, &m); err != nil {
			return reflect.Value{}, fmt.Errorf("fiberstore: decode fiber v3 session data: %w", err)
		}
		return reflect.ValueOf(m), nil
	case formatV2:
		m := make(map[string]any)
		if err := gobDecode(data, &m); err != nil {
			return reflect.Value{}, fmt.Errorf("fiberstore: decode fiber v2 session data: %w", err)
		}
		return reflect.ValueOf(m), nil
	}
	return reflect.Value{}, errors.New("fiberstore: not session data")
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
