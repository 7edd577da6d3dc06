// Package gormstore keeps [sqlsession] sessions in the database of a
// [gorm.DB]: PostgreSQL, MySQL/MariaDB, SQLite or SQL Server, with the
// dialect taken from GORM's dialector.
//
// # Quick start
//
//	store, err := gormstore.New(db, sqlsession.Options{CleanupInterval: 10 * time.Minute})
//	...
//	defer store.Close() // never closes db
//	if err := store.CreateTable(ctx); err != nil { ... }
//
// The Store sends the same SQL as [sqlsession.New] would (one atomic upsert
// per Save, never a read-then-write), through GORM's raw callbacks: db's
// logger, callbacks, PrepareStmt and connection pool apply.
//
// # Your own model
//
// To keep sessions in a table that GORM migrates, with columns of your own,
// embed [Model] and use [NewWithModel]:
//
//	type Session struct {
//		gormstore.Model
//		UserID *uint `gorm:"index"`
//	}
//
//	if err := db.AutoMigrate(&Session{}); err != nil { ... }
//	store, err := gormstore.NewWithModel(db, &Session{}, sqlsession.Options{})
//
// # Transactions
//
// A Store made from a transaction's *gorm.DB runs every statement in that
// transaction, so a session can be written with the rows it belongs to and
// rolled back with them:
//
//	err := db.Transaction(func(tx *gorm.DB) error {
//		s, err := gormstore.New(tx, opts)
//		...
//		return s.Save(ctx, token, data, expiry)
//	})
//
// Such a Store is for the goroutine that owns the transaction: leave
// background cleanup off on it, and create the table beforehand (MySQL
// commits the transaction at every CREATE or ALTER TABLE).
package gormstore
