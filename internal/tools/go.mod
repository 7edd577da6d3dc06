// Module tools holds the programs that CI and the release script run on the
// repository: lockstep (module versions), modproxy (a file-system module
// proxy of the tree), snippets (programs from the README snippets) and
// staticcheck. It is never published, and its requirements stay out of
// every other module.
module github.com/sqlsession/sqlsession/internal/tools

go 1.26.0

tool honnef.co/go/tools/cmd/staticcheck

require golang.org/x/mod v0.42.0

require (
	github.com/BurntSushi/toml v1.4.1-0.20240526193622-a339e1f7089c // indirect
	golang.org/x/exp/typeparams v0.0.0-20231108232855-2478ac86f678 // indirect
	golang.org/x/sync v0.23.0 // indirect
	golang.org/x/tools v0.51.0 // indirect
	honnef.co/go/tools v0.8.2 // indirect
)
