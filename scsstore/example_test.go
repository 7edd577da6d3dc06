package scsstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/scsstore"
)

var (
	ctx context.Context
	db  *sql.DB // opened with any database/sql driver
	mux *http.ServeMux

	store *sqlsession.Store // made as in Example_quickStart
)

// scs sessions in PostgreSQL, with expired rows swept every ten minutes.
func Example_quickStart() {
	store, err := sqlsession.New(db, sqlsession.Postgres, sqlsession.Options{
		CleanupInterval: 10 * time.Minute,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	if err := store.CreateTable(ctx); err != nil {
		log.Fatal(err)
	}

	sm := scs.New()
	sm.Store = scsstore.New(store)
	sm.Lifetime = 12 * time.Hour

	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// A new token on every change of privilege.
		if err := sm.RenewToken(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		sm.Put(r.Context(), "userID", 42)
	})
	log.Fatal(http.ListenAndServe(":4000", sm.LoadAndSave(mux)))
}

// Sessions that end after 30 minutes without use, and 12 hours after
// sign-in at the latest, with at most one write per 3 minutes of reading.
func Example_slidingExpiry() {
	store, err := sqlsession.New(db, sqlsession.Postgres, sqlsession.Options{
		IdleTimeout:     30 * time.Minute, // not scs's IdleTimeout: it writes on every request
		CleanupInterval: 10 * time.Minute,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	sm := scs.New()
	sm.Store = scsstore.New(store)
	sm.Lifetime = 12 * time.Hour
	log.Fatal(http.ListenAndServe(":4000", sm.LoadAndSave(mux)))
}

// Iterate visits every live session, here to log one user out everywhere.
// Its keys are handles, not tokens, and the Store accepts them.
func Example_iterate() {
	sm := scs.New()
	sm.Store = scsstore.New(store)
	err := sm.Iterate(ctx, func(ctx context.Context) error {
		if sm.GetInt(ctx, "userID") != 42 {
			return nil
		}
		return sm.Destroy(ctx)
	})
	if err != nil {
		log.Fatal(err)
	}
}

// Value reads one value out of scs's encoded session data.
func ExampleValue() {
	data, err := scs.GobCodec{}.Encode(time.Now().Add(time.Hour), map[string]any{
		"userID": 42,
		"theme":  "dark",
	})
	if err != nil {
		log.Fatal(err)
	}
	owner := scsstore.Value("userID")
	id, err := owner(data)
	fmt.Printf("%q %v\n", id, err)
	// Output: "42" <nil>
}
