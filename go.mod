// sqlsession supports the two most recent major versions of Go.
module github.com/sqlsession/sqlsession

go 1.25
