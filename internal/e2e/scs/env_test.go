package scse2e_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/internal/dbtest"
	"github.com/sqlsession/sqlsession/scsstore"
)

// env is one test's database: the sqlsession Store on a fresh table and the
// scs adapter on it.
type env struct {
	tg     dbtest.Target
	db     *sql.DB
	schema string
	s      *sqlsession.Store
	st     *scsstore.Store
}

func newEnv(t *testing.T, tg dbtest.Target, db *sql.DB, schema string, opts sqlsession.Options) *env {
	t.Helper()
	s := dbtest.Store(t, db, tg.Dialect, schema, opts)
	return &env{tg: tg, db: db, schema: schema, s: s, st: scsstore.New(s)}
}

// testCtx returns a context that ends with t, bounded so that a hung
// database fails the test instead of the whole run.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// count returns the number of live sessions.
func (e *env) count(t *testing.T) int64 {
	t.Helper()
	n, err := e.s.Count(testCtx(t))
	if err != nil {
		t.Fatalf("Count() = %v", err)
	}
	return n
}

// found reports whether the store has a live session for token.
func (e *env) found(t *testing.T, token string) bool {
	t.Helper()
	_, ok, err := e.st.FindCtx(testCtx(t), token)
	if err != nil {
		t.Fatalf("FindCtx(%q) = %v", token, err)
	}
	return ok
}
