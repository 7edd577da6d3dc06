package sqlsession_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"log/slog"
	"time"

	"github.com/sqlsession/sqlsession"
)

// Package-level variables stand for what an application already has. The
// examples that use them are compiled, not run: they need a database.
var (
	ctx context.Context
	db  *sql.DB
)

func Example() {
	store, err := sqlsession.New(db, sqlsession.Postgres, sqlsession.Options{
		Table:           "sessions",
		DefaultLifetime: 24 * time.Hour,   // for Save with a zero expiry
		CleanupInterval: 15 * time.Minute, // background DeleteExpired
	})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close() // stops cleanup; never closes db

	// Create the table if missing; the deadline is the time limit.
	tctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := store.CreateTable(tctx); err != nil {
		log.Fatal(err)
	}

	token := sqlsession.NewToken()
	if err := store.Save(ctx, token, []byte("cart=3"), time.Now().Add(time.Hour)); err != nil {
		log.Fatal(err)
	}
	data, found, err := store.Find(ctx, token)
	if err != nil {
		log.Fatal(err) // the database failed: not the same as a miss
	}
	fmt.Println(found, string(data))
}

// Several app instances share a table; each sweeps on its own jittered timer
// and every 10,000 operations, logging through the application's logger.
func Example_cleanup() {
	store, err := sqlsession.New(db, sqlsession.MySQL, sqlsession.Options{
		CleanupInterval:  10 * time.Minute,
		CleanupEvery:     10000,
		CleanupBatchSize: 500,
		Logger:           slog.Default().With("component", "sessions"),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
}

// Cleanup from a job scheduler instead of a background goroutine.
func ExampleStore_DeleteExpired() {
	store, err := sqlsession.New(db, sqlsession.SQLite, sqlsession.Options{})
	if err != nil {
		log.Fatal(err)
	}
	n, err := store.DeleteExpired(ctx)
	if err != nil {
		log.Printf("cleanup stopped after %d sessions: %v", n, err)
	}
}

// Walk the live sessions without holding them all in memory.
func ExampleStore_All() {
	store, err := sqlsession.New(db, sqlsession.Postgres, sqlsession.Options{})
	if err != nil {
		log.Fatal(err)
	}
	for e, err := range store.All(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		if len(e.Data) > 64<<10 {
			// e.Key is accepted by Delete even though the table holds digests.
			if err := store.Delete(ctx, e.Key); err != nil {
				log.Fatal(err)
			}
		}
	}
}

func ExampleValidToken() {
	for _, tok := range []string{sqlsession.NewToken(), "", "has space", "f47ac10b-58cc-4372-a567-0e02b2c3d479"} {
		fmt.Println(sqlsession.ValidToken(tok))
	}
	// Output:
	// true
	// false
	// false
	// true
}

func ExampleNew_unsafeTable() {
	_, err := sqlsession.New(&sql.DB{}, sqlsession.Postgres, sqlsession.Options{Table: "sessions; DROP TABLE users"})
	fmt.Println(err)
	// Output:
	// sqlsession: unsafe identifier: table "sessions; DROP TABLE users" may hold only ASCII letters, digits and underscores, not starting with a digit
}

func ExampleLookupDialect() {
	d, ok := sqlsession.LookupDialect("mysql")
	fmt.Println(d, ok, d == sqlsession.MySQL)
	// Output: mysql true true
}

// A busy service whose requests all read their session: concurrent reads
// are answered by one statement where they would otherwise queue for the
// pool.
func ExampleOptions_batchReads() {
	store, err := sqlsession.New(db, sqlsession.Postgres, sqlsession.Options{BatchReads: true})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
}
