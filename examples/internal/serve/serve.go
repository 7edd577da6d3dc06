// Package serve runs an example's HTTP server until it is interrupted.
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ShutdownTimeout is how long requests in flight get to finish once the
// server is told to stop.
const ShutdownTimeout = 10 * time.Second

// HTTP serves h on addr until ctx is done, then shuts the server down
// gracefully and returns. It returns at once with an error when addr cannot
// be listened on.
func HTTP(ctx context.Context, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	slog.Info("listening", "url", "http://"+ln.Addr().String())

	select {
	case err := <-done: // Serve failed on its own
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	slog.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	if serveErr := <-done; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
