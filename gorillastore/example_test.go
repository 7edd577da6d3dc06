package gorillastore_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/gorillastore"
)

var (
	ctx     context.Context
	db      *sql.DB
	hashKey []byte // 32 or 64 random bytes, kept secret and stable across restarts
)

func Example() {
	sqlStore, err := sqlsession.New(db, sqlsession.Postgres, sqlsession.Options{})
	if err != nil {
		panic(err)
	}
	if err := sqlStore.CreateTable(ctx); err != nil {
		panic(err)
	}
	store := gorillastore.New(sqlStore, hashKey)

	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		session, err := store.Get(r, "session")
		if err != nil {
			http.Error(w, "sessions unavailable", http.StatusServiceUnavailable)
			return
		}
		n, _ := session.Values["visits"].(int)
		session.Values["visits"] = n + 1
		if err := session.Save(r, w); err != nil {
			http.Error(w, "sessions unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "visit %d\n", n+1)
	})
}

// Log-in moves the session to a new token; log-out deletes it.
func ExampleStore_Regenerate() {
	sqlStore, err := sqlsession.New(db, sqlsession.Postgres, sqlsession.Options{})
	if err != nil {
		panic(err)
	}
	store := gorillastore.New(sqlStore, hashKey)

	http.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		session, err := store.Get(r, "session")
		if err != nil {
			http.Error(w, "sessions unavailable", http.StatusServiceUnavailable)
			return
		}
		// ... check the credentials ...
		session.Values["user_id"] = "42"
		if err := store.Regenerate(r, w, session); err != nil {
			http.Error(w, "sessions unavailable", http.StatusServiceUnavailable)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})

	http.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		session, err := store.Get(r, "session")
		if err != nil {
			http.Error(w, "sessions unavailable", http.StatusServiceUnavailable)
			return
		}
		session.Options.MaxAge = -1 // deletes the row and the cookie
		if err := session.Save(r, w); err != nil {
			http.Error(w, "sessions unavailable", http.StatusServiceUnavailable)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
}

func ExampleValue() {
	data, err := gorillastore.GobSerializer{}.Serialize(map[any]any{"user_id": 42, "theme": "dark"})
	if err != nil {
		panic(err)
	}
	userOf := gorillastore.Value("user_id")
	id, err := userOf(data)
	fmt.Printf("%q %v\n", id, err)
	// Output: "42" <nil>
}

func ExampleJSONSerializer() {
	sqlStore, err := sqlsession.New(db, sqlsession.Postgres, sqlsession.Options{})
	if err != nil {
		panic(err)
	}
	store := gorillastore.New(sqlStore, hashKey)
	store.Serializer = gorillastore.JSONSerializer{} // the data column holds JSON objects
	store.MaxAge(8 * 3600)                           // sessions last 8 hours
	store.Options.Domain = "example.com"
}
