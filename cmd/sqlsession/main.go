// Command sqlsession looks after the session tables of
// [github.com/sqlsession/sqlsession]: it creates them, reports on them,
// deletes expired sessions, lists and revokes the sessions of one user, and
// runs a small demo web application.
//
// Usage:
//
//	sqlsession <command> [flags]
//
// The commands:
//
//	create-table  create the session table and its indexes (idempotent)
//	stats         live and expired sessions, data sizes, expiry range, owners
//	cleanup       delete expired sessions in batches
//	list          list the live sessions of one owner
//	revoke        delete the sessions of one owner, or one of them
//	demo          run the demo web application on 127.0.0.1:8080
//
// Every command but demo needs --dsn (or SQLSESSION_DSN), read by
// [github.com/sqlsession/sqlsession/dsn]: postgres:// or postgresql:// and
// libpq key/value strings (pgx), mysql:// or the driver's own
// user:pass@tcp(host:3306)/db (go-sql-driver), sqlserver:// (go-mssqldb),
// and sqlite://, file: or a plain file path (modernc.org/sqlite). Connecting
// may take --connect-timeout, 10s by default. "sqlsession --version" prints
// the version. Errors are one line on stderr and a non-zero exit status: 1
// for a failure, 2 for a usage error (a bad flag, DSN or table name), 130
// for an interrupted cleanup.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	// The first Ctrl-C cancels ctx; restoring the default handler then lets
	// a second one end the process at once.
	context.AfterFunc(ctx, stop)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit statuses.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitInterrupted = 130 // as a shell reports a process ended by SIGINT
)

// dsnVar is the environment variable read when --dsn is not given.
const dsnVar = "SQLSESSION_DSN"

// run runs the command line args (without the program name) and returns
// the exit status. ctx ends on the first Ctrl-C.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := &cli{stdout: stdout, stderr: stderr, getenv: os.Getenv}
	return c.main(ctx, args)
}

// cli is one run of the command: where output goes and how the environment
// is read.
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

type command struct {
	name, args, summary string
	run                 func(c *cli, ctx context.Context, args []string) error
}

var commands []command

func init() {
	// Assigned here, not in the declaration: help refers to commands.
	commands = []command{
		{"create-table", "--dsn DSN [--table T] [--timeout 3s] [--timestamps] [--owner-column] [--cache]", "create the session table and its indexes, and with --cache the change log of the session cache (idempotent)", (*cli).createTable},
		{"stats", "--dsn DSN [--table T] [--top 10] [--json]", "live and expired sessions, data sizes, expiry range, top owners", (*cli).stats},
		{"cleanup", "--dsn DSN [--table T] [--batch 1000] [--pause 0]", "delete expired sessions in batches; Ctrl-C stops between batches", (*cli).cleanup},
		{"list", "--dsn DSN --owner OWNER [--table T] [--json]", "list the live sessions of one owner", (*cli).list},
		{"revoke", "--dsn DSN --owner OWNER [--id ID] [--table T]", "delete every session of one owner, or the one with --id", (*cli).revoke},
		{"demo", "[--addr 127.0.0.1:8080] [--dsn DSN]", "run the demo web application (SQLite file by default)", (*cli).demo},
	}
}

func (c *cli) main(ctx context.Context, args []string) int {
	if len(args) == 0 {
		c.usage(c.stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		c.usage(c.stdout)
		return exitOK
	case "version", "-version", "--version":
		fmt.Fprintf(c.stdout, "sqlsession %s %s %s/%s\n", version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return exitOK
	}
	for _, cmd := range commands {
		if cmd.name != name {
			continue
		}
		err := cmd.run(c, ctx, args[1:])
		var ue usageError
		switch {
		case err == nil:
			return exitOK
		case errors.Is(err, flag.ErrHelp):
			return exitOK
		case errors.As(err, &ue):
			c.fail(name, fmt.Errorf("%w (run 'sqlsession %s -h' for usage)", err, name))
			return exitUsage
		case errors.Is(err, errInterrupted):
			c.fail(name, err)
			return exitInterrupted
		default:
			c.fail(name, err)
			return exitFailure
		}
	}
	fmt.Fprintf(c.stderr, "sqlsession: unknown command %q; run 'sqlsession help' for the list\n", name)
	return exitUsage
}

func (c *cli) usage(w io.Writer) {
	fmt.Fprintln(w, "sqlsession looks after the session tables of github.com/sqlsession/sqlsession.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "usage: sqlsession <command> [flags]")
	fmt.Fprintln(w)
	for _, cmd := range commands {
		fmt.Fprintf(w, "  %-13s %s\n", cmd.name, cmd.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "DSN: postgres://..., mysql://user:pass@host:3306/db or user:pass@tcp(host:3306)/db,")
	fmt.Fprintln(w, "     sqlserver://..., sqlite://path, file:path or a file path; default $"+dsnVar+".")
	fmt.Fprintln(w, "Run 'sqlsession <command> -h' for a command's flags, 'sqlsession --version' for the version.")
}

// version is the command's module version: v0.1.0 when installed with
// "go install github.com/sqlsession/sqlsession/cmd/sqlsession@v0.1.0",
// "(devel)" or a pseudo-version when built from a checkout.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// fail prints err as one line: "sqlsession: command: message".
func (c *cli) fail(name string, err error) {
	fmt.Fprintf(c.stderr, "sqlsession: %s: %s\n", name, oneLine(err.Error()))
}

// oneLine flattens a message onto one line, dropping repeated lines, and
// drops the "sqlsession: " prefixes of wrapped library errors, which the
// line already starts with.
func oneLine(msg string) string {
	msg = strings.ReplaceAll(msg, "sqlsession: ", "")
	var b strings.Builder
	seen := map[string]bool{}
	for _, l := range strings.FieldsFunc(msg, func(r rune) bool { return r == '\n' || r == '\r' }) {
		l = strings.TrimSpace(l)
		if l == "" || seen[l] {
			continue
		}
		seen[l] = true
		if b.Len() > 0 {
			if strings.HasSuffix(b.String(), ":") {
				b.WriteString(" ")
			} else {
				b.WriteString("; ")
			}
		}
		b.WriteString(l)
	}
	return b.String()
}

// usageError is a bad command line: a flag that does not parse, a missing
// argument, a DSN or a table name that cannot be used. It exits with status
// 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// errInterrupted ends a command stopped by Ctrl-C.
var errInterrupted = errors.New("interrupted")

// flagSet returns a flag set for the command whose usage, on -h, goes to
// stdout; parse errors come back from parse as usage errors.
func (c *cli) flagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parse parses args into fs. On -h it prints the command's usage to stdout
// and returns flag.ErrHelp. Positional arguments are refused.
func (c *cli) parse(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		c.commandUsage(fs)
		return err
	}
	if err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

func (c *cli) commandUsage(fs *flag.FlagSet) {
	for _, cmd := range commands {
		if cmd.name == fs.Name() {
			summary := strings.ToUpper(cmd.summary[:1]) + cmd.summary[1:]
			fmt.Fprintf(c.stdout, "usage: sqlsession %s %s\n\n%s.\n\nflags:\n", cmd.name, cmd.args, summary)
		}
	}
	fs.SetOutput(c.stdout)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}
