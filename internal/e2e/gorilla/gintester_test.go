package gorillae2e

import (
	"database/sql"
	"testing"

	ginsessions "github.com/gin-contrib/sessions"
	"github.com/gin-contrib/sessions/tester"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/ginstore"
	"github.com/sqlsession/sqlsession/gorillastore"
	"github.com/sqlsession/sqlsession/internal/dbtest"
)

// TestGinContribTester runs gin-contrib/sessions' own suite for session
// stores against ginstore.
func TestGinContribTester(t *testing.T) {
	dbtest.Each(t, dbtest.Servers, func(t *testing.T, tg dbtest.Target, db *sql.DB, schema string) {
		newStore := func(t *testing.T) ginsessions.Store {
			sqlStore := dbtest.Store(t, db, tg.Dialect, schema, sqlsession.Options{})
			return ginstore.New(gorillastore.New(sqlStore, hashKey))
		}
		for _, tc := range []struct {
			name string
			run  func(*testing.T)
		}{
			{"GetSet", func(t *testing.T) { tester.GetSet(t, newStore) }},
			{"DeleteKey", func(t *testing.T) { tester.DeleteKey(t, newStore) }},
			{"Flashes", func(t *testing.T) { tester.Flashes(t, newStore) }},
			{"Clear", func(t *testing.T) { tester.Clear(t, newStore) }},
			{"Options", func(t *testing.T) { tester.Options(t, newStore) }},
			{"Many", func(t *testing.T) { tester.Many(t, newStore) }},
		} {
			t.Run(tc.name, tc.run)
		}
	})
}
