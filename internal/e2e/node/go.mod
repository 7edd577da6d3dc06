// Module node runs Go and Node.js applications side by side on one session
// table and one cookie: express and koa with the Node.js session stores that
// nodesession's presets share, installed from npm by nodeapp/package-lock.json.
// It is test-only: nothing imports it, and its requirements stay out of the
// core module.
module github.com/sqlsession/sqlsession/internal/e2e/node

go 1.26.0

replace (
	github.com/sqlsession/sqlsession => ../../..
	github.com/sqlsession/sqlsession/internal/dbtest => ../../dbtest
)

require (
	github.com/go-sql-driver/mysql v1.10.1
	github.com/sqlsession/sqlsession v0.1.0
	github.com/sqlsession/sqlsession/internal/dbtest v0.1.0
)

require (
	filippo.io/edwards25519 v1.2.0 // indirect
	github.com/dustin/go-humanize v1.1.0 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/pgx/v5 v5.12.0 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	github.com/lib/pq v1.12.3 // indirect
	github.com/mattn/go-isatty v0.0.24 // indirect
	github.com/ncruces/go-strftime v1.1.0 // indirect
	github.com/remyoudompheng/bigfft v0.0.0-20230129092748-24d4a6f8daec // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.41.0 // indirect
	modernc.org/libc v1.80.1 // indirect
	modernc.org/mathutil v1.7.1 // indirect
	modernc.org/memory v1.12.1 // indirect
	modernc.org/sqlite v1.62.0 // indirect
)
