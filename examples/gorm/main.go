// Command gorm is a visit counter on net/http with alexedwards/scs whose
// sessions are kept through GORM, by gormstore: the Store's SQL goes through
// the application's *gorm.DB, its pool, logger and callbacks.
//
//	cd examples && go run ./gorm [-addr 127.0.0.1:8080] [-dsn DSN]
//
// Without -dsn the sessions go to the SQLite file sessions.db in the working
// directory, through the pure-Go glebarez/sqlite driver. Try it with curl and
// a cookie jar:
//
//	curl -b jar -c jar http://127.0.0.1:8080/                        # count=1 user=anonymous
//	curl -b jar -c jar -X POST 'http://127.0.0.1:8080/login?user=ada' # a new token, same data
//	curl -b jar -c jar http://127.0.0.1:8080/                        # count=2 user=ada
//	curl -b jar -c jar -X POST http://127.0.0.1:8080/logout
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/glebarez/sqlite"
	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/examples/internal/scsapp"
	"github.com/sqlsession/sqlsession/examples/internal/serve"
	"github.com/sqlsession/sqlsession/scsstore"
)

// snippet:start
import "github.com/sqlsession/sqlsession/gormstore"

// snippet:end

// sqliteFile is the file, in the working directory, that holds the sessions
// when no DSN is given.
const sqliteFile = "sessions.db"

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	dsn := flag.String("dsn", "", "PostgreSQL URL (postgres://user:pass@127.0.0.1:5432/db) or "+
		"MySQL/MariaDB DSN (user:pass@tcp(127.0.0.1:3306)/db); empty: the SQLite file "+sqliteFile)
	flag.Parse()
	if err := run(*addr, *dsn); err != nil {
		slog.Error(err.Error())
		os.Exit(1)
	}
}

// run serves the application until an interrupt or SIGTERM.
func run(addr, dsn string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	db, err := gorm.Open(dialector(dsn), &gorm.Config{})
	if err != nil {
		return err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	handler, cleanup, err := newApp(ctx, db)
	if err != nil {
		return err
	}
	defer cleanup()
	return serve.HTTP(ctx, addr, handler)
}

// dialector returns the GORM dialector for dsn: SQLite for "", PostgreSQL
// for a postgres:// URL, MySQL/MariaDB otherwise.
func dialector(dsn string) gorm.Dialector {
	switch {
	case dsn == "":
		return sqlite.Open(sqliteDSN(sqliteFile))
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return postgres.Open(dsn)
	default:
		return mysql.Open(dsn)
	}
}

// sqliteDSN opens the SQLite file at path in WAL mode (readers do not wait
// for the writer) with a busy timeout of five seconds (a writer waits for
// another instead of failing at once).
func sqliteDSN(path string) string {
	return "file:" + path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)"
}

// newApp creates the session table if needed and returns the application.
// cleanup stops the Store's background cleanup; it leaves db open.
func newApp(ctx context.Context, db *gorm.DB) (_ http.Handler, cleanup func(), _ error) {
	// snippet:start
	store, err := gormstore.New(db, sqlsession.Options{ // db is a *gorm.DB
		CleanupInterval: 10 * time.Minute, // delete expired sessions in the background
	})
	// snippet:end
	if err != nil {
		return nil, nil, err
	}
	if err := store.CreateTable(ctx); err != nil {
		store.Close()
		return nil, nil, fmt.Errorf("creating the session table: %w", err)
	}

	sm := scs.New()
	sm.Store = scsstore.New(store)
	mux := http.NewServeMux()
	scsapp.Routes(mux, sm)
	return sm.LoadAndSave(mux), func() { store.Close() }, nil
}
