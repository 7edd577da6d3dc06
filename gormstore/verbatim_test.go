package gormstore_test

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/gormstore"
	"gorm.io/gorm"
	"gorm.io/gorm/callbacks"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"
	"gorm.io/gorm/schema"
)

// call is one statement as it reached the database layer.
type call struct {
	query string
	args  []any
}

var errFake = errors.New("fake database: no rows here")

// recorder records statements. As a gorm.ConnPool it stands for the
// database/sql pool under GORM; as a sqlsession.Backend it sees what the
// core sends.
type recorder struct {
	mu    sync.Mutex
	calls []call
}

func (r *recorder) record(query string, args []any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call{query, append([]any(nil), args...)})
}

// gorm.ConnPool
func (r *recorder) PrepareContext(context.Context, string) (*sql.Stmt, error) { return nil, errFake }
func (r *recorder) ExecContext(_ context.Context, q string, args ...any) (sql.Result, error) {
	r.record(q, args)
	return driver.RowsAffected(0), nil
}
func (r *recorder) QueryContext(_ context.Context, q string, args ...any) (*sql.Rows, error) {
	r.record(q, args)
	return nil, errFake
}
func (r *recorder) QueryRowContext(_ context.Context, q string, args ...any) *sql.Row {
	r.record(q, args)
	return nil
}

// sqlsession.Backend
type coreRecorder struct{ *recorder }

func (r coreRecorder) Exec(_ context.Context, q string, args ...any) (int64, error) {
	r.record(q, args)
	return 0, nil
}
func (r coreRecorder) QueryRow(_ context.Context, q string, args ...any) sqlsession.Row {
	r.record(q, args)
	return errRow{}
}
func (r coreRecorder) Query(_ context.Context, q string, args ...any) (sqlsession.Rows, error) {
	r.record(q, args)
	return nil, errFake
}

type errRow struct{}

func (errRow) Scan(...any) error { return errFake }

// fakeDialector is a GORM dialector of the given name on a recorder, with
// GORM's default callbacks and the bind variables of that dialect.
type fakeDialector struct {
	name string
	pool gorm.ConnPool
}

func (d fakeDialector) Name() string { return d.name }
func (d fakeDialector) Initialize(db *gorm.DB) error {
	db.ConnPool = d.pool
	callbacks.RegisterDefaultCallbacks(db, &callbacks.Config{})
	return nil
}
func (d fakeDialector) Migrator(*gorm.DB) gorm.Migrator                { return nil }
func (d fakeDialector) DataTypeOf(*schema.Field) string                { return "" }
func (d fakeDialector) DefaultValueOf(*schema.Field) clause.Expression { return nil }
func (d fakeDialector) QuoteTo(w clause.Writer, s string)              { w.WriteString(`"` + s + `"`) }
func (d fakeDialector) Explain(sql string, vars ...interface{}) string {
	return logger.ExplainSQL(sql, nil, `'`, vars...)
}
func (d fakeDialector) BindVarTo(w clause.Writer, stmt *gorm.Statement, _ interface{}) {
	switch d.name {
	case "postgres":
		w.WriteString("$" + strconv.Itoa(len(stmt.Vars)))
	case "sqlserver":
		w.WriteString("@p" + strconv.Itoa(len(stmt.Vars)))
	default:
		w.WriteByte('?')
	}
}

// TestSQLVerbatim runs the same operations on a core Store and on a
// gormstore Store, both on recorders, for every dialect: the statements and
// arguments that reach database/sql under GORM must be the core's, byte for
// byte, and GORM's logger and callbacks must have seen them.
func TestSQLVerbatim(t *testing.T) {
	opts := sqlsession.Options{
		Table:      "sessions",
		Timestamps: true,
		Owner:      func([]byte) (string, error) { return "ada", nil },
		Columns: []sqlsession.Column{{Name: "agent", Type: "VARCHAR(100)", Value: func([]byte) (any, error) {
			return "curl", nil
		}}},
	}
	for _, name := range []string{"postgres", "mysql", "sqlite", "sqlserver"} {
		t.Run(name, func(t *testing.T) {
			d, ok := sqlsession.LookupDialect(name)
			if !ok {
				t.Fatalf("LookupDialect(%q) = false", name)
			}
			want := &recorder{}
			core, err := sqlsession.NewWithBackend(coreRecorder{want}, d, opts)
			if err != nil {
				t.Fatal(err)
			}
			run(core)
			if len(want.calls) < 12 {
				t.Fatalf("the core sent %d statements, want every method's", len(want.calls))
			}

			got := &recorder{}
			log := &countingLogger{}
			db, err := gorm.Open(fakeDialector{name, got}, &gorm.Config{Logger: log, DisableAutomaticPing: true})
			if err != nil {
				t.Fatal(err)
			}
			var userCallbacks int
			db.Callback().Raw().Before("gorm:raw").Register("test:raw", func(*gorm.DB) { userCallbacks++ })
			db.Callback().Row().Before("gorm:row").Register("test:row", func(*gorm.DB) { userCallbacks++ })
			s, err := gormstore.New(db, opts)
			if err != nil {
				t.Fatal(err)
			}
			if s.Dialect() != d {
				t.Fatalf("New() dialect = %v, want %v", s.Dialect(), d)
			}
			run(s)

			if len(got.calls) != len(want.calls) {
				t.Fatalf("GORM sent %d statements, the core %d:\n%v\n%v", len(got.calls), len(want.calls), got.calls, want.calls)
			}
			for i := range want.calls {
				if err := sameCall(got.calls[i], want.calls[i]); err != nil {
					t.Errorf("statement %d: %v", i, err)
				}
			}
			if n := int(log.traced.Load()); n != len(want.calls) {
				t.Errorf("GORM logger traced %d statements, want %d", n, len(want.calls))
			}
			if userCallbacks != len(want.calls) {
				t.Errorf("user callbacks ran %d times, want %d", userCallbacks, len(want.calls))
			}
		})
	}
}

// run calls every Store method once; the recorders answer every query with
// an error, so the results do not matter.
func run(s *sqlsession.Store) {
	ctx := context.Background()
	expiry := time.UnixMilli(4102444800000) // 2100-01-01
	s.CreateTable(ctx)
	s.Save(ctx, "token", []byte{}, expiry)
	s.Save(ctx, "token", []byte("(?, @p1, $1)"), expiry)
	s.Find(ctx, "token")
	s.Touch(ctx, "token", expiry)
	s.Delete(ctx, "token")
	s.DeleteExpired(ctx)
	s.Count(ctx)
	for range s.All(ctx) {
	}
	s.ListByOwner(ctx, "ada")
	s.DeleteByOwner(ctx, "ada")
	s.Clear(ctx)
}

// sameCall compares two statements; int64 arguments may differ by a
// minute, the clock having moved between the two runs.
func sameCall(got, want call) error {
	if got.query != want.query {
		return fmt.Errorf("SQL\n got %s\nwant %s", got.query, want.query)
	}
	if len(got.args) != len(want.args) {
		return fmt.Errorf("%s: %d args %v, want %d %v", want.query, len(got.args), got.args, len(want.args), want.args)
	}
	for i, w := range want.args {
		g := got.args[i]
		switch w := w.(type) {
		case int64:
			if g, ok := g.(int64); !ok || g-w > 60000 || w-g > 60000 {
				return fmt.Errorf("%s: arg %d = %#v, want about %d", want.query, i, got.args[i], w)
			}
		case []byte:
			if g, ok := g.([]byte); !ok || !bytes.Equal(g, w) {
				return fmt.Errorf("%s: arg %d = %#v, want %#v", want.query, i, got.args[i], w)
			}
		default:
			if g != w {
				return fmt.Errorf("%s: arg %d = %#v, want %#v", want.query, i, g, w)
			}
		}
	}
	return nil
}
