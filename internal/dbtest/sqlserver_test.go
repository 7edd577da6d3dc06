package dbtest

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"testing"
	"time"

	_ "github.com/microsoft/go-mssqldb" // driver "sqlserver"

	"github.com/sqlsession/sqlsession"
)

// TestSQLServerDriver builds a Store on go-mssqldb. No SQL Server can run in
// CI, so this proves that the dialect links and runs against the real driver
// up to the network, and that an unreachable server is a prompt, wrapped
// error rather than a hang, a panic or a silent miss. The SQL itself is
// pinned by the core's golden tests.
func TestSQLServerDriver(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // a port that refuses connections

	db, err := sql.Open("sqlserver", "sqlserver://sa:secret@"+addr+"?database=app&dial+timeout=2&connection+timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := sqlsession.New(db, sqlsession.SQLServer, sqlsession.Options{Schema: "dbo", Timestamps: true})
	if err != nil {
		t.Fatalf("New(SQLServer) = %v", err)
	}
	defer s.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var netErr *net.OpError
	if err := s.CreateTable(ctx); err == nil || !errors.As(err, &netErr) {
		t.Fatalf("CreateTable() with no server = %v, want a wrapped *net.OpError", err)
	}
	if _, found, err := s.Find(ctx, sqlsession.NewToken()); err == nil || found {
		t.Fatalf("Find() with no server = %v, %v, want an error", found, err)
	}
}
