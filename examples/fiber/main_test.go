package main

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/examples/internal/serve"
	"github.com/sqlsession/sqlsession/examples/internal/smoke"
	"github.com/sqlsession/sqlsession/examples/internal/sqlitetest"
)

// TestApp serves the application on a fresh SQLite file on a loopback
// listener, uses it as a browser does, and shuts it down as an interrupt
// does.
func TestApp(t *testing.T) {
	app, cleanup, err := newApp(t.Context(), sqlitetest.Open(t), sqlsession.SQLite)
	if err != nil {
		t.Fatalf("newApp() = %v", err)
	}
	t.Cleanup(cleanup)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("net.Listen() = %v", err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveApp(ctx, ln, app) }()
	t.Cleanup(func() {
		stop()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serveApp() after its context ended = %v, want nil", err)
			}
		case <-time.After(serve.ShutdownTimeout + 5*time.Second):
			t.Errorf("serveApp() did not return after its context ended")
		}
	})

	smoke.Run(t, "http://"+ln.Addr().String(), nil, "session_id")
}
