package scsstore

import (
	"fmt"

	"github.com/alexedwards/scs/v2"
	"github.com/sqlsession/sqlsession"
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
		return sqlsession.OwnerString(values[key]), nil
	}
}
