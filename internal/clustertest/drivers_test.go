package clustertest

import (
	"io"
	"log"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL, driver "pgx"
)

func init() {
	// The MySQL driver logs every dropped connection; the tests count
	// errors themselves.
	mysql.SetLogger(log.New(io.Discard, "", 0))
}
