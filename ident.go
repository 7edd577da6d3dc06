package sqlsession

import "fmt"

// maxIdentLen bounds table and schema names. It leaves room for the index
// names derived from the table name within PostgreSQL's 63-byte limit.
const maxIdentLen = 40

// checkIdent reports whether name is a plain identifier: an ASCII letter or
// underscore followed by ASCII letters, digits or underscores. Only such names
// reach SQL text, and they are quoted there as well.
func checkIdent(kind, name string) error {
	if name == "" || len(name) > maxIdentLen {
		return fmt.Errorf("%w: %s %q must be 1 to %d characters", ErrUnsafeIdentifier, kind, name, maxIdentLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		letter := c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
		if !letter && (i == 0 || c < '0' || c > '9') {
			return fmt.Errorf("%w: %s %q may hold only ASCII letters, digits and underscores, not starting with a digit", ErrUnsafeIdentifier, kind, name)
		}
	}
	return nil
}
