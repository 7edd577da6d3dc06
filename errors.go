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

	// ErrConflict is returned by [Store.SaveIf] when the session no longer has
	// the version that was read: another request saved it since, or it was
	// deleted, renewed or has expired. Nothing is written; read it again with
	// [Store.Lookup] and apply the change to what is there now.
	ErrConflict = errors.New("sqlsession: session changed since it was read")

	// ErrDeleted is returned by [Store.Save] when the token was deleted (by
	// a logout, a revoke or a token renewal) less than [Options.DeleteGrace]
	// ago: the session stays deleted and nothing is written. A request that
	// loaded the session before it was deleted gets it at its end; drop the
	// session (clear the cookie) rather than retry.
	ErrDeleted = errors.New("sqlsession: session was deleted")

	// ErrNoVersion is returned by [Store.SaveIf] when the table's [Layout] has
	// no version column.
	ErrNoVersion = errors.New("sqlsession: the table has no version column")

	// ErrInvalidExpiry is returned by [Store.Save], [Store.SaveIf] and
	// [Store.Touch] for an expiry before the year 1 or after the year 9999,
	// which the table cannot hold. Nothing is written.
	ErrInvalidExpiry = errors.New("sqlsession: expiry out of range")

	// ErrInvalidOwner is returned by [Store.Save] and [Store.SaveIf] when the
	// [Options.Owner] hook returns an owner that [ValidOwner] rejects, and by
	// [Store.ListByOwner], [Store.DeleteByOwner], [Store.DeleteOthers] and
	// [Store.DeleteByID] for such an owner. Nothing is written or deleted.
	ErrInvalidOwner = errors.New("sqlsession: invalid owner")

	// ErrNoChangeLog is returned by [Store.CheckTable] when [Options.Cache]
	// is set and the change log or its trigger is missing: run
	// [Store.CreateTable] with the cache on. Until it exists, the cache is
	// bypassed and its reader logs the error.
	ErrNoChangeLog = errors.New("sqlsession: the change log of the session cache is missing")

	// ErrInvalidOptions is returned by [New] and [NewWithBackend] for a missing
	// database or dialect, or an [Options] field out of range.
	ErrInvalidOptions = errors.New("sqlsession: invalid options")
)
