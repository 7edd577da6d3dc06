package main

import (
	"net/http/httptest"
	"testing"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/examples/internal/smoke"
	"github.com/sqlsession/sqlsession/examples/internal/sqlitetest"
)

// TestApp serves the application on a fresh SQLite file over TLS (its
// cookies are Secure) and uses it as a browser does.
func TestApp(t *testing.T) {
	handler, cleanup, err := newApp(t.Context(), sqlitetest.Open(t), sqlsession.SQLite)
	if err != nil {
		t.Fatalf("newApp() = %v", err)
	}
	t.Cleanup(cleanup)
	srv := httptest.NewTLSServer(handler)
	t.Cleanup(srv.Close)
	smoke.Run(t, srv.URL, srv.Client().Transport, "session")
}
