package dsn

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"strings"
	"testing"

	"github.com/sqlsession/sqlsession"
)

func TestParse(t *testing.T) {
	t.Parallel()
	busy := SQLiteBusyTimeout
	tests := []struct {
		name     string
		in       string
		driver   string
		dialect  sqlsession.Dialect
		dsn      string
		redacted string
		file     string
	}{
		{"postgres url", "postgres://u:pw@db:5432/app?sslmode=disable", "pgx", sqlsession.Postgres, "postgres://u:pw@db:5432/app?sslmode=disable", "postgres://u:xxxxx@db:5432/app?sslmode=disable", ""},
		{"postgresql url", "postgresql://u@db/app", "pgx", sqlsession.Postgres, "postgresql://u@db/app", "postgresql://u@db/app", ""},
		{"postgres upper case scheme", "POSTGRES://u:pw@db/app", "pgx", sqlsession.Postgres, "POSTGRES://u:pw@db/app", "POSTGRES://u:xxxxx@db/app", ""},
		{"postgres several hosts", "postgres://u:pw@h1:5432,h2:5432/app?target_session_attrs=read-write", "pgx", sqlsession.Postgres, "postgres://u:pw@h1:5432,h2:5432/app?target_session_attrs=read-write", "postgres://u:xxxxx@h1:5432,h2:5432/app?target_session_attrs=read-write", ""},
		{"postgres password parameter", "postgres://u@db/app?password=pw&sslmode=disable", "pgx", sqlsession.Postgres, "postgres://u@db/app?password=pw&sslmode=disable", "postgres://u@db/app?password=xxxxx&sslmode=disable", ""},
		{"postgres password with @", "postgres://u:p%40ss@db/app", "pgx", sqlsession.Postgres, "postgres://u:p%40ss@db/app", "postgres://u:xxxxx@db/app", ""},
		{"libpq key/value", "host=db user=app password='se cret' dbname=app", "pgx", sqlsession.Postgres, "host=db user=app password='se cret' dbname=app", "host=db user=app password=xxxxx dbname=app", ""},
		{"mysql url", "mysql://u:p%40ss@db:3307/app", "mysql", sqlsession.MySQL, "u:p@ss@tcp(db:3307)/app", "mysql://u:xxxxx@db:3307/app", ""},
		{"mariadb url", "mariadb://u@db:3307/app", "mysql", sqlsession.MySQL, "u@tcp(db:3307)/app", "mariadb://u@db:3307/app", ""},
		{"mysql url default port", "mysql://root@db/app", "mysql", sqlsession.MySQL, "root@tcp(db:3306)/app", "mysql://root@db/app", ""},
		{"mysql url no host", "mysql://root@/app", "mysql", sqlsession.MySQL, "root@tcp(127.0.0.1:3306)/app", "mysql://root@/app", ""},
		{"mysql url socket", "mysql://root@localhost/app?socket=/run/mysqld/mysqld.sock", "mysql", sqlsession.MySQL, "root@unix(/run/mysqld/mysqld.sock)/app", "mysql://root@localhost/app?socket=/run/mysqld/mysqld.sock", ""},
		{"mysql url params", "mysql://root@db/app?tls=skip-verify", "mysql", sqlsession.MySQL, "root@tcp(db:3306)/app?tls=skip-verify", "mysql://root@db/app?tls=skip-verify", ""},
		{"mysql url slash in database", "mysql://root@db/a%2Fb", "mysql", sqlsession.MySQL, "root@tcp(db:3306)/a%2Fb", "mysql://root@db/a%2Fb", ""},
		{"mysql url ipv6", "mysql://root@[::1]:3306/app", "mysql", sqlsession.MySQL, "root@tcp([::1]:3306)/app", "mysql://root@[::1]:3306/app", ""},
		{"mysql driver form", "sqlsession:pw@tcp(127.0.0.1:3306)/sqlsession_test", "mysql", sqlsession.MySQL, "sqlsession:pw@tcp(127.0.0.1:3306)/sqlsession_test", "sqlsession:xxxxx@tcp(127.0.0.1:3306)/sqlsession_test", ""},
		{"mysql driver form params", "root@tcp(db:3306)/app?parseTime=true&timeout=5s", "mysql", sqlsession.MySQL, "root@tcp(db:3306)/app?parseTime=true&timeout=5s", "root@tcp(db:3306)/app?parseTime=true&timeout=5s", ""},
		{"mysql driver form socket", "root@unix(/run/mysqld/mysqld.sock)/app", "mysql", sqlsession.MySQL, "root@unix(/run/mysqld/mysqld.sock)/app", "root@unix(/run/mysqld/mysqld.sock)/app", ""},
		{"mysql driver form no user", "tcp(db:3306)/app", "mysql", sqlsession.MySQL, "tcp(db:3306)/app", "tcp(db:3306)/app", ""},
		{"mysql driver form defaults", "root@/app", "mysql", sqlsession.MySQL, "root@/app", "root@/app", ""},
		{"mysql driver form slash in password", "u:a/b@tcp(db)/app", "mysql", sqlsession.MySQL, "u:a/b@tcp(db)/app", "u:xxxxx@tcp(db)/app", ""},
		{"sqlserver url", "sqlserver://sa:pw@db:1433?database=app", "sqlserver", sqlsession.SQLServer, "sqlserver://sa:pw@db:1433?database=app", "sqlserver://sa:xxxxx@db:1433?database=app", ""},
		{"sqlite path", "sessions.db", "sqlite", sqlsession.SQLite, "file:sessions.db?" + busy, "sessions.db", "sessions.db"},
		{"sqlite absolute path", "/var/lib/app/sessions.db", "sqlite", sqlsession.SQLite, "file:/var/lib/app/sessions.db?" + busy, "/var/lib/app/sessions.db", "/var/lib/app/sessions.db"},
		{"sqlite relative dir", "data/sessions.db", "sqlite", sqlsession.SQLite, "file:data/sessions.db?" + busy, "data/sessions.db", "data/sessions.db"},
		{"sqlite dir with parentheses", "backup(1)/sessions.db", "sqlite", sqlsession.SQLite, "file:backup(1)/sessions.db?" + busy, "backup(1)/sessions.db", "backup(1)/sessions.db"},
		{"sqlite double slash", "//srv/sessions.db", "sqlite", sqlsession.SQLite, "file:/srv/sessions.db?" + busy, "//srv/sessions.db", "/srv/sessions.db"},
		{"sqlite url", "sqlite://sessions.db", "sqlite", sqlsession.SQLite, "file:sessions.db?" + busy, "sessions.db", "sessions.db"},
		{"sqlite3 url absolute", "sqlite3:///abs/sessions.db", "sqlite", sqlsession.SQLite, "file:/abs/sessions.db?" + busy, "/abs/sessions.db", "/abs/sessions.db"},
		{"file uri own timeout", "file:sessions.db?_pragma=busy_timeout(100)", "sqlite", sqlsession.SQLite, "file:sessions.db?_pragma=busy_timeout(100)", "file:sessions.db?_pragma=busy_timeout(100)", "sessions.db"},
		{"file uri absolute", "file:///abs/s.db?mode=ro", "sqlite", sqlsession.SQLite, "file:/abs/s.db?mode=ro&" + busy, "file:///abs/s.db?mode=ro", "/abs/s.db"},
		{"file uri host-less", "file://s.db", "sqlite", sqlsession.SQLite, "file:s.db?" + busy, "file://s.db", "s.db"},
		{"file uri memory", "file:mem?mode=memory&cache=shared", "sqlite", sqlsession.SQLite, "file:mem?mode=memory&cache=shared&" + busy, "file:mem?mode=memory&cache=shared", ""},
		{"memory", ":memory:", "sqlite", sqlsession.SQLite, "file::memory:?" + busy, ":memory:", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q) = %v", tt.in, err)
			}
			want := Source{Driver: tt.driver, DSN: tt.dsn, Dialect: tt.dialect, Redacted: tt.redacted, File: tt.file}
			if got != want {
				t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, want)
			}
			if got.String() != tt.redacted {
				t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got.String(), tt.redacted)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want error
		text string
	}{
		{"", ErrInvalid, "empty"},
		{"  ", ErrInvalid, "empty"},
		{"redis://x", ErrUnsupported, `"redis"`},
		{"http://x", ErrUnsupported, `"http"`},
		{"postgres://u:secret@h:port/db", ErrInvalid, "invalid port"},
		{"sqlserver://u:secret@h:port", ErrInvalid, "invalid port"},
		{"mysql://u:secret@h:port/db", ErrInvalid, "invalid port"},
		{"mysql://u:secret@h/db?timeout=forever", ErrInvalid, "invalid DSN"},
		{"u:secret@tcp(h:3306)/db?timeout=forever", ErrInvalid, "invalid DSN"},
		{"root:secret@localhost:3306/app", ErrInvalid, "without a scheme"},
		{"sqlite://", ErrInvalid, "no SQLite file name"},
		{"file:?mode=ro", ErrInvalid, "no SQLite file name"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		if !errors.Is(err, tt.want) || !strings.Contains(errText(err), tt.text) || strings.Contains(errText(err), "secret") {
			t.Errorf("Parse(%q) = %v, want %v with %q and no password", tt.in, err, tt.want, tt.text)
		}
	}
}

// errText is err's message, or "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestWithPragma(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"demo.db", "file:demo.db?" + SQLiteBusyTimeout + "&_pragma=journal_mode(WAL)"},
		{"file:demo.db?_pragma=journal_mode(DELETE)", "file:demo.db?_pragma=journal_mode(DELETE)&" + SQLiteBusyTimeout},
		{"file:demo.db?_pragma=JOURNAL_MODE(delete)", "file:demo.db?_pragma=JOURNAL_MODE(delete)&" + SQLiteBusyTimeout},
		// The pragma's name in the file's name is not the pragma.
		{"journal_mode.db", "file:journal_mode.db?" + SQLiteBusyTimeout + "&_pragma=journal_mode(WAL)"},
		{"postgres://h/db", "postgres://h/db"},
	}
	for _, tt := range tests {
		src, err := Parse(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := src.WithPragma("journal_mode", "WAL").DSN; got != tt.want {
			t.Errorf("Parse(%q).WithPragma(journal_mode, WAL).DSN = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// fakeDriver stands in for modernc.org/sqlite, which this module does not
// link: Open only needs a registered name.
type fakeDriver struct{}

func (fakeDriver) Open(string) (driver.Conn, error) { return nil, errors.New("fake driver") }

func init() { sql.Register(DriverSQLite, fakeDriver{}) }

func TestOpen(t *testing.T) {
	t.Parallel()
	src, err := Parse("sessions.db")
	if err != nil {
		t.Fatal(err)
	}
	db, err := src.Open()
	if err != nil {
		t.Fatalf("Open() of a linked driver = %v", err)
	}
	db.Close()

	src, err = Parse("sqlserver://sa:secret@db:1433?database=app")
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Open()
	if !errors.Is(err, ErrDriverMissing) || !strings.Contains(err.Error(), "github.com/microsoft/go-mssqldb") || strings.Contains(err.Error(), "secret") {
		t.Errorf("Open() of sqlserver without its driver = %v, want ErrDriverMissing naming github.com/microsoft/go-mssqldb", err)
	}

	if _, err := (Source{}).Open(); !errors.Is(err, ErrInvalid) {
		t.Errorf("Source{}.Open() = %v, want ErrInvalid", err)
	}
}
