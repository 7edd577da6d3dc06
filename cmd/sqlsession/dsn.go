package main

import (
	"errors"
	"fmt"
	"os"

	_ "github.com/go-sql-driver/mysql"  // MySQL and MariaDB, driver "mysql"
	_ "github.com/jackc/pgx/v5/stdlib"  // PostgreSQL, driver "pgx"
	_ "github.com/microsoft/go-mssqldb" // SQL Server, driver "sqlserver"
	_ "modernc.org/sqlite"              // SQLite, pure Go, driver "sqlite"

	"github.com/sqlsession/sqlsession/dsn"
)

// checkFile reports a SQLite database file that does not exist, which the
// driver would otherwise create empty.
func checkFile(src dsn.Source) error {
	if src.File == "" {
		return nil
	}
	if _, err := os.Stat(src.File); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("SQLite file %q does not exist", src.File)
		}
		return err
	}
	return nil
}
