package main

import (
	"strings"
	"testing"

	"github.com/sqlsession/sqlsession"
)

func TestParseDSN(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		driver  string
		dialect sqlsession.Dialect
		dsn     string // "" to skip the check
		display string
		file    string
	}{
		{"postgres://u:pw@db:5432/app?sslmode=disable", "pgx", sqlsession.Postgres, "postgres://u:pw@db:5432/app?sslmode=disable", "postgres://u:xxxxx@db:5432/app?sslmode=disable", ""},
		{"postgresql://u@db/app", "pgx", sqlsession.Postgres, "postgresql://u@db/app", "postgresql://u@db/app", ""},
		{"mysql://u:p%40ss@db:3307/app", "mysql", sqlsession.MySQL, "u:p@ss@tcp(db:3307)/app", "mysql://u:xxxxx@db:3307/app", ""},
		{"mysql://root@db/app", "mysql", sqlsession.MySQL, "root@tcp(db:3306)/app", "mysql://root@db/app", ""},
		{"mysql://root@/app", "mysql", sqlsession.MySQL, "root@tcp(127.0.0.1:3306)/app", "mysql://root@/app", ""},
		{"mysql://root@localhost/app?socket=/run/mysqld/mysqld.sock", "mysql", sqlsession.MySQL, "root@unix(/run/mysqld/mysqld.sock)/app", "", ""},
		{"mysql://root@db/app?tls=skip-verify", "mysql", sqlsession.MySQL, "root@tcp(db:3306)/app?tls=skip-verify", "", ""},
		{"sqlserver://sa:pw@db:1433?database=app", "sqlserver", sqlsession.SQLServer, "sqlserver://sa:pw@db:1433?database=app", "sqlserver://sa:xxxxx@db:1433?database=app", ""},
		{"sessions.db", "sqlite", sqlsession.SQLite, "file:sessions.db?" + busyTimeout, "sessions.db", "sessions.db"},
		{"/var/lib/app/sessions.db", "sqlite", sqlsession.SQLite, "file:/var/lib/app/sessions.db?" + busyTimeout, "", "/var/lib/app/sessions.db"},
		{"sqlite://sessions.db", "sqlite", sqlsession.SQLite, "file:sessions.db?" + busyTimeout, "", "sessions.db"},
		{"sqlite:///abs/sessions.db", "sqlite", sqlsession.SQLite, "file:/abs/sessions.db?" + busyTimeout, "", "/abs/sessions.db"},
		{"file:sessions.db?_pragma=busy_timeout(100)", "sqlite", sqlsession.SQLite, "file:sessions.db?_pragma=busy_timeout(100)", "", "sessions.db"},
		{"file:///abs/s.db?mode=ro", "sqlite", sqlsession.SQLite, "file:/abs/s.db?mode=ro&" + busyTimeout, "", "/abs/s.db"},
		{"file:mem?mode=memory", "sqlite", sqlsession.SQLite, "", "", ""},
		{":memory:", "sqlite", sqlsession.SQLite, "", "", ""},
	}
	for _, tt := range tests {
		got, err := parseDSN(tt.in)
		if err != nil {
			t.Errorf("parseDSN(%q) = %v", tt.in, err)
			continue
		}
		if got.driver != tt.driver || got.dialect != tt.dialect || got.file != tt.file {
			t.Errorf("parseDSN(%q) = driver %q, dialect %v, file %q; want %q, %v, %q", tt.in, got.driver, got.dialect, got.file, tt.driver, tt.dialect, tt.file)
		}
		if tt.dsn != "" && got.dsn != tt.dsn {
			t.Errorf("parseDSN(%q).dsn = %q, want %q", tt.in, got.dsn, tt.dsn)
		}
		if tt.display != "" && got.display != tt.display {
			t.Errorf("parseDSN(%q).display = %q, want %q", tt.in, got.display, tt.display)
		}
	}
}

func TestParseDSNErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", "empty DSN"},
		{"redis://x", `unsupported DSN scheme "redis"`},
		{"http://x", `unsupported DSN scheme "http"`},
		{"root:pw@tcp(127.0.0.1:3306)/test", "mysql://"},
		{"postgres://u:secret@h:port/db", "invalid DSN"},
		{"mysql://u:secret@h/db?timeout=forever", "invalid DSN"},
	}
	for _, tt := range tests {
		_, err := parseDSN(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "secret") {
			t.Errorf("parseDSN(%q) = %v, want an error with %q and no password", tt.in, err, tt.want)
		}
	}
}

func TestWithPragma(t *testing.T) {
	t.Parallel()
	src, _ := parseDSN("demo.db")
	if got := src.withPragma("journal_mode", "WAL").dsn; got != "file:demo.db?"+busyTimeout+"&_pragma=journal_mode(WAL)" {
		t.Errorf("withPragma(journal_mode, WAL) = %q", got)
	}
	src, _ = parseDSN("file:demo.db?_pragma=journal_mode(DELETE)")
	if got := src.withPragma("journal_mode", "WAL").dsn; strings.Contains(got, "WAL") {
		t.Errorf("withPragma overrode the DSN's own journal_mode: %q", got)
	}
	src, _ = parseDSN("postgres://h/db")
	if got := src.withPragma("journal_mode", "WAL").dsn; got != "postgres://h/db" {
		t.Errorf("withPragma changed a PostgreSQL DSN: %q", got)
	}
}
