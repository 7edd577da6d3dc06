package dsn

import "errors"

// Errors of this package. Callers branch on them with [errors.Is]; the
// messages that wrap them say what is wrong but never repeat the DSN, which
// may hold a password.
var (
	// ErrInvalid is returned by [Parse] for a DSN that is empty or
	// malformed.
	ErrInvalid = errors.New("dsn: invalid DSN")

	// ErrUnsupported is returned by [Parse] for a URL whose scheme names
	// no database that sqlsession supports, such as redis:// or http://.
	ErrUnsupported = errors.New("dsn: unsupported scheme")

	// ErrDriverMissing is returned by [Source.Open] when the program does
	// not link the database/sql driver that the DSN needs. The message
	// names the package to import.
	ErrDriverMissing = errors.New("dsn: database/sql driver not linked")
)
