package ginstore_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/gin-contrib/sessions"
	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/ginstore"
	"github.com/sqlsession/sqlsession/gorillastore"
)

// noDB is a sqlsession.Backend for tests that never reach the database.
type noDB struct{}

var errNoDB = errors.New("no database in this test")

func (noDB) Exec(context.Context, string, ...any) (int64, error) { return 0, errNoDB }
func (noDB) QueryRow(context.Context, string, ...any) sqlsession.Row {
	return row{}
}
func (noDB) Query(context.Context, string, ...any) (sqlsession.Rows, error) { return nil, errNoDB }

type row struct{}

func (row) Scan(...any) error { return errNoDB }

func newStore(t *testing.T) *gorillastore.Store {
	t.Helper()
	db, err := sqlsession.NewWithBackend(noDB{}, sqlsession.SQLite, sqlsession.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return gorillastore.New(db, []byte("0123456789abcdef0123456789abcdef"))
}

func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts sessions.Options
	}{
		{"domain", sessions.Options{Domain: "example.com"}},
		{"all", sessions.Options{Path: "/app", Domain: "example.com", MaxAge: 3600, Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode}},
		{"log out", sessions.Options{MaxAge: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gs := newStore(t)
			var store sessions.Store = ginstore.New(gs)
			store.Options(tc.opts)
			want := *tc.opts.ToGorillaOptions()
			if *gs.Options != want {
				t.Errorf("Options(%+v): store options = %+v, want %+v", tc.opts, *gs.Options, want)
			}
		})
	}
}

// TestShared checks that copies of a Store act on one gorillastore.Store.
func TestShared(t *testing.T) {
	gs := newStore(t)
	a := ginstore.New(gs)
	b := a
	b.Options(sessions.Options{Path: "/b"})
	if a.Store.Options.Path != "/b" || a.Store != gs {
		t.Errorf("a copy's Options did not reach the shared store: Path %q", a.Store.Options.Path)
	}
}
