package serve

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestHTTP serves a request, then stops the server through its context.
func TestHTTP(t *testing.T) {
	// Find a free port, then serve on it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- HTTP(ctx, addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "hello")
		}))
	}()

	var body []byte
	for deadline := time.Now().Add(10 * time.Second); ; {
		res, err := http.Get("http://" + addr + "/")
		if err == nil {
			body, err = io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil {
				t.Fatalf("reading the response: %v", err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET / = %v, want a response", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if string(body) != "hello" {
		t.Errorf("GET / = %q, want %q", body, "hello")
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("HTTP() after cancel = %v, want nil", err)
		}
	case <-time.After(ShutdownTimeout + 5*time.Second):
		t.Fatal("HTTP() did not return after its context ended")
	}
}

// TestHTTPBadAddr checks that an address that cannot be listened on is
// reported at once.
func TestHTTPBadAddr(t *testing.T) {
	if err := HTTP(context.Background(), "127.0.0.1:-1", http.NotFoundHandler()); err == nil {
		t.Error("HTTP(127.0.0.1:-1) = nil, want an error")
	}
}
