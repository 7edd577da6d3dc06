package gorillastore

import "errors"

// gorillastore errors. Callers branch on these with [errors.Is]; database
// errors come back wrapped, with the operation that failed.
var (
	// ErrNoStore is returned by [Store.New], [Store.Save] and
	// [Store.Regenerate] of a Store made by [New] with a nil
	// *sqlsession.Store.
	ErrNoStore = errors.New("gorillastore: no sqlsession store")

	// ErrNoCodecs is returned by [Store.Save] and [Store.Regenerate] when the
	// Store has no codec to sign the cookie with: [New] was given no key
	// pair, or [Store.Codecs] was emptied. [Store.New] then treats every
	// cookie as unknown.
	ErrNoCodecs = errors.New("gorillastore: no codecs: New needs at least one key pair")

	// ErrNonStringKey is returned by [JSONSerializer.Serialize], and so by
	// [Store.Save], for session values under a key that is not a string.
	ErrNonStringKey = errors.New("gorillastore: JSON session values need string keys")
)
