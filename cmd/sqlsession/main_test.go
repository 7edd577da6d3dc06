package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// result is what one run of the command printed and returned.
type result struct {
	code           int
	stdout, stderr string
}

// runCmd runs the command line in-process, as main does, with no
// environment.
func runCmd(t *testing.T, args ...string) result {
	t.Helper()
	return runWith(t, t.Context(), nil, args...)
}

// runWith is runCmd with a context and, when tee is not nil, stdout copied
// to tee as it is written.
func runWith(t *testing.T, ctx context.Context, tee io.Writer, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	var w io.Writer = &stdout
	if tee != nil {
		w = io.MultiWriter(&stdout, tee)
	}
	c := &cli{stdout: w, stderr: &stderr, getenv: func(string) string { return "" }}
	code := c.main(ctx, args)
	return result{code, stdout.String(), stderr.String()}
}

// closedPort returns an address on the loopback interface that nothing
// listens on: it was free a moment ago.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// checkOneLine checks that an error was reported as one line on stderr,
// starting with "sqlsession: " and holding want, and nothing on stdout.
func checkOneLine(t *testing.T, args []string, r result, code int, want string) {
	t.Helper()
	if r.code != code {
		t.Errorf("run(%q) = %d, want %d (stderr %q)", args, r.code, code, r.stderr)
	}
	if !strings.HasPrefix(r.stderr, "sqlsession: ") || strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") {
		t.Errorf("run(%q) stderr = %q, want one line starting with %q", args, r.stderr, "sqlsession: ")
	}
	if !strings.Contains(r.stderr, want) {
		t.Errorf("run(%q) stderr = %q, want it to contain %q", args, r.stderr, want)
	}
	for _, bad := range []string{"goroutine ", "panic", ".go:"} {
		if strings.Contains(r.stderr, bad) {
			t.Errorf("run(%q) stderr = %q: looks like a stack trace", args, r.stderr)
		}
	}
	if r.stdout != "" {
		t.Errorf("run(%q) stdout = %q, want nothing", args, r.stdout)
	}
}

// TestErrors runs command lines that must fail with one clear line.
func TestErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.db")
	if r := runCmd(t, "create-table", "--dsn", filepath.Join(dir, "other.db"), "--table", "other"); r.code != 0 {
		t.Fatalf("create-table = %d, %q", r.code, r.stderr)
	}
	// An empty SQLite database: a file with no session table.
	if r := runCmd(t, "create-table", "--dsn", empty, "--table", "x"); r.code != 0 {
		t.Fatalf("create-table = %d, %q", r.code, r.stderr)
	}
	closed := closedPort(t)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no command", nil, exitUsage, "usage: sqlsession"},
		{"unknown command", []string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{"unknown flag", []string{"stats", "--bogus"}, exitUsage, "flag provided but not defined: -bogus"},
		{"argument", []string{"stats", "--dsn", empty, "extra"}, exitUsage, `unexpected argument "extra"`},
		{"no dsn", []string{"stats"}, exitUsage, "--dsn is required"},
		{"no owner", []string{"list", "--dsn", empty}, exitUsage, "--owner is required"},
		{"bad batch", []string{"cleanup", "--dsn", empty, "--batch", "0"}, exitUsage, "--batch must be positive"},
		{"bad scheme", []string{"stats", "--dsn", "redis://127.0.0.1:6379"}, exitUsage, `--dsn: unsupported scheme "redis"`},
		{"bad url", []string{"stats", "--dsn", "postgres://u:secret@127.0.0.1:bad/db"}, exitUsage, "--dsn: invalid DSN"},
		{"address without scheme", []string{"stats", "--dsn", "u:secret@127.0.0.1:3306/db"}, exitUsage, "without a scheme"},
		{"empty table", []string{"stats", "--dsn", empty, "--table", ""}, exitUsage, "--table must not be empty"},
		{"empty table demo", []string{"demo", "--dsn", empty, "--table", ""}, exitUsage, "--table must not be empty"},
		{"bad connect timeout", []string{"stats", "--dsn", empty, "--connect-timeout", "0s"}, exitUsage, "--connect-timeout must be positive"},
		{"no sqlite file", []string{"stats", "--dsn", filepath.Join(dir, "missing.db")}, exitFailure, "missing.db\" does not exist"},
		{"missing table", []string{"stats", "--dsn", empty}, exitFailure, "table sessions does not exist in "},
		{"missing table cleanup", []string{"cleanup", "--dsn", "sqlite://" + empty, "--table", "nope"}, exitFailure, "table nope does not exist"},
		{"missing table list", []string{"list", "--dsn", "file:" + empty, "--owner", "ada"}, exitFailure, "table sessions does not exist"},
		{"no owner column", []string{"list", "--dsn", empty, "--table", "x", "--owner", "ada"}, exitFailure, "table x has no owner column"},
		{"unsafe table", []string{"stats", "--dsn", empty, "--table", "x; DROP TABLE x"}, exitUsage, "unsafe identifier"},
		{"unsafe table demo", []string{"demo", "--dsn", empty, "--table", "x y"}, exitUsage, "unsafe identifier"},
		{"unsafe schema", []string{"create-table", "--dsn", empty, "--schema", "a.b"}, exitUsage, "unsafe identifier"},
		{"refused postgres", []string{"stats", "--dsn", "postgres://u:secret@" + closed + "/db?sslmode=disable"}, exitFailure, "connection refused"},
		{"refused mysql", []string{"stats", "--dsn", "mysql://u:secret@" + closed + "/db"}, exitFailure, "connection refused"},
		{"refused mysql driver form", []string{"stats", "--dsn", "u:secret@tcp(" + closed + ")/db"}, exitFailure, "connection refused"},
		{"refused sqlserver", []string{"stats", "--dsn", "sqlserver://u:secret@" + closed + "?database=db&dial+timeout=5"}, exitFailure, "cannot connect to sqlserver://"},
		{"refused create-table", []string{"create-table", "--dsn", "postgresql://u@" + closed + "/db?sslmode=disable"}, exitFailure, "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCmd(t, tt.args...)
			if tt.name == "no command" {
				if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
					t.Errorf("run() = %d, stderr %q, want %d and the usage", r.code, r.stderr, tt.code)
				}
				return
			}
			checkOneLine(t, tt.args, r, tt.code, tt.want)
			if strings.Contains(r.stderr, "secret") {
				t.Errorf("run(%q) stderr = %q: shows the password", tt.args, r.stderr)
			}
		})
	}
}

// TestHelp checks that help goes to stdout with status 0.
func TestHelp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"help"}, "create-table"},
		{[]string{"-h"}, "cleanup"},
		{[]string{"stats", "-h"}, "usage: sqlsession stats"},
		{[]string{"cleanup", "--help"}, "-batch N"},
		{[]string{"demo", "-h"}, "-addr address"},
		{[]string{"stats", "-h"}, "-connect-timeout duration\n    \ttime limit for connecting to the database (default 10s)"},
	}
	for _, tt := range tests {
		r := runCmd(t, tt.args...)
		if r.code != 0 || !strings.Contains(r.stdout, tt.want) || r.stderr != "" {
			t.Errorf("run(%q) = %d, stdout %q, stderr %q; want 0, stdout with %q, no stderr", tt.args, r.code, r.stdout, r.stderr, tt.want)
		}
	}
}

// silentServer returns the address of a server that accepts connections
// and never answers, as a hung database or a black-holed port would.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// TestConnectTimeout checks that a server that never answers costs
// --connect-timeout, not a hidden wait, with every driver.
func TestConnectTimeout(t *testing.T) {
	t.Parallel()
	addr := silentServer(t)
	tests := []struct{ name, dsn string }{
		{"postgres", "postgres://u:secret@" + addr + "/db?sslmode=disable"},
		{"mysql", "mysql://u:secret@" + addr + "/db"},
		{"mysql driver form", "u:secret@tcp(" + addr + ")/db"},
		{"sqlserver", "sqlserver://u:secret@" + addr + "?database=db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"stats", "--dsn", tt.dsn, "--connect-timeout", "300ms"}
			start := time.Now()
			r := runCmd(t, args...)
			took := time.Since(start)
			checkOneLine(t, args, r, exitFailure, "no answer within 300ms (--connect-timeout)")
			if strings.Contains(r.stderr, "secret") {
				t.Errorf("run(%q) stderr = %q: shows the password", args, r.stderr)
			}
			if took > 5*time.Second {
				t.Errorf("run(%q) took %v, want about 300ms", args, took)
			}
		})
	}
}

// TestVersion checks --version: the module's version on stdout.
func TestVersion(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"--version", "version", "-version"} {
		r := runCmd(t, arg)
		if r.code != 0 || r.stderr != "" || !strings.HasPrefix(r.stdout, "sqlsession "+version()+" go") {
			t.Errorf("run(%q) = %d, stdout %q, stderr %q; want 0 and %q", arg, r.code, r.stdout, r.stderr, "sqlsession "+version()+" go...")
		}
	}
}

// TestDSNFromEnv checks that SQLSESSION_DSN stands in for --dsn.
func TestDSNFromEnv(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "env.db")
	var stdout, stderr bytes.Buffer
	c := &cli{stdout: &stdout, stderr: &stderr, getenv: func(k string) string {
		if k == dsnVar {
			return path
		}
		return ""
	}}
	if code := c.main(t.Context(), []string{"create-table"}); code != 0 || !strings.Contains(stdout.String(), "ready") {
		t.Errorf("create-table with $%s = %d, %q, %q, want 0 and ready", dsnVar, code, stdout.String(), stderr.String())
	}
}

// TestOneLine checks how driver errors are flattened.
func TestOneLine(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"sqlsession: create table: boom", "create table: boom"},
		{"failed to connect to `user=u`:\n\t127.0.0.1:1: refused\n\t127.0.0.1:1: refused", "failed to connect to `user=u`: 127.0.0.1:1: refused"},
		{"a\r\nb", "a; b"},
	}
	for _, tt := range tests {
		if got := oneLine(tt.in); got != tt.want {
			t.Errorf("oneLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestRelative checks the durations of the terminal output.
func TestRelative(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "now"},
		{30 * time.Second, "in 30s"},
		{-5 * time.Minute, "5m ago"},
		{3*time.Hour + 2*time.Minute, "in 3h02m"},
		{-(30*24*time.Hour + 5*time.Hour), "30d05h ago"},
	}
	for _, tt := range tests {
		if got := relative(now.Add(tt.d), now); got != tt.want {
			t.Errorf("relative(now%+v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestPrintable(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{{"ada", "ada"}, {"Zoë ⛵", "Zoë ⛵"}, {"a\x1b[31mred", "a?[31mred"}, {"tab\tnl\n", "tab?nl?"}}
	for _, tt := range tests {
		if got := printable(tt.in); got != tt.want {
			t.Errorf("printable(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestBytes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n    int64
		want string
	}{{0, "0 B"}, {1023, "1023 B"}, {1536, "1.5 KiB"}, {3 << 20, "3.0 MiB"}, {5 << 30, "5.0 GiB"}}
	for _, tt := range tests {
		if got := byteSize(tt.n); got != tt.want {
			t.Errorf("byteSize(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}
