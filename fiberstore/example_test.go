package fiberstore_test

import (
	"context"
	"database/sql"
	"log"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/session"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/fiberstore"
)

var (
	ctx context.Context
	db  *sql.DB
)

// fiber's session middleware with its sessions in PostgreSQL: the README's
// example.
func Example_quickStart() {
	store, err := sqlsession.New(db, sqlsession.Postgres, sqlsession.Options{CleanupInterval: 10 * time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	if err := store.CreateTable(ctx); err != nil {
		log.Fatal(err)
	}
	app := fiber.New()
	app.Use(session.New(session.Config{Storage: fiberstore.New(store)}))
	log.Fatal(app.Listen(":3000"))
}

// Sign-in stores the user id in the session; Value makes it the session's
// owner, and "sign out everywhere" deletes every session of that user.
func ExampleValue() {
	store, err := sqlsession.New(db, sqlsession.Postgres, sqlsession.Options{
		Owner: fiberstore.Value("user_id"),
	})
	if err != nil {
		log.Fatal(err)
	}
	app := fiber.New()
	app.Use(session.New(session.Config{Storage: fiberstore.New(store)}))
	app.Post("/login", func(c fiber.Ctx) error {
		sess := session.FromContext(c)
		if err := sess.Regenerate(); err != nil { // a new id at every sign-in
			return err
		}
		sess.Set("user_id", "42") // after checking the password
		return c.SendStatus(fiber.StatusNoContent)
	})
	app.Post("/logout-everywhere", func(c fiber.Ctx) error {
		sess := session.FromContext(c)
		user, _ := sess.Get("user_id").(string)
		if _, err := store.DeleteByOwner(c, user); err != nil {
			return err
		}
		if err := sess.Destroy(); err != nil { // or the middleware saves it again
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	})
	log.Fatal(app.Listen(":3000"))
}
