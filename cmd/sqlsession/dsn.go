package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"  // PostgreSQL, driver "pgx"
	_ "github.com/microsoft/go-mssqldb" // SQL Server, driver "sqlserver"
	_ "modernc.org/sqlite"              // SQLite, pure Go, driver "sqlite"

	"github.com/sqlsession/sqlsession"
)

// source is a parsed --dsn: which driver opens it, with what, and how to
// name it in messages.
type source struct {
	driver  string
	dsn     string // in the driver's own format
	dialect sqlsession.Dialect
	display string // the DSN without its password
	file    string // SQLite: the database file; "" for an in-memory one
}

// busyTimeout is the pragma every SQLite connection gets unless the DSN
// sets its own: wait for a writer instead of failing with "database is
// locked".
const busyTimeout = "_pragma=busy_timeout(5000)"

// parseDSN picks the driver from the DSN's scheme. It does no I/O.
func parseDSN(s string) (source, error) {
	if s == "" {
		return source{}, errors.New("empty DSN")
	}
	scheme, _, hasScheme := strings.Cut(s, "://")
	if !hasScheme {
		if strings.HasPrefix(s, "file:") {
			return sqliteSource(s), nil
		}
		if strings.Contains(s, "@tcp(") || strings.Contains(s, "@unix(") {
			return source{}, errors.New("this looks like a go-sql-driver DSN; write it as mysql://user:password@host:3306/database")
		}
		return sqliteSource(s), nil
	}
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		u, err := parseURL(s)
		if err != nil {
			return source{}, err
		}
		return source{driver: "pgx", dsn: s, dialect: sqlsession.Postgres, display: u.Redacted()}, nil
	case "mysql", "mariadb":
		return mysqlSource(s)
	case "sqlserver":
		u, err := parseURL(s)
		if err != nil {
			return source{}, err
		}
		return source{driver: "sqlserver", dsn: s, dialect: sqlsession.SQLServer, display: u.Redacted()}, nil
	case "sqlite", "sqlite3":
		return sqliteSource(s[len(scheme)+len("://"):]), nil
	case "file":
		return sqliteSource(s), nil
	}
	return source{}, fmt.Errorf("unsupported DSN scheme %q: want postgres://, postgresql://, mysql://, sqlserver://, sqlite:// or a SQLite file path", scheme)
}

// parseURL parses a URL DSN. Its error leaves out the DSN, which may hold a
// password.
func parseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, errors.New("invalid DSN: " + err.Error())
	}
	return u, nil
}

// mysqlSource turns mysql://user:password@host:port/database?params into
// go-sql-driver's user:password@tcp(host:port)/database?params. A socket
// parameter connects through that Unix socket instead.
func mysqlSource(s string) (source, error) {
	u, err := parseURL(s)
	if err != nil {
		return source{}, err
	}
	q := u.Query()
	socket := q.Get("socket")
	q.Del("socket")
	cfg := mysql.NewConfig()
	if len(q) > 0 {
		if cfg, err = mysql.ParseDSN("/?" + q.Encode()); err != nil {
			return source{}, errors.New("invalid DSN: " + err.Error())
		}
	}
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	switch {
	case socket != "":
		cfg.Net, cfg.Addr = "unix", socket
	case u.Port() != "":
		cfg.Net, cfg.Addr = "tcp", u.Host
	default:
		host := u.Hostname()
		if host == "" {
			host = "127.0.0.1"
		}
		cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(host, "3306")
	}
	return source{driver: "mysql", dsn: cfg.FormatDSN(), dialect: sqlsession.MySQL, display: u.Redacted()}, nil
}

// sqliteSource opens a file path or a file: URI with modernc.org/sqlite,
// adding a busy timeout unless the DSN sets one.
func sqliteSource(s string) source {
	src := source{driver: "sqlite", dialect: sqlsession.SQLite, display: s}
	name, query, _ := strings.Cut(s, "?")
	if rest, ok := strings.CutPrefix(name, "file:"); ok {
		name = rest
		if after, ok := strings.CutPrefix(name, "//"); ok {
			// file://host/path: only an empty or "localhost" host is valid.
			if i := strings.IndexByte(after, '/'); i >= 0 {
				name = after[i:]
			}
		}
	}
	if name != ":memory:" && name != "" && !strings.Contains(query, "mode=memory") {
		src.file = name
	}
	if !strings.Contains(query, "busy_timeout") {
		query = joinQuery(query, busyTimeout)
	}
	src.dsn = "file:" + name + "?" + query
	return src
}

// withPragma returns src with a further SQLite pragma, unless the DSN sets
// that one already.
func (src source) withPragma(name, value string) source {
	if src.driver != "sqlite" || strings.Contains(src.dsn, name) {
		return src
	}
	src.dsn += "&_pragma=" + name + "(" + value + ")"
	return src
}

// checkFile reports a SQLite database file that does not exist, which the
// driver would otherwise create empty.
func (src source) checkFile() error {
	if src.file == "" {
		return nil
	}
	if _, err := os.Stat(src.file); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("SQLite file %q does not exist", src.file)
		}
		return err
	}
	return nil
}

func joinQuery(a, b string) string {
	if a == "" {
		return b
	}
	return a + "&" + b
}
