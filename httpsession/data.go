package httpsession

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// MetaKey is the key of the JSON object under which a session row keeps the
// Manager's own data: {"created":<Unix seconds>} and, once
// [Session.SetPersistent] was called, "persist":true or false. The Manager
// writes it first in every row. [Session.Get], [Session.Put] and
// [Session.Delete] refuse it with [ErrReservedKey].
const MetaKey = "_httpsession"

// meta is what the Manager keeps about a session besides its values.
type meta struct {
	created int64 // Unix seconds; the absolute lifetime counts from here
	persist int8  // 0: as configured; 1: persistent cookie; -1: browser-session cookie
}

// metaJSON is meta as it is stored.
type metaJSON struct {
	Created int64 `json:"created"`
	Persist *bool `json:"persist,omitempty"`
}

// errCorrupt marks row data that is not a session of this package.
var errCorrupt = errors.New("httpsession: session data is not a JSON object of this package")

// decode parses a row's data: a JSON object of keys, with the Manager's own
// data under MetaKey. Empty data is an empty session. It never panics, reads
// at most max bytes, and reports anything else as an error wrapping
// errCorrupt. hasMeta reports whether MetaKey was there. Data of JSON
// whitespace only is an empty session.
func decode(data []byte, max int) (values map[string]json.RawMessage, m meta, hasMeta bool, err error) {
	if len(data) > max {
		return nil, meta{}, false, fmt.Errorf("%w: %d bytes, limit %d", errCorrupt, len(data), max)
	}
	i := skipSpace(data, 0)
	if i == len(data) {
		return map[string]json.RawMessage{}, meta{}, false, nil
	}
	// A null object would unmarshal into a nil map without an error.
	if data[i] != '{' {
		return nil, meta{}, false, fmt.Errorf("%w: not an object", errCorrupt)
	}
	if err := json.Unmarshal(data, &values); err != nil {
		return nil, meta{}, false, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	if values == nil {
		values = map[string]json.RawMessage{}
	}
	raw, hasMeta := values[MetaKey]
	if hasMeta {
		delete(values, MetaKey)
		var mj metaJSON
		if err := json.Unmarshal(raw, &mj); err != nil {
			return nil, meta{}, false, fmt.Errorf("%w: %s: %v", errCorrupt, MetaKey, err)
		}
		m.created = mj.Created
		if mj.Persist != nil {
			m.persist = -1
			if *mj.Persist {
				m.persist = 1
			}
		}
	}
	return values, m, hasMeta, nil
}

// encode writes values as a JSON object, MetaKey first and the other keys
// in sorted order, so that equal sessions give equal bytes.
func encode(values map[string]json.RawMessage, m meta) []byte {
	keys := make([]string, 0, len(values))
	size := 64
	for k, v := range values {
		keys = append(keys, k)
		size += len(k) + len(v) + 4
	}
	slices.Sort(keys)
	b := make([]byte, 0, size)
	b = append(b, `{"`+MetaKey+`":{"created":`...)
	b = strconv.AppendInt(b, m.created, 10)
	switch m.persist {
	case 1:
		b = append(b, `,"persist":true`...)
	case -1:
		b = append(b, `,"persist":false`...)
	}
	b = append(b, '}')
	for _, k := range keys {
		b = append(b, ',')
		b = appendString(b, k)
		b = append(b, ':')
		b = append(b, values[k]...)
	}
	return append(b, '}')
}

// appendString appends s as a JSON string, escaped as encoding/json
// escapes it.
func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}

// deadline is when the absolute lifetime of a session created at m.created
// ends.
func (m meta) deadline(lifetime time.Duration) time.Time {
	return time.Unix(m.created, 0).Add(lifetime)
}

// rawValue returns the raw JSON value of the top-level key of data, as
// decode would put it in its map (the last of duplicate keys), without
// decoding anything but MetaKey. ok is false when data is not a valid JSON
// object of at most max bytes with a valid MetaKey: decode then has the
// answer (a miss, logged). It validates data in the same pass, as
// encoding/json would, and allocates only for a key written with escapes.
func rawValue(data []byte, key string, max int) (val []byte, found, ok bool) {
	if len(data) > max {
		return nil, false, false
	}
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return nil, false, false
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return nil, false, skipSpace(data, i+1) == len(data)
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return nil, false, false
		}
		end := scanString(data, i)
		if end < 0 {
			return nil, false, false
		}
		k := data[i+1 : end-1]
		var match bool
		if bytes.IndexByte(k, '\\') < 0 {
			match = string(k) == key
		} else {
			var s string
			match = json.Unmarshal(data[i:end], &s) == nil && s == key
		}
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return nil, false, false
		}
		i = skipSpace(data, i+1)
		vend := scanValue(data, i, 1)
		if vend < 0 {
			return nil, false, false
		}
		if match {
			val, found = data[i:vend], true
		}
		if string(k) == MetaKey && !canonicalMeta(data[i:vend]) {
			var mj metaJSON
			if json.Unmarshal(data[i:vend], &mj) != nil {
				return nil, false, false // decode refuses it too
			}
		}
		i = skipSpace(data, vend)
		if i >= len(data) {
			return nil, false, false
		}
		if data[i] == '}' {
			return val, found, skipSpace(data, i+1) == len(data)
		}
		if data[i] != ',' {
			return nil, false, false
		}
		i = skipSpace(data, i+1)
	}
}

// maxDepth is encoding/json's limit on nested objects and arrays.
const maxDepth = 10000

// skipSpace returns the index of the first byte from i on that is not JSON
// whitespace.
func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// scanValue returns the index after the JSON value that starts at data[i],
// or -1 when there is no valid one; depth is the number of objects and
// arrays around it.
func scanValue(data []byte, i, depth int) int {
	if i >= len(data) {
		return -1
	}
	switch c := data[i]; {
	case c == '"':
		return scanString(data, i)
	case c == '{', c == '[':
		if depth >= maxDepth {
			return -1
		}
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		i = skipSpace(data, i+1)
		if i < len(data) && data[i] == closing {
			return i + 1
		}
		for {
			if c == '{' {
				if i >= len(data) || data[i] != '"' {
					return -1
				}
				if i = scanString(data, i); i < 0 {
					return -1
				}
				if i = skipSpace(data, i); i >= len(data) || data[i] != ':' {
					return -1
				}
				i = skipSpace(data, i+1)
			}
			if i = scanValue(data, i, depth+1); i < 0 {
				return -1
			}
			if i = skipSpace(data, i); i >= len(data) {
				return -1
			}
			switch data[i] {
			case closing:
				return i + 1
			case ',':
				i = skipSpace(data, i+1)
			default:
				return -1
			}
		}
	case c == '-' || ('0' <= c && c <= '9'):
		return scanNumber(data, i)
	case c == 't':
		return scanLiteral(data, i, "true")
	case c == 'f':
		return scanLiteral(data, i, "false")
	case c == 'n':
		return scanLiteral(data, i, "null")
	}
	return -1
}

// scanString returns the index after the JSON string that starts at
// data[i], or -1 when it is not valid. Like encoding/json, it accepts any
// byte from 0x20 on, valid UTF-8 or not.
func scanString(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			return i + 1
		case c < 0x20:
			return -1
		case c == '\\':
			if i++; i >= len(data) {
				return -1
			}
			switch data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(data) {
					return -1
				}
				for _, h := range data[i+1 : i+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return -1
					}
				}
				i += 4
			default:
				return -1
			}
		}
	}
	return -1
}

// scanNumber returns the index after the JSON number that starts at
// data[i], or -1 when it is not valid.
func scanNumber(data []byte, i int) int {
	digits := func(i int) int {
		for i < len(data) && '0' <= data[i] && data[i] <= '9' {
			i++
		}
		return i
	}
	if data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && '1' <= data[i] && data[i] <= '9':
		i = digits(i + 1)
	default:
		return -1
	}
	if i < len(data) && data[i] == '.' {
		j := digits(i + 1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		j := digits(i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

// scanLiteral returns the index after lit at data[i], or -1.
func scanLiteral(data []byte, i int, lit string) int {
	if !bytes.HasPrefix(data[i:], []byte(lit)) {
		return -1
	}
	return i + len(lit)
}

// canonicalMeta reports whether b is meta as encode writes it, which
// decodes without error: {"created":N} with at most 18 digits, and
// optionally "persist":true or false.
func canonicalMeta(b []byte) bool {
	const prefix = `{"created":`
	if !bytes.HasPrefix(b, []byte(prefix)) {
		return false
	}
	b = b[len(prefix):]
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	n := 0
	for n < len(b) && n <= 18 && '0' <= b[n] && b[n] <= '9' {
		n++
	}
	if n == 0 || n > 18 {
		return false
	}
	switch string(b[n:]) {
	case `}`, `,"persist":true}`, `,"persist":false}`:
		return true
	}
	return false
}

// unmarshal is json.Unmarshal(raw, v) for valid JSON raw, with a fast path
// for the commonest session value, a string without escapes.
func unmarshal(raw []byte, v any) error {
	if sp, ok := v.(*string); ok && len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		body := raw[1 : len(raw)-1]
		if bytes.IndexByte(body, '\\') < 0 && bytes.IndexByte(body, '"') < 0 && utf8.Valid(body) {
			*sp = string(body)
			return nil
		}
	}
	return json.Unmarshal(raw, v)
}
