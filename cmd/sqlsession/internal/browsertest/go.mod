// Module browsertest drives the demo of the sqlsession command in a real
// headless Chromium. It is test-only: nothing imports it, and chromedp stays
// out of the command's module.
module github.com/sqlsession/sqlsession/cmd/sqlsession/internal/browsertest

go 1.26.0

replace (
	github.com/sqlsession/sqlsession => ../../../..
	github.com/sqlsession/sqlsession/cmd/sqlsession => ../..
	github.com/sqlsession/sqlsession/dsn => ../../../../dsn
)

require (
	github.com/chromedp/chromedp v0.23.0
	github.com/sqlsession/sqlsession v0.1.0
	github.com/sqlsession/sqlsession/cmd/sqlsession v0.1.0
	modernc.org/sqlite v1.62.0
)

require (
	github.com/chromedp/cdproto v0.159.0 // indirect
	github.com/dustin/go-humanize v1.1.0 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/mattn/go-isatty v0.0.24 // indirect
	github.com/ncruces/go-strftime v1.1.0 // indirect
	github.com/remyoudompheng/bigfft v0.0.0-20230129092748-24d4a6f8daec // indirect
	golang.org/x/sys v0.49.0 // indirect
	modernc.org/libc v1.80.1 // indirect
	modernc.org/mathutil v1.7.1 // indirect
	modernc.org/memory v1.12.1 // indirect
)
