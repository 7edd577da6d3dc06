// scsstore supports the two most recent major versions of Go.
module github.com/sqlsession/sqlsession/scsstore

go 1.25

replace github.com/sqlsession/sqlsession => ../

require (
	github.com/alexedwards/scs/v2 v2.9.0
	github.com/sqlsession/sqlsession v0.1.0
)
