package dsn

import (
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/sqlsession/sqlsession"
)

// Driver names, as the drivers register themselves with database/sql: the
// first argument of [database/sql.Open].
const (
	DriverPostgres  = "pgx"       // github.com/jackc/pgx/v5/stdlib
	DriverMySQL     = "mysql"     // github.com/go-sql-driver/mysql
	DriverSQLServer = "sqlserver" // github.com/microsoft/go-mssqldb
	DriverSQLite    = "sqlite"    // modernc.org/sqlite
)

// driverImports names the package that registers each driver.
var driverImports = map[string]string{
	DriverPostgres:  "github.com/jackc/pgx/v5/stdlib",
	DriverMySQL:     "github.com/go-sql-driver/mysql",
	DriverSQLServer: "github.com/microsoft/go-mssqldb",
	DriverSQLite:    "modernc.org/sqlite",
}

// SQLiteBusyTimeout is the pragma that [Parse] adds to a SQLite DSN that
// sets no busy timeout of its own: a writer waits up to five seconds for
// another instead of failing with "database is locked".
const SQLiteBusyTimeout = "_pragma=busy_timeout(5000)"

// Source is a parsed DSN: what to pass to [database/sql.Open] and the
// dialect of the database it reaches. The zero value is not valid; get one
// from [Parse].
type Source struct {
	// Driver is the database/sql driver name: one of DriverPostgres,
	// DriverMySQL, DriverSQLServer and DriverSQLite.
	Driver string
	// DSN is the connection string in the driver's own format. It holds
	// the password, if any: show Redacted instead.
	DSN string
	// Dialect is the sqlsession dialect of the database.
	Dialect sqlsession.Dialect
	// Redacted is the DSN as given, with its password replaced by
	// "xxxxx", for messages and logs.
	Redacted string
	// File is the database file of a SQLite source, as written in the
	// DSN; "" for an in-memory database and for the other databases.
	File string
}

// String returns s.Redacted, so that printing a Source never shows the
// password.
func (s Source) String() string { return s.Redacted }

// Parse reads a DSN in any of the forms listed in the package
// documentation. It does no I/O. Its errors wrap [ErrInvalid] or
// [ErrUnsupported] and never hold the password.
func Parse(s string) (Source, error) {
	if strings.TrimSpace(s) == "" {
		return Source{}, fmt.Errorf("%w: empty", ErrInvalid)
	}
	// A file: URI first: its path may hold anything, "://" included.
	if hasPrefixFold(s, "file:") {
		return sqliteSource(s)
	}
	if scheme, rest, ok := cutScheme(s); ok {
		switch strings.ToLower(scheme) {
		case "postgres", "postgresql":
			return postgresURL(s)
		case "mysql", "mariadb":
			return mysqlURL(s)
		case "sqlserver":
			return sqlserverURL(s)
		case "sqlite", "sqlite3":
			return sqliteSource(rest)
		}
		return Source{}, fmt.Errorf("%w %q: want postgres://, postgresql://, mysql://, sqlserver://, sqlite://, file: or a SQLite file path", ErrUnsupported, scheme)
	}
	switch {
	case isKeyValue(s):
		return Source{Driver: DriverPostgres, DSN: s, Dialect: sqlsession.Postgres, Redacted: redactKeyValue(s)}, nil
	case isMySQLDriverForm(s):
		return mysqlDriverForm(s)
	case isBareAddress(s):
		return Source{}, fmt.Errorf("%w: a server address without a scheme: write mysql://user:pass@host:3306/db, user:pass@tcp(host:3306)/db or postgres://user:pass@host:5432/db", ErrInvalid)
	}
	return sqliteSource(s)
}

// Open opens the source with [database/sql.Open], which does not connect.
// Its error wraps [ErrDriverMissing], naming the import to add, when the
// program does not link the driver.
func (s Source) Open() (*sql.DB, error) {
	if s.Driver == "" {
		return nil, fmt.Errorf("%w: the zero Source; get one from Parse", ErrInvalid)
	}
	if !slices.Contains(sql.Drivers(), s.Driver) {
		return nil, fmt.Errorf("%w: %q; add the blank import _ %q", ErrDriverMissing, s.Driver, driverImports[s.Driver])
	}
	db, err := sql.Open(s.Driver, s.DSN)
	if err != nil {
		return nil, fmt.Errorf("dsn: open %s: %w", s.Redacted, err)
	}
	return db, nil
}

// WithPragma returns s with the SQLite pragma name set to value, such as
// WithPragma("journal_mode", "WAL"), unless the DSN sets that pragma
// already. Other sources are returned unchanged.
func (s Source) WithPragma(name, value string) Source {
	if s.Driver != DriverSQLite || hasPragma(s.DSN, name) {
		return s
	}
	s.DSN += "&_pragma=" + name + "(" + value + ")"
	return s
}

// hasPragma reports whether the query of a SQLite DSN sets the pragma.
func hasPragma(dsn, name string) bool {
	_, query, _ := strings.Cut(dsn, "?")
	return strings.Contains(strings.ToLower(query), "_pragma="+strings.ToLower(name))
}

// cutScheme splits "scheme://rest" when scheme is a URL scheme (RFC 3986:
// a letter, then letters, digits, "+", "-" or ".").
func cutScheme(s string) (scheme, rest string, ok bool) {
	scheme, rest, ok = strings.Cut(s, "://")
	if !ok || scheme == "" {
		return "", "", false
	}
	for i, r := range scheme {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (i == 0 || !(r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.')) {
			return "", "", false
		}
	}
	return scheme, rest, true
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// invalid wraps ErrInvalid with the reason of a parser error, leaving out
// the DSN that url.Parse puts in its messages.
func invalid(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("%w: %v", ErrInvalid, err)
}

func postgresURL(s string) (Source, error) {
	if _, err := url.Parse(s); err != nil && !multiHost(s) {
		return Source{}, invalid(err)
	}
	return Source{Driver: DriverPostgres, DSN: s, Dialect: sqlsession.Postgres, Redacted: redactURL(s)}, nil
}

// multiHost reports whether a URL names several hosts, as libpq and pgx
// allow (postgres://h1:5432,h2:5432/db), which net/url does not parse.
func multiHost(s string) bool {
	_, rest, _ := strings.Cut(s, "://")
	authority, _, _ := cutAny(rest, "/?#")
	return strings.Contains(authority, ",")
}

func sqlserverURL(s string) (Source, error) {
	if _, err := url.Parse(s); err != nil {
		return Source{}, invalid(err)
	}
	return Source{Driver: DriverSQLServer, DSN: s, Dialect: sqlsession.SQLServer, Redacted: redactURL(s)}, nil
}

// mysqlURL turns mysql://user:password@host:port/database?params into
// go-sql-driver's user:password@tcp(host:port)/database?params. A socket
// parameter connects through that Unix socket instead; with neither host
// nor port, the server is 127.0.0.1:3306.
func mysqlURL(s string) (Source, error) {
	u, err := url.Parse(s)
	if err != nil {
		return Source{}, invalid(err)
	}
	q := u.Query()
	socket := q.Get("socket")
	q.Del("socket")
	cfg := mysql.NewConfig()
	if len(q) > 0 {
		if cfg, err = mysql.ParseDSN("/?" + q.Encode()); err != nil {
			return Source{}, fmt.Errorf("%w: %v", ErrInvalid, err)
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
	out := cfg.FormatDSN()
	// The driver's form has no escapes: a user, database or address that
	// would read back as something else cannot be written in it.
	back, err := mysql.ParseDSN(out)
	if err != nil || back.User != cfg.User || back.Passwd != cfg.Passwd || back.Net != cfg.Net || back.Addr != cfg.Addr || back.DBName != cfg.DBName {
		return Source{}, fmt.Errorf("%w: the user, database or address of this MySQL URL cannot be written in the driver's form", ErrInvalid)
	}
	return Source{Driver: DriverMySQL, DSN: out, Dialect: sqlsession.MySQL, Redacted: redactURL(s)}, nil
}

// mysqlNet matches the [net[(addr)]] part of go-sql-driver's DSN with one
// of the driver's own networks; mysqlCustomNet one registered with
// mysql.RegisterDialContext, which always has an address.
var (
	mysqlNet       = regexp.MustCompile(`^(tcp|tcp4|tcp6|unix)(\(.*\))?$`)
	mysqlCustomNet = regexp.MustCompile(`^[a-z][a-z0-9_]*\(.*\)$`)
)

// mysqlSplit splits s as go-sql-driver does: at its last "/", then the
// part before it at its last "@". at is -1 without an "@"; ok is false
// without a "/".
func mysqlSplit(s string) (at int, netAddr string, ok bool) {
	slash := strings.LastIndexByte(s, '/')
	if slash < 0 {
		return -1, "", false
	}
	at = strings.LastIndexByte(s[:slash], '@')
	return at, s[at+1 : slash], true
}

// isMySQLDriverForm reports whether s is written in go-sql-driver's own
// form, [user[:password]@][net[(addr)]]/dbname[?params], with an "@" or a
// network and address that no file path has: user:pw@tcp(h:3306)/db,
// tcp(h:3306)/db, user@/db.
func isMySQLDriverForm(s string) bool {
	at, netAddr, ok := mysqlSplit(s)
	switch {
	case !ok:
		return false
	case at < 0:
		return strings.Contains(netAddr, "(") && mysqlNet.MatchString(netAddr)
	}
	return netAddr == "" || mysqlNet.MatchString(netAddr) || mysqlCustomNet.MatchString(netAddr)
}

func mysqlDriverForm(s string) (Source, error) {
	if _, err := mysql.ParseDSN(s); err != nil {
		return Source{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	// The password runs from the first ":" to the last "@" before the
	// last "/", as the driver reads it.
	redacted := s
	if at, _, _ := mysqlSplit(s); at >= 0 {
		if colon := strings.IndexByte(s[:at], ':'); colon >= 0 {
			redacted = s[:colon+1] + "xxxxx" + s[at:]
		}
	}
	return Source{Driver: DriverMySQL, DSN: s, Dialect: sqlsession.MySQL, Redacted: redacted}, nil
}

// isBareAddress reports whether s looks like user@host/db: a server
// address that lost its scheme, not a file.
func isBareAddress(s string) bool {
	first, _, _ := strings.Cut(s, "/")
	return strings.Contains(first, "@")
}

// libpqKeys are the libpq connection keywords that start a key/value DSN.
var libpqKeys = []string{
	"host", "hostaddr", "port", "dbname", "user", "password", "passfile", "service",
	"sslmode", "sslcert", "sslkey", "sslrootcert", "connect_timeout",
	"application_name", "target_session_attrs", "options",
}

var keyValueStart = regexp.MustCompile(`^\s*([a-z_]+)\s*=`)

// isKeyValue reports whether s is a libpq key/value string, such as
// "host=db user=app dbname=app".
func isKeyValue(s string) bool {
	m := keyValueStart.FindStringSubmatch(s)
	return m != nil && slices.Contains(libpqKeys, m[1])
}

var keyValuePassword = regexp.MustCompile(`(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'?|\S*)`)

func redactKeyValue(s string) string {
	return keyValuePassword.ReplaceAllString(s, "${1}xxxxx")
}

// redactURL replaces the password of a URL, in its user information and in
// a password parameter, with "xxxxx". It works on the text, so it also
// serves URLs that net/url refuses (several hosts).
func redactURL(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	authority, tail, sep := cutAny(rest, "/?#")
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		if user, _, hasPass := strings.Cut(authority[:at], ":"); hasPass {
			authority = user + ":xxxxx" + authority[at:]
		}
	}
	out := scheme + "://" + authority
	if sep == 0 {
		return out
	}
	tail = string(sep) + tail
	path, query, hasQuery := strings.Cut(tail, "?")
	if !hasQuery {
		return out + tail
	}
	query, fragment, hasFragment := strings.Cut(query, "#")
	params := strings.Split(query, "&")
	for i, p := range params {
		if k, _, ok := strings.Cut(p, "="); ok && strings.EqualFold(k, "password") {
			params[i] = k + "=xxxxx"
		}
	}
	out += path + "?" + strings.Join(params, "&")
	if hasFragment {
		out += "#" + fragment
	}
	return out
}

// cutAny cuts s at the first byte of any of seps, returning that byte too
// (0 when there is none).
func cutAny(s, seps string) (before, after string, sep byte) {
	if i := strings.IndexAny(s, seps); i >= 0 {
		return s[:i], s[i+1:], s[i]
	}
	return s, "", 0
}

// sqliteSource opens a file path or a file: URI with modernc.org/sqlite,
// adding a busy timeout unless the DSN sets one.
func sqliteSource(s string) (Source, error) {
	src := Source{Driver: DriverSQLite, Dialect: sqlsession.SQLite, Redacted: s}
	name, query, _ := strings.Cut(s, "?")
	if rest, ok := cutPrefixFold(name, "file:"); ok {
		name = rest
		if after, ok := strings.CutPrefix(name, "//"); ok {
			// file://host/path: SQLite takes only an empty or "localhost"
			// host; file://name (no path) is read as a relative name.
			if i := strings.IndexByte(after, '/'); i >= 0 {
				name = after[i:]
			} else {
				name = after
			}
		}
	}
	if name == "" {
		return Source{}, fmt.Errorf("%w: no SQLite file name (use :memory: for a database in memory)", ErrInvalid)
	}
	if strings.HasPrefix(name, "//") {
		// A path with leading slashes would read as file://authority.
		name = "/" + strings.TrimLeft(name, "/")
	}
	if name != ":memory:" && !strings.Contains(query, "mode=memory") {
		src.File = name
	}
	if !strings.Contains(query, "busy_timeout") {
		query = joinQuery(query, SQLiteBusyTimeout)
	}
	src.DSN = "file:" + name + "?" + query
	return src, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if hasPrefixFold(s, prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

func joinQuery(a, b string) string {
	if a == "" {
		return b
	}
	return a + "&" + b
}
