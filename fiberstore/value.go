package fiberstore

import (
	"fmt"

	"github.com/sqlsession/sqlsession"
)

// Value returns a function that reads the value under key from the data of a
// session of fiber's session middleware (as [Storage.Get] returns it) as a
// string: for example the user id that a login handler stored with
// sess.Set("user_id", id). It is made to be [sqlsession.Options.Owner], which
// turns on listing and revoking a user's sessions:
//
//	store, err := sqlsession.New(db, sqlsession.Postgres, sqlsession.Options{
//		Owner: fiberstore.Value("user_id"),
//	})
//
// The function returns a string value as it is, and formats a value of a
// boolean or numeric kind, or one that implements [fmt.Stringer], with
// [fmt.Sprint]. It returns "" (anonymous, for Owner) for empty data, a
// missing key, and values of other types (slices, maps, structs). It returns
// an error only when the data does not decode.
//
// With Owner set, every Save decodes its data, and a decoding error fails the
// Save. Give fiber's other middleware that takes a Storage (limiter, CSRF,
// cache, idempotency) a Store on a table of its own: their values are not
// sessions.
//
// # Stability
//
// How the middleware encodes a session is not part of fiber's API. fiber v3
// (tested with v3.1) and v2 (tested with v2.52) write the session's map with
// [encoding/gob]: map[any]any in v3, map[string]any in v2. Value reads both,
// and would need a change if fiber changed its encoding. gob names the type
// of every value it writes in an interface, and decoding fails unless this
// process has registered the types of all the session's values, as fiber's
// middleware itself requires before it can save them
// ([session.Store.RegisterType], which calls [gob.Register]). In the
// application's own process that holds. A separate program (a command that
// lists sessions) must register the same types, and for fiber v3's
// AbsoluteTimeout, which stores a key of a type unexported by fiber, create
// a session store with AbsoluteTimeout set, which registers it. gob is not
// hardened against hostile input: Value is for data the application wrote.
//
// [session.Store.RegisterType]: https://pkg.go.dev/github.com/gofiber/fiber/v3/middleware/session#Store.RegisterType
func Value(key string) func(data []byte) (string, error) {
	return func(data []byte) (string, error) {
		if len(data) == 0 {
			return "", nil
		}
		v, err := lookup(data, key)
		if err != nil {
			return "", err
		}
		return sqlsession.OwnerString(v), nil
	}
}

// lookup decodes fiber's session data, first as v3 writes it, then as v2
// does, and returns the value under key. It decodes into maps that exist,
// as fiber does, so that a count of entries the data claims but does not
// hold costs no memory (see decodeSession).
func lookup(data []byte, key string) (any, error) {
	v3 := make(map[any]any)
	err3 := gobDecode(data, &v3)
	if err3 == nil {
		return v3[key], nil
	}
	v2 := make(map[string]any)
	err2 := gobDecode(data, &v2)
	if err2 == nil {
		return v2[key], nil
	}
	// One of the two errors says why the data's own format failed; the
	// other only that the format is not the one tried.
	return nil, fmt.Errorf("fiberstore: decode session data: as fiber v3: %w; as fiber v2: %w", err3, err2)
}
