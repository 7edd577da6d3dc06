// Module fiberstore adapts a sqlsession.Store to fiber's Storage interface.
// It requires only fiber v3 (for the interface it proves it implements) and
// the sqlsession core.
module github.com/sqlsession/sqlsession/fiberstore

go 1.25.0

replace github.com/sqlsession/sqlsession => ../

require (
	github.com/gofiber/fiber/v3 v3.1.0
	github.com/sqlsession/sqlsession v0.1.0
)

require (
	github.com/andybalholm/brotli v1.2.0 // indirect
	github.com/gofiber/schema v1.7.0 // indirect
	github.com/gofiber/utils/v2 v2.0.2 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/klauspost/compress v1.18.4 // indirect
	github.com/mattn/go-colorable v0.1.14 // indirect
	github.com/mattn/go-isatty v0.0.20 // indirect
	github.com/philhofer/fwd v1.2.0 // indirect
	github.com/tinylib/msgp v1.6.3 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	github.com/valyala/fasthttp v1.69.0 // indirect
	golang.org/x/crypto v0.48.0 // indirect
	golang.org/x/net v0.50.0 // indirect
	golang.org/x/sys v0.41.0 // indirect
	golang.org/x/text v0.34.0 // indirect
)
