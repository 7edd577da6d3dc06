// Module gorillastore serves gorilla/sessions (and gin, echo through it) from
// a sqlsession Store. It supports the two most recent major versions of Go.
module github.com/sqlsession/sqlsession/gorillastore

go 1.25

replace github.com/sqlsession/sqlsession => ../

require (
	github.com/gorilla/securecookie v1.1.2
	github.com/gorilla/sessions v1.4.0
	github.com/sqlsession/sqlsession v0.1.0
)
