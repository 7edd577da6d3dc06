// Module dsn turns one connection string into the arguments of sql.Open and
// the sqlsession dialect. It supports the two most recent major versions of
// Go.
module github.com/sqlsession/sqlsession/dsn

go 1.25.0

replace github.com/sqlsession/sqlsession => ../

require (
	github.com/go-sql-driver/mysql v1.10.1
	github.com/sqlsession/sqlsession v0.1.0
)

require filippo.io/edwards25519 v1.2.0 // indirect
