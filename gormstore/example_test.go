package gormstore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/gormstore"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// openExampleDB opens a SQLite database in a temporary directory, through
// the pure-Go GORM driver. Any GORM dialector for PostgreSQL, MySQL, SQLite
// or SQL Server does.
func openExampleDB() (db *gorm.DB, cleanup func()) {
	dir, err := os.MkdirTemp("", "gormstore-example")
	if err != nil {
		log.Fatal(err)
	}
	db, err = gorm.Open(sqlite.Open(filepath.Join(dir, "app.db")), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		log.Fatal(err)
	}
	return db, func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
		os.RemoveAll(dir)
	}
}

// A Store on the application's *gorm.DB, with the table CreateTable makes.
func Example() {
	db, cleanup := openExampleDB()
	defer cleanup()
	ctx := context.Background()

	store, err := gormstore.New(db, sqlsession.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close() // never closes db
	if err := store.CreateTable(ctx); err != nil {
		log.Fatal(err)
	}

	token := sqlsession.NewToken()
	if err := store.Save(ctx, token, []byte(`{"user":"ada"}`), time.Now().Add(time.Hour)); err != nil {
		log.Fatal(err)
	}
	data, found, err := store.Find(ctx, token)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(found, string(data))
	// Output: true {"user":"ada"}
}

// WebSession is a model of the application's: the session columns plus
// one of its own.
type WebSession struct {
	gormstore.Model
	Device *string `gorm:"size:100"` // nullable: the Store does not fill it
}

// Sessions in a table that GORM migrates from the application's model.
func Example_model() {
	db, cleanup := openExampleDB()
	defer cleanup()
	ctx := context.Background()

	if err := db.AutoMigrate(&WebSession{}); err != nil {
		log.Fatal(err)
	}
	store, err := gormstore.NewWithModel(db, &WebSession{}, sqlsession.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	fmt.Println("table:", store.Options().Table)

	token := sqlsession.NewToken()
	if err := store.Save(ctx, token, []byte("cart=3"), time.Now().Add(time.Hour)); err != nil {
		log.Fatal(err)
	}
	// The application reads and updates its own columns with GORM.
	if err := db.Model(&WebSession{}).Where("device IS NULL").Update("device", "phone").Error; err != nil {
		log.Fatal(err)
	}
	var rows []WebSession
	if err := db.Find(&rows).Error; err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(rows), string(rows[0].Data), *rows[0].Device)
	// Output:
	// table: web_sessions
	// 1 cart=3 phone
}

// A session written in the transaction of the rows it belongs to, and
// rolled back with them.
func Example_transaction() {
	db, cleanup := openExampleDB()
	defer cleanup()
	ctx := context.Background()

	store, err := gormstore.New(db, sqlsession.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	if err := store.CreateTable(ctx); err != nil { // before the transaction
		log.Fatal(err)
	}

	token := sqlsession.NewToken()
	errSignUpFailed := errors.New("sign-up failed")
	err = db.Transaction(func(tx *gorm.DB) error {
		inTx, err := gormstore.New(tx, sqlsession.Options{})
		if err != nil {
			return err
		}
		defer inTx.Close()
		if err := inTx.Save(ctx, token, []byte("new user"), time.Now().Add(time.Hour)); err != nil {
			return err
		}
		return errSignUpFailed // ... and everything is rolled back
	})
	fmt.Println(err)
	_, found, err := store.Find(ctx, token)
	fmt.Println(found, err)
	// Output:
	// sign-up failed
	// false <nil>
}
