package dbtest

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/sqlsessiontest"
)

func TestConformance(t *testing.T) {
	Each(t, Drivers, func(t *testing.T, tg Target, db *sql.DB, schema string) {
		sqlsessiontest.Run(t, Factory(db, tg.Dialect, schema))
	})
}

// TestTokensNotStoredInClear reads the table behind the Store's back: with
// the default options no column holds the token, and the listed keys are not
// the token either.
func TestTokensNotStoredInClear(t *testing.T) {
	Each(t, Drivers, func(t *testing.T, tg Target, db *sql.DB, schema string) {
		s := Store(t, db, tg.Dialect, schema, sqlsession.Options{})
		ctx := t.Context()
		token := sqlsession.NewToken()
		if err := s.Save(ctx, token, []byte("payload"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		var stored string
		q := "SELECT token FROM " + QuotedTable(tg.Dialect, schema, s.Options().Table)
		if err := db.QueryRow(q).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(stored, token) || len(stored) != 43 {
			t.Fatalf("stored key = %q, want the 43-character digest of %q", stored, token)
		}
		for e, err := range s.All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(e.Key, token) {
				t.Fatalf("All() key %q holds the token", e.Key)
			}
		}
	})
}

// TestDatabaseGone closes the connection pool under a live Store: every call
// returns an error promptly, and none is a silent miss.
func TestDatabaseGone(t *testing.T) {
	Each(t, Drivers, func(t *testing.T, tg Target, db *sql.DB, schema string) {
		s := Store(t, db, tg.Dialect, schema, sqlsession.Options{})
		ctx := t.Context()
		token := sqlsession.NewToken()
		if err := s.Save(ctx, token, []byte("x"), time.Time{}); err != nil {
			t.Fatal(err)
		}
		db.Close()
		if _, found, err := s.Find(ctx, token); err == nil || found {
			t.Fatalf("Find() on a closed pool = found %v, err %v, want an error", found, err)
		}
		if err := s.Save(ctx, token, []byte("y"), time.Time{}); err == nil {
			t.Fatal("Save() on a closed pool = nil, want an error")
		}
		if _, err := s.DeleteExpired(ctx); err == nil {
			t.Fatal("DeleteExpired() on a closed pool = nil, want an error")
		}
	})
}

// TestSharedTableAcrossStores runs two Stores, as two app instances would, on
// one table: what one saves the other finds.
func TestSharedTableAcrossStores(t *testing.T) {
	Each(t, Drivers, func(t *testing.T, tg Target, db *sql.DB, schema string) {
		a := Store(t, db, tg.Dialect, schema, sqlsession.Options{})
		b, err := sqlsession.New(db, tg.Dialect, sqlsession.Options{Table: a.Options().Table, Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		ctx := context.Background()
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tok := sqlsession.NewToken()
				if err := a.Save(ctx, tok, []byte(tok), time.Time{}); err != nil {
					t.Error(err)
					return
				}
				got, found, err := b.Find(ctx, tok)
				if err != nil || !found || string(got) != tok {
					t.Errorf("b.Find() = %q, %v, %v, want what a saved", got, found, err)
				}
			}()
		}
		wg.Wait()
	})
}
