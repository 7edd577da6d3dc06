package dsn_test

import (
	"fmt"

	"github.com/sqlsession/sqlsession/dsn"
)

// Both ways of writing a MySQL DSN reach the same driver; the URL is
// rewritten to the driver's own form.
func Example_mysql() {
	for _, s := range []string{
		"mysql://app:secret@db:3306/app",
		"app:secret@tcp(db:3306)/app",
	} {
		src, err := dsn.Parse(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("sql.Open(%q, %q) for %v\n", src.Driver, src.DSN, src)
	}
	// Output:
	// sql.Open("mysql", "app:secret@tcp(db:3306)/app") for mysql://app:xxxxx@db:3306/app
	// sql.Open("mysql", "app:secret@tcp(db:3306)/app") for app:xxxxx@tcp(db:3306)/app
}

// A SQLite file gets a busy timeout, and write-ahead logging on request.
func ExampleSource_WithPragma() {
	src, err := dsn.Parse("sqlite://sessions.db")
	if err != nil {
		fmt.Println(err)
		return
	}
	src = src.WithPragma("journal_mode", "WAL")
	fmt.Println(src.Driver, src.DSN, src.File)
	// Output:
	// sqlite file:sessions.db?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL) sessions.db
}
