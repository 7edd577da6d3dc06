package dsn

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/sqlsession/sqlsession"
)

// FuzzParse feeds Parse any string. It must not panic; what it accepts must
// be one of the four drivers with its dialect, parse again to itself (its
// DSN is a valid input, naming the same database), and keep a password out
// of Redacted and of errors.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"postgres://u:pw@db:5432/app?sslmode=disable",
		"postgresql://u@h1:5432,h2:5432/app?target_session_attrs=read-write",
		"postgres://u@db/app?password=secret",
		"host=db user=app password='se cret' dbname=app",
		"mysql://u:p%40ss@db:3307/app?tls=skip-verify",
		"mysql://root@localhost/app?socket=/run/mysqld/mysqld.sock",
		"mysql://root@[::1]/app",
		"mariadb://root@/app",
		"u:pw@tcp(127.0.0.1:3306)/app?parseTime=true",
		"root@unix(/run/mysqld/mysqld.sock)/app",
		"tcp(db)/app",
		"root@/app",
		"root:pw@localhost:3306/app",
		"sqlserver://sa:pw@db:1433?database=app",
		"sqlite://sessions.db",
		"sqlite3:///abs/sessions.db",
		"file:sessions.db?_pragma=busy_timeout(100)",
		"file:///abs/s.db?mode=ro",
		"file://s.db",
		"file:mem?mode=memory",
		":memory:",
		"sessions.db",
		"//srv/s.db",
		"backup(1)/s.db",
		"redis://x",
		"",
	} {
		f.Add(s)
	}
	drivers := map[string]sqlsession.Dialect{
		DriverPostgres:  sqlsession.Postgres,
		DriverMySQL:     sqlsession.MySQL,
		DriverSQLServer: sqlsession.SQLServer,
		DriverSQLite:    sqlsession.SQLite,
	}
	f.Fuzz(func(t *testing.T, s string) {
		src, err := Parse(s)
		if pw := password(s); pw != "" {
			if err != nil && strings.Contains(err.Error(), pw) {
				t.Errorf("Parse(%q) = %v: shows the password %q", s, err, pw)
			}
			if err == nil && strings.Contains(src.Redacted, pw) {
				t.Errorf("Parse(%q).Redacted = %q: shows the password %q", s, src.Redacted, pw)
			}
		}
		if err != nil {
			return
		}
		if d, ok := drivers[src.Driver]; !ok || d != src.Dialect {
			t.Fatalf("Parse(%q) = driver %q, dialect %v: not a supported pair", s, src.Driver, src.Dialect)
		}
		again, err := Parse(src.DSN)
		if err != nil {
			t.Fatalf("Parse(%q) = DSN %q, which does not parse: %v", s, src.DSN, err)
		}
		if again.Driver != src.Driver || again.DSN != src.DSN || again.File != src.File {
			t.Errorf("Parse(%q) = %+v, but Parse of its DSN = %+v", s, src, again)
		}
	})
}

// password returns the password in the user information of a URL s, when
// it is long enough and written once, literally, so that finding it
// elsewhere means it leaked.
func password(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.User == nil {
		return ""
	}
	pw, _ := u.User.Password()
	if len(pw) < 6 || strings.Count(s, pw) != 1 || slices.Contains([]string{"xxxxx"}, pw) || strings.Contains("xxxxx", pw) {
		return ""
	}
	return pw
}
