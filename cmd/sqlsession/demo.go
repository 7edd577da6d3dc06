package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/sqlsession/sqlsession/cmd/sqlsession/internal/demo"
)

// demoFile is the SQLite database of the demo when --dsn is not given.
const demoFile = "sqlsession-demo.db"

// demo runs "demo": the demo web application until Ctrl-C.
func (c *cli) demo(ctx context.Context, args []string) error {
	fs := c.flagSet("demo")
	addr := fs.String("addr", "127.0.0.1:8080", "listen `address`")
	f := &dbFlags{}
	fs.StringVar(&f.dsn, "dsn", demoFile, "database `DSN`: a SQLite file, or postgres://, mysql://, sqlserver://")
	f.define(fs, demo.DefaultTable)
	secure := fs.Bool("secure", false, "mark the cookie Secure (when served over HTTPS)")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	f.wal = true
	t, err := c.open(ctx, f, true)
	if err != nil {
		return err
	}
	defer t.Close()

	logger := slog.New(slog.NewTextHandler(c.stderr, nil))
	app, err := demo.New(t.db, t.src.Dialect, demo.Options{Table: t.table, Schema: t.schema, Secure: *secure, Logger: logger})
	if err != nil {
		return err
	}
	defer app.Close()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = app.CreateTable(cctx)
	cancel()
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           app,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(c.stdout, "sqlsession demo on http://%s (sessions in %s, table %s); Ctrl-C stops it\n", ln.Addr(), t.src.Redacted, t.name())

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, "sqlsession demo stopped")
	return nil
}
