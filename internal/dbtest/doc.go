// Package dbtest holds sqlsession's integration tests: the conformance kit
// against SQLite (always), PostgreSQL (pgx and lib/pq) and MySQL/MariaDB
// (go-sql-driver/mysql), and compile checks for SQL Server.
//
// Set SQLSESSION_TEST_POSTGRES_DSN and SQLSESSION_TEST_MYSQL_DSN to run the
// server tests; scripts/test does so and starts the servers.
package dbtest
