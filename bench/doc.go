// Command bench measures sqlsession side by side with the raw drivers (the
// floor) and with other session stores, in one run, and writes the results
// as Markdown.
//
// # Usage
//
//	cd bench
//	go run . -out BENCHMARKS.md             # everything but the slow cleanup mode
//	go run . -cleanup -out BENCHMARKS.md    # and cleanup under live traffic
//	go run . -smoke                         # a few operations per cell
//	go run . -db postgres-pgx -ops find -c 16 -d 3s
//
// PostgreSQL and MariaDB are reached through SQLSESSION_TEST_POSTGRES_DSN and
// SQLSESSION_TEST_MYSQL_DSN (or -pg and -mysql); a family whose server is
// not set is left out. SQLite always runs. Every store gets its own schema,
// database or file, dropped at the end.
//
// # What it measures
//
//   - Cells: Find, Touch, Save of 200 B and 4 KB, Delete and a 90/9/1 mix of
//     Find, Save and Delete, at 1, 16 and 64 goroutines, on tables holding
//     10,000 sessions, in ops/s and allocs/op, with the ratio to the floor
//     of the same database and driver family.
//   - Writes per read-only request: scs, gorilla/sessions and fiber over
//     real HTTP, counted by a pgx tracer.
//   - End to end: wrk against scs on sqlsession, scs on its own pgxstore and
//     a bare net/http handler doing one SELECT.
//   - With -cleanup: Find p99 under steady traffic, idle and while
//     DeleteExpired removes a million expired rows.
//
// The go test benchmarks (go test -bench .) measure the floor and sqlsession
// on SQLite, and on PostgreSQL and MariaDB when their DSNs are set.
package main
