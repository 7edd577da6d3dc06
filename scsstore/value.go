package scsstore

import (
	"fmt"
	"reflect"

	"github.com/alexedwards/scs/v2"
)

// Value returns a function that reads the value stored under key from
// session data encoded by scs's default codec, [scs.GobCodec], as a string:
// for example the user ID that a login handler stored with
// sm.Put(ctx, "userID", id). It is made to be [sqlsession.Options.Owner].
//
// The function returns a string value as it is, and formats a value of a
// boolean or numeric kind, or one that implements [fmt.Stringer], with
// [fmt.Sprint]. It returns "" for empty data, a missing key, and values of
// other types (slices, maps, structs). It returns an error when the data
// does not decode; as in scs, values of your own types decode only after
// [encoding/gob.Register], which the program that stored them has done.
func Value(key string) func(data []byte) (string, error) {
	return ValueWith(scs.GobCodec{}, key)
}

// ValueWith is [Value] for a [scs.SessionManager] whose Codec is c. A nil c
// means scs.GobCodec.
func ValueWith(c scs.Codec, key string) func(data []byte) (string, error) {
	if c == nil {
		c = scs.GobCodec{}
	}
	return func(data []byte) (string, error) {
		if len(data) == 0 {
			return "", nil
		}
		_, values, err := c.Decode(data)
		if err != nil {
			return "", fmt.Errorf("scsstore: decode session data: %w", err)
		}
		return format(values[key]), nil
	}
}

// format renders v as Value documents.
func format(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case fmt.Stringer:
		return fmt.Sprint(v) // fmt recovers from a panicking String method
	}
	switch reflect.ValueOf(v).Kind() {
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return fmt.Sprint(v)
	}
	return ""
}
