package nodee2e_test

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/internal/testenv"
)

// nodePackages are the packages server.js needs, as nodeapp/package.json
// lists them.
var nodePackages = []string{
	"express", "express-session", "connect-session-sequelize", "connect-pg-simple",
	"koa", "koa-generic-session", "koa-generic-session-sequelize", "koa-pg-session",
	"sequelize", "pg", "mysql2", "co",
}

// nodeDir returns the directory of server.js once node and the packages are
// found; otherwise it skips the test (fails it in strict mode).
func nodeDir(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		testenv.Unavailable(t, "node is not installed: %v", err)
	}
	dir, err := filepath.Abs("nodeapp")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range nodePackages {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", p, "package.json")); err != nil {
			testenv.Unavailable(t, "Node.js package %s is not installed (run npm ci --prefix internal/e2e/node/nodeapp): %v", p, err)
		}
	}
	return dir
}

// nodeConfig configures one Node.js application (see nodeapp/server.js).
type nodeConfig struct {
	App     string        // express-sequelize, express-pg, koa-sequelize or koa-pg
	DSN     string        // postgres://… or mysql://…
	Schema  string        // PostgreSQL schema; "" for the connection's
	Table   string        // the session table
	Secrets []string      // express secrets or koa keys; the first signs
	MaxAge  time.Duration // the cookie's maxAge; 0: the package's default
	Cleanup time.Duration // how often the store deletes expired rows; 0: never
}

// nodeApp is a running Node.js application.
type nodeApp struct {
	url string // http://127.0.0.1:PORT
}

// startNode starts the application configured by cfg and returns once it
// listens. It is stopped, by its pid, when t ends; its output is logged
// when t failed.
func startNode(t *testing.T, cfg nodeConfig) *nodeApp {
	t.Helper()
	dir := nodeDir(t)
	cmd := exec.Command("node", "server.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"APP="+cfg.App,
		"DSN="+cfg.DSN,
		"SCHEMA="+cfg.Schema,
		"TABLE="+cfg.Table,
		"SECRET="+strings.Join(cfg.Secrets, ","),
		"PORT=0",
	)
	if cfg.MaxAge > 0 {
		cmd.Env = append(cmd.Env, "MAX_AGE="+strconv.FormatInt(cfg.MaxAge.Milliseconds(), 10))
	}
	if cfg.Cleanup > 0 {
		cmd.Env = append(cmd.Env, "CLEANUP_MS="+strconv.FormatInt(cfg.Cleanup.Milliseconds(), 10))
	}
	out := &lineLog{listening: make(chan string, 1)}
	cmd.Stdout, cmd.Stderr = out, out
	// The application stops when its stdin closes, so it ends with this
	// process even if the cleanup below never runs.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting node: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	app := &nodeApp{}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("output of node %s (pid %d):\n%s", cfg.App, cmd.Process.Pid, out.String())
		}
	})
	select {
	case port := <-out.listening:
		app.url = "http://127.0.0.1:" + port
	case err := <-exited:
		exited <- err
		t.Fatalf("node %s exited before listening (%v):\n%s", cfg.App, err, out.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("node %s did not listen within 2 minutes:\n%s", cfg.App, out.String())
	}
	return app
}

// lineLog keeps a process's output and finds its "listening PORT" line.
type lineLog struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	seen      bool
	listening chan string
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if !l.seen {
		for line := range strings.Lines(l.buf.String()) {
			if port, ok := strings.CutPrefix(strings.TrimSpace(line), "listening "); ok {
				l.seen = true
				l.listening <- port
				break
			}
		}
	}
	return len(p), nil
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// nodeDSN returns the DSN of the test database of dialect d in the form the
// Node.js packages read.
func nodeDSN(t *testing.T, d sqlsession.Dialect) string {
	t.Helper()
	switch d {
	case sqlsession.Postgres:
		return testenv.DSN(t, testenv.PostgresDSN)
	case sqlsession.MySQL:
		cfg, err := mysql.ParseDSN(testenv.DSN(t, testenv.MySQLDSN))
		if err != nil {
			t.Fatalf("mysql.ParseDSN($%s) = %v", testenv.MySQLDSN, err)
		}
		if cfg.Net != "tcp" {
			t.Fatalf("$%s: the Node.js apps need a TCP address, not %q", testenv.MySQLDSN, cfg.Net)
		}
		u := url.URL{Scheme: "mysql", User: url.UserPassword(cfg.User, cfg.Passwd), Host: cfg.Addr, Path: "/" + cfg.DBName}
		return u.String()
	}
	t.Fatalf("no Node.js DSN for %v", d)
	return ""
}

// String names the configuration in failure messages.
func (c nodeConfig) String() string { return fmt.Sprintf("%s on table %s", c.App, c.Table) }
