package gormstore_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/gormstore"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// fakeDB returns a *gorm.DB with a dialector of the given name on a
// recorder: no database behind it.
func fakeDB(t *testing.T, name string) *gorm.DB {
	t.Helper()
	db, err := gorm.Open(fakeDialector{name, &recorder{}}, &gorm.Config{Logger: logger.Discard, DisableAutomaticPing: true})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		db   func(t *testing.T) *gorm.DB
		want error
	}{
		{"nil", func(*testing.T) *gorm.DB { return nil }, sqlsession.ErrInvalidOptions},
		{"unknown dialector", func(t *testing.T) *gorm.DB { return fakeDB(t, "clickhouse") }, sqlsession.ErrInvalidOptions},
		{"db with an error", func(t *testing.T) *gorm.DB {
			db := fakeDB(t, "sqlite").Session(&gorm.Session{})
			db.AddError(errFake)
			return db
		}, errFake},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := tt.db(t)
			if s, err := gormstore.New(db, sqlsession.Options{}); s != nil || !errors.Is(err, tt.want) {
				t.Fatalf("New() = %v, %v, want nil, %v", s, err, tt.want)
			}
			if b, err := gormstore.Backend(db); b != nil || !errors.Is(err, tt.want) {
				t.Fatalf("Backend() = %v, %v, want nil, %v", b, err, tt.want)
			}
		})
	}
	if _, err := gormstore.New(fakeDB(t, "postgres"), sqlsession.Options{Table: "no-dashes"}); !errors.Is(err, sqlsession.ErrUnsafeIdentifier) {
		t.Fatalf("New(unsafe table) = %v, want ErrUnsafeIdentifier", err)
	}
}

type (
	plainSession struct {
		gormstore.Model
	}
	appSession struct {
		gormstore.Model
	}
	noToken struct {
		Data      []byte
		ExpiresAt int64
	}
	stampedSession struct {
		gormstore.Model
		Created int64  `gorm:"column:created_at;not null;default:0"`
		Updated int64  `gorm:"column:updated_at;not null;default:0"`
		Owner   string `gorm:"column:owner;size:255;index"`
		Agent   string
	}
)

func (appSession) TableName() string { return "app.web_sessions" }

func TestNewWithModel(t *testing.T) {
	owner := func([]byte) (string, error) { return "", nil }
	agent := []sqlsession.Column{{Name: "agent", Type: "TEXT", Value: func([]byte) (any, error) { return nil, nil }}}
	tests := []struct {
		name       string
		model      any
		opts       sqlsession.Options
		table, sch string
		want       error
	}{
		{"naming strategy", &plainSession{}, sqlsession.Options{}, "plain_sessions", "", nil},
		{"same table", &plainSession{}, sqlsession.Options{Table: "plain_sessions"}, "plain_sessions", "", nil},
		{"TableName with schema", &appSession{}, sqlsession.Options{}, "web_sessions", "app", nil},
		{"schema from options", &appSession{}, sqlsession.Options{Schema: "other"}, "web_sessions", "other", nil},
		{"every option's columns", &stampedSession{}, sqlsession.Options{Timestamps: true, Owner: owner, Columns: agent}, "stamped_sessions", "", nil},
		{"other table", &plainSession{}, sqlsession.Options{Table: "sessions"}, "", "", sqlsession.ErrInvalidOptions},
		{"not a model", 42, sqlsession.Options{}, "", "", sqlsession.ErrInvalidOptions},
		{"no token", &noToken{}, sqlsession.Options{}, "", "", sqlsession.ErrMissingColumn},
		{"no timestamps", &plainSession{}, sqlsession.Options{Timestamps: true}, "", "", sqlsession.ErrMissingColumn},
		{"no owner", &plainSession{}, sqlsession.Options{Owner: owner}, "", "", sqlsession.ErrMissingColumn},
		{"no extra column", &plainSession{}, sqlsession.Options{Columns: agent}, "", "", sqlsession.ErrMissingColumn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := gormstore.NewWithModel(fakeDB(t, "postgres"), tt.model, tt.opts)
			if tt.want != nil {
				if s != nil || !errors.Is(err, tt.want) {
					t.Fatalf("NewWithModel(%T) = %v, %v, want nil, %v", tt.model, s, err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewWithModel(%T) = %v", tt.model, err)
			}
			defer s.Close()
			if o := s.Options(); o.Table != tt.table || o.Schema != tt.sch {
				t.Fatalf("NewWithModel(%T) table = %q.%q, want %q.%q", tt.model, o.Schema, o.Table, tt.sch, tt.table)
			}
		})
	}
	if s, err := gormstore.NewWithModel(nil, &plainSession{}, sqlsession.Options{}); s != nil || !errors.Is(err, sqlsession.ErrInvalidOptions) {
		t.Fatalf("NewWithModel(nil db) = %v, %v, want nil, ErrInvalidOptions", s, err)
	}
}

// TestPin checks that a pinned backend holds one connection of the pool
// until released, and that a transaction is pinned as it is.
func TestPin(t *testing.T) {
	db, _ := openSQLite(t, &gorm.Config{Logger: logger.Discard})
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	b, err := gormstore.Backend(db)
	if err != nil {
		t.Fatal(err)
	}
	pinner, ok := b.(sqlsession.Pinner)
	if !ok {
		t.Fatal("gormstore.Backend does not implement sqlsession.Pinner")
	}
	pinned, release, err := pinner.Pin(ctx)
	if err != nil {
		t.Fatalf("Pin() = %v", err)
	}
	if n := sqlDB.Stats().InUse; n != 1 {
		t.Fatalf("connections in use while pinned = %d, want 1", n)
	}
	// A temporary table lives on one connection only.
	if _, err := pinned.Exec(ctx, "CREATE TEMP TABLE pin_check (x INTEGER)"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		var n int64
		if err := pinned.QueryRow(ctx, "SELECT count(*) FROM pin_check").Scan(&n); err != nil {
			t.Fatalf("query #%d on the pinned connection = %v", i, err)
		}
	}
	release()
	if n := sqlDB.Stats().InUse; n != 0 {
		t.Fatalf("connections in use after release = %d, want 0", n)
	}

	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		b, err := gormstore.Backend(tx)
		if err != nil {
			return err
		}
		pinned, release, err := b.(sqlsession.Pinner).Pin(ctx)
		if err != nil {
			return err
		}
		defer release()
		if n := sqlDB.Stats().InUse; n != 1 {
			t.Errorf("connections in use with a pinned transaction = %d, want 1 (the transaction's)", n)
		}
		var n int64
		return pinned.QueryRow(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n)
	})
	if err != nil {
		t.Fatalf("Pin() in a transaction: %v", err)
	}
}

// TestQueryRowErrors checks the Row of a query that fails or finds nothing.
func TestQueryRowErrors(t *testing.T) {
	db, _ := openSQLite(t, &gorm.Config{Logger: logger.Discard})
	b, err := gormstore.Backend(db)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	var n int64
	if err := b.QueryRow(ctx, "SELECT 1 WHERE 1 = 0").Scan(&n); !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("QueryRow(no row).Scan() = %v, want sql.ErrNoRows", err)
	}
	if err := b.QueryRow(ctx, "SELECT nonsense FROM nowhere").Scan(&n); err == nil || errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("QueryRow(bad SQL).Scan() = %v, want a database error", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := b.QueryRow(cancelled, "SELECT 1").Scan(&n); !errors.Is(err, context.Canceled) {
		t.Fatalf("QueryRow(cancelled ctx).Scan() = %v, want context.Canceled", err)
	}
	if err := b.QueryRow(ctx, "SELECT 7").Scan(&n); err != nil || n != 7 {
		t.Fatalf("QueryRow(SELECT 7).Scan() = %d, %v, want 7, nil", n, err)
	}
	// DryRun gives no rows and no error from GORM: the backend says so.
	dry, err := gormstore.Backend(db.Session(&gorm.Session{DryRun: true}))
	if err != nil {
		t.Fatal(err)
	}
	if err := dry.QueryRow(ctx, "SELECT 1").Scan(&n); err == nil {
		t.Fatal("QueryRow() in DryRun mode = nil error, want one")
	}
}
