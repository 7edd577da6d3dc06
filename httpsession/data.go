package httpsession

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
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
// errCorrupt. hasMeta reports whether MetaKey was there.
func decode(data []byte, max int) (values map[string]json.RawMessage, m meta, hasMeta bool, err error) {
	if len(data) > max {
		return nil, meta{}, false, fmt.Errorf("%w: %d bytes, limit %d", errCorrupt, len(data), max)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return map[string]json.RawMessage{}, meta{}, false, nil
	}
	// A null object would unmarshal into a nil map without an error.
	if data = bytes.TrimSpace(data); data[0] != '{' {
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
