// Package clustertest proves sqlsession on replicated and clustered
// databases and through outages, against real servers on 127.0.0.1:
//
//   - a private PostgreSQL and a private MariaDB, stopped and started again
//     under load ([PGPrivateDSN], [MariaDBPrivateDSN]);
//   - a PostgreSQL primary with a hot standby: replica reads with
//     [sqlsession.Options.Replica], then failover to the promoted standby
//     through a multi-host DSN ([PGReplPrimaryDSN], [PGReplStandbyDSN],
//     [PGReplFailoverDSN]);
//   - a three-node MariaDB Galera cluster: causal reads, certification
//     conflicts and retries, sweepers on different nodes, a node killed
//     under load ([GaleraDSNs]).
//
// scripts/cluster starts each setup and prints its variables;
// scripts/test-cluster starts them all, runs these tests and stops every
// server again. A test whose variable is unset skips, naming it, unless
// SQLSESSION_TEST_CLUSTER=1 ([ClusterVar]), which makes it a failure. The
// usual SQLSESSION_TEST_STRICT=1 does not force these tests: the normal CI
// runs without clusters.
//
// The concurrency test (no lost or resurrected sessions) needs no cluster:
// it runs on the ordinary test databases of internal/dbtest.
//
// # Quick start
//
//	eval "$(scripts/cluster up galera)"
//	(cd internal/clustertest && go test -race -run Galera -v)
//	scripts/cluster down galera
package clustertest

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Environment variables read by the cluster tests. scripts/cluster prints
// them.
const (
	// ClusterVar set to "1" turns a missing or unreachable cluster into a
	// failure instead of a skip.
	ClusterVar = "SQLSESSION_TEST_CLUSTER"
	// DirVar is where scripts/cluster keeps its setups; the tests hand it
	// on when they stop and start servers.
	DirVar = "SQLSESSION_CLUSTER_DIR"

	PGPrivateDSN      = "SQLSESSION_CLUSTER_PGPRIVATE_DSN"      // postgres://postgres@127.0.0.1:P/sqlsession?sslmode=disable
	MariaDBPrivateDSN = "SQLSESSION_CLUSTER_MARIADBPRIVATE_DSN" // user:pass@tcp(127.0.0.1:P)/sqlsession
	PGReplPrimaryDSN  = "SQLSESSION_CLUSTER_PGREPL_PRIMARY_DSN"
	PGReplStandbyDSN  = "SQLSESSION_CLUSTER_PGREPL_STANDBY_DSN"
	// PGReplFailoverDSN names both servers, with
	// target_session_attrs=read-write: pgx connects to whichever accepts
	// writes.
	PGReplFailoverDSN = "SQLSESSION_CLUSTER_PGREPL_FAILOVER_DSN"
	// GaleraDSNs holds one DSN per node, comma-separated.
	GaleraDSNs = "SQLSESSION_CLUSTER_GALERA_DSNS"
)

// Required reports whether cluster tests must run (SQLSESSION_TEST_CLUSTER=1).
func Required() bool { return os.Getenv(ClusterVar) == "1" }

// Unavailable skips the test with the reason, or fails it when [Required].
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if Required() {
		t.Fatalf(ClusterVar+"=1: "+format, args...)
	}
	t.Skipf(format, args...)
}

// Env returns the value of the environment variable name, or skips the test
// (fails it when [Required]) when it is unset.
func Env(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		Unavailable(t, "set %s to run this cluster test (scripts/cluster up prints it)", name)
	}
	return v
}

// Open opens dsn with driver and pings it, skipping the test (failing it
// when [Required]) when the server does not answer. name is the variable
// the DSN came from, for the message. The pool is closed when t ends.
func Open(t testing.TB, driver, dsn, name string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatalf("sql.Open(%q, $%s) = %v", driver, name, err)
	}
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		Unavailable(t, "server of %s unreachable: %v", name, err)
	}
	return db
}

// WithParam adds a query parameter to a DSN of pgx or go-sql-driver/mysql.
func WithParam(dsn, param string) string {
	if strings.Contains(dsn, "?") {
		return dsn + "&" + param
	}
	return dsn + "?" + param
}

// Control runs scripts/cluster with args (such as "stop", "pg-private",
// "--kill") and fails the test if it fails. It returns how long it took.
func Control(t testing.TB, args ...string) time.Duration {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "scripts", "cluster")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{script}, args...)...)
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		t.Fatalf("scripts/cluster %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return took
}
