package gormstore

import (
	"fmt"
	"strings"

	"github.com/sqlsession/sqlsession"
	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// Model holds the columns of a session row. Embed it in a struct of your own
// to name the table and add columns, then create the table with
// [gorm.DB.AutoMigrate] and open the Store with [NewWithModel]:
//
//	type Session struct {
//		gormstore.Model
//		UserID *uint `gorm:"index"` // yours: nullable, or with a default
//	}
//
// The Store fills the three columns of Model only; the columns you add must
// be nullable or have a default. The column types that AutoMigrate gives
// Model match the ones [sqlsession.Store.CreateTable] creates.
type Model struct {
	// Token is the stored key: the SHA-256 digest of the session token
	// (base64url, 43 characters), or the token itself with
	// [sqlsession.Options.PlainTokens].
	Token Token `gorm:"column:token;primaryKey;size:255;not null"`
	// Data is the session data, as the frontend encoded it (sealed with
	// [sqlsession.Options.Keys]). LONGBLOB on MySQL: up to 4 GiB.
	Data []byte `gorm:"column:data;not null"`
	// ExpiresAt is the expiry in Unix milliseconds. It carries GORM's
	// default index, idx_<table>_expires_at, for the sweeps.
	ExpiresAt int64 `gorm:"column:expires_at;not null;index"`
	// Version is the row version that [sqlsession.Store.SaveIf] compares;
	// negative for a deleted session's tombstone.
	Version int64 `gorm:"column:version;not null;default:0"`
}

// Token is the type of [Model.Token]: a string whose column compares byte for
// byte, as session keys must. A plain string field would give MySQL's
// case-insensitive default collation, where "abc" finds the session of "ABC".
type Token string

// GormDBDataType gives AutoMigrate the token column type of
// [sqlsession.Store.CreateTable] for db's dialect.
func (Token) GormDBDataType(db *gorm.DB, _ *schema.Field) string {
	switch db.Dialector.Name() {
	case "postgres":
		return `TEXT COLLATE "C"`
	case "mysql":
		return "VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin"
	case "sqlite":
		return "TEXT"
	case "sqlserver":
		return "NVARCHAR(255) COLLATE Latin1_General_BIN2"
	}
	return ""
}

// NewWithModel is [New] on the table of model, a pointer to a struct that
// embeds [Model] (or has its token, data and expires_at columns). The table
// name comes from GORM as for any model: a TableName method, or db's naming
// strategy ("sessions" for a type Session); a name like "app.sessions" sets
// [sqlsession.Options.Schema] as well. opts.Table must be empty or that name.
//
// NewWithModel does no I/O: create the table with db.AutoMigrate(model).
// The options that need columns of their own need them in the model as well:
// [sqlsession.Options.Timestamps] created_at and updated_at (BIGINT NOT NULL
// DEFAULT 0), [sqlsession.Options.Owner] owner, and each of
// [sqlsession.Options.Columns]. NewWithModel returns an error wrapping
// [sqlsession.ErrMissingColumn] that names the first one missing.
func NewWithModel(db *gorm.DB, model any, opts sqlsession.Options) (*sqlsession.Store, error) {
	if db == nil {
		return nil, fmt.Errorf("gormstore: %w: nil *gorm.DB", sqlsession.ErrInvalidOptions)
	}
	stmt := &gorm.Statement{DB: db}
	if err := stmt.Parse(model); err != nil {
		return nil, fmt.Errorf("gormstore: %w: model %T: %w", sqlsession.ErrInvalidOptions, model, err)
	}
	for _, col := range []string{"token", "data", "expires_at"} {
		if !hasColumn(stmt.Schema, col) {
			return nil, fmt.Errorf("gormstore: %w: model %T has no %s column: embed gormstore.Model", sqlsession.ErrMissingColumn, model, col)
		}
	}
	var need []string
	if opts.Timestamps {
		need = append(need, "created_at", "updated_at")
	}
	if opts.Owner != nil {
		need = append(need, "owner")
	}
	for _, c := range opts.Columns {
		need = append(need, c.Name)
	}
	for _, col := range need {
		if !hasColumn(stmt.Schema, col) {
			return nil, fmt.Errorf("gormstore: %w: model %T has no %s column, which the options need", sqlsession.ErrMissingColumn, model, col)
		}
	}
	schemaName, table := "", stmt.Schema.Table
	if i := strings.LastIndexByte(table, '.'); i >= 0 {
		schemaName, table = table[:i], table[i+1:]
	}
	if opts.Table != "" && opts.Table != table {
		return nil, fmt.Errorf("gormstore: %w: Options.Table %q differs from the table %q of model %T", sqlsession.ErrInvalidOptions, opts.Table, table, model)
	}
	opts.Table = table
	if opts.Schema == "" {
		opts.Schema = schemaName
	}
	return New(db, opts)
}

func hasColumn(s *schema.Schema, name string) bool {
	for _, f := range s.Fields {
		if strings.EqualFold(f.DBName, name) {
			return true
		}
	}
	return false
}
