package counter

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/httpsession"
)

// NewStore returns the examples' Store on db: expired sessions deleted in
// the background, the "user" key as the owner (for ListByOwner and
// DeleteByOwner), its table created if needed. Close it when done; it
// leaves db open.
func NewStore(ctx context.Context, db *sql.DB, dialect sqlsession.Dialect) (*sqlsession.Store, error) {
	store, err := sqlsession.New(db, dialect, sqlsession.Options{
		CleanupInterval: 10 * time.Minute,             // delete expired sessions in the background
		Owner:           httpsession.OwnerKey("user"), // ListByOwner, DeleteByOwner
	})
	if err != nil {
		return nil, err
	}
	if err := store.CreateTable(ctx); err != nil {
		store.Close()
		return nil, fmt.Errorf("creating the session table: %w", err)
	}
	return store, nil
}
