package sqlsession

import "errors"

// sqlsession errors. Callers branch on these with [errors.Is]; every other error a
// method returns wraps the underlying database error with the operation that failed.
var (
	// ErrClosed is returned by every database method of a [Store] after
	// [Store.Close] has been called.
	ErrClosed = errors.New("sqlsession: store is closed")

	// ErrTooLarge is returned by [Store.Save] when the data is longer than
	// [Options.MaxDataSize]. Nothing is sent to the database.
	ErrTooLarge = errors.New("sqlsession: session data too large")

	// ErrInvalidToken is returned by [Store.Save] when the token is empty, longer
	// than [MaxTokenLength] or holds a byte outside printable ASCII. Find, Touch and
	// Delete treat such a token as unknown instead: it is a miss, not an error.
	ErrInvalidToken = errors.New("sqlsession: invalid token")

	// ErrUnsafeIdentifier is returned by [New] and [NewWithBackend] when
	// [Options.Table] or [Options.Schema] is not a plain SQL identifier.
	ErrUnsafeIdentifier = errors.New("sqlsession: unsafe identifier")

	// ErrMissingColumn is returned by [Store.CreateTable] and [Store.CheckTable]
	// when an existing table lacks one of the columns the Store needs; the
	// message names it.
	ErrMissingColumn = errors.New("sqlsession: table lacks a required column")

	// ErrNoOwner is returned by [Store.ListByOwner], [Store.DeleteByOwner],
	// [Store.DeleteOthers] and [Store.DeleteByID] when [Options.Owner] is not
	// set.
	ErrNoOwner = errors.New("sqlsession: Options.Owner is not set")

	// ErrInvalidOptions is returned by [New] and [NewWithBackend] for a missing
	// database or dialect, or an [Options] field out of range.
	ErrInvalidOptions = errors.New("sqlsession: invalid options")
)
