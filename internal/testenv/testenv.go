// Package testenv finds the test databases of sqlsession's integration tests.
//
// A test that needs a server reads its DSN from an environment variable.
// Locally, an unset variable or an unreachable server skips the test, naming
// the variable. With SQLSESSION_TEST_STRICT=1 (as in CI) both are failures:
// a database test never skips silently there.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"testing"
	"time"
)

// Environment variables read by the integration tests.
const (
	PostgresDSN = "SQLSESSION_TEST_POSTGRES_DSN" // postgres://user:pass@127.0.0.1:5432/db?sslmode=disable
	MySQLDSN    = "SQLSESSION_TEST_MYSQL_DSN"    // user:pass@tcp(127.0.0.1:3306)/db
	StrictVar   = "SQLSESSION_TEST_STRICT"       // "1": missing databases fail instead of skipping
)

// Strict reports whether missing databases are failures.
func Strict() bool { return os.Getenv(StrictVar) == "1" }

// Unavailable skips the test, or fails it in strict mode, with the reason.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if Strict() {
		t.Fatalf("strict mode: "+format, args...)
	}
	t.Skipf(format, args...)
}

// DSN returns the value of the environment variable env, or skips the test
// (fails it in strict mode) when it is unset.
func DSN(t testing.TB, env string) string {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		Unavailable(t, "set %s to run this test against a real server", env)
	}
	return v
}

// Open opens db with driver and dsn and pings it, skipping the test (failing
// it in strict mode) when the server cannot be reached. The db is closed when
// t ends.
func Open(t testing.TB, driver, env string) *sql.DB {
	t.Helper()
	dsn := DSN(t, env)
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatalf("sql.Open(%q, $%s) = %v", driver, env, err)
	}
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		Unavailable(t, "server of %s unreachable: %v", env, err)
	}
	return db
}

// Name returns a fresh identifier with the given prefix, such as
// "t_9f86d081884c7d65", for tables and schemas no other test uses.
func Name(prefix string) string {
	var b [8]byte
	rand.Read(b[:])
	return prefix + "_" + hex.EncodeToString(b[:])
}
