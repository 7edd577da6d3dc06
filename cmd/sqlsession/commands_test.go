package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/cmd/sqlsession/internal/testdb"
	"github.com/sqlsession/sqlsession/internal/testenv"
)

// dsnOf returns the DSN that reaches the database of tg as the command takes
// it: the file of the SQLite target, the PostgreSQL DSN as is, and the
// MySQL one written as a mysql:// URL.
func dsnOf(t *testing.T, tg testdb.Target, db *sql.DB) string {
	t.Helper()
	switch tg.Dialect {
	case sqlsession.SQLite:
		var file string
		if err := db.QueryRowContext(t.Context(), "SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&file); err != nil {
			t.Fatal(err)
		}
		return file
	case sqlsession.Postgres:
		return os.Getenv(testenv.PostgresDSN)
	case sqlsession.MySQL:
		cfg, err := mysql.ParseDSN(os.Getenv(testenv.MySQLDSN))
		if err != nil {
			t.Fatal(err)
		}
		u := &url.URL{Scheme: "mysql", User: url.User(cfg.User), Host: cfg.Addr, Path: "/" + cfg.DBName}
		if cfg.Passwd != "" {
			u.User = url.UserPassword(cfg.User, cfg.Passwd)
		}
		return u.String()
	}
	t.Fatalf("no DSN for %s", tg.Name)
	return ""
}

// fixture is a session table of a test database, seeded through a Store
// with an owner column, timestamps and a user_agent column, and the flags
// that name it on the command line.
type fixture struct {
	s    *sqlsession.Store
	args []string // --dsn, --table and --schema
}

func (f *fixture) run(t *testing.T, cmd string, args ...string) result {
	t.Helper()
	return runCmd(t, append(append([]string{cmd}, f.args...), args...)...)
}

// ownerOf is the fixture's owner hook: data is "owner:padding".
func ownerOf(data []byte) (string, error) {
	owner, _, _ := strings.Cut(string(data), ":")
	return owner, nil
}

func newFixture(t *testing.T, tg testdb.Target, db *sql.DB, schema string, opts sqlsession.Options) *fixture {
	t.Helper()
	s := testdb.Store(t, db, tg.Dialect, schema, opts)
	args := []string{"--dsn", dsnOf(t, tg, db), "--table", s.Options().Table}
	if schema != "" {
		args = append(args, "--schema", schema)
	}
	return &fixture{s: s, args: args}
}

var seedOpts = sqlsession.Options{
	Owner:      ownerOf,
	Timestamps: true,
	Columns: []sqlsession.Column{{Name: "user_agent", Type: "VARCHAR(255)", Value: func(data []byte) (any, error) {
		if owner, _ := ownerOf(data); owner != "" {
			return "agent of " + owner, nil
		}
		return nil, nil
	}}},
}

// save stores a session whose data is "owner:" padded to size bytes.
func (f *fixture) save(t *testing.T, owner string, size int, expiry time.Time) string {
	t.Helper()
	data := []byte(owner + ":" + strings.Repeat("x", size-len(owner)-1))
	tok := sqlsession.NewToken()
	if err := f.s.Save(t.Context(), tok, data, expiry); err != nil {
		t.Fatalf("Save(%s, %d bytes) = %v", owner, size, err)
	}
	return tok
}

// seed stores six live sessions of 100 to 600 bytes (alice 3, bob 2, one
// anonymous) and two expired ones.
func (f *fixture) seed(t *testing.T) {
	t.Helper()
	live := time.Now().Add(time.Hour)
	for i, owner := range []string{"alice", "bob", "", "alice", "bob", "alice"} {
		f.save(t, owner, 100*(i+1), live)
	}
	f.save(t, "carol", 50, time.Now().Add(-time.Hour))
	f.save(t, "carol", 60, time.Now().Add(-2*time.Hour))
}

func checkOK(t *testing.T, what string, r result) {
	t.Helper()
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("%s = %d, stderr %q, want 0 and no error", what, r.code, r.stderr)
	}
}

// TestStats checks the figures of "stats --json" and the text report on
// every test database.
func TestStats(t *testing.T) {
	testdb.Each(t, testdb.Servers, func(t *testing.T, tg testdb.Target, db *sql.DB, schema string) {
		f := newFixture(t, tg, db, schema, seedOpts)
		f.seed(t)

		r := f.run(t, "stats", "--json", "--top", "5")
		checkOK(t, "stats --json", r)
		var got report
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
			t.Fatalf("stats --json printed %q: %v", r.stdout, err)
		}
		want := dataSizes{P50: 300, P90: 600, P99: 600, Max: 600, Total: 2100}
		if got.Live != 6 || got.Expired != 2 || got.DataBytes != want {
			t.Errorf("stats: live %d, expired %d, data %+v; want 6, 2, %+v", got.Live, got.Expired, got.DataBytes, want)
		}
		if got.Dialect != tg.Dialect.Name() {
			t.Errorf("stats: dialect %q, want %q", got.Dialect, tg.Dialect.Name())
		}
		now := time.Now()
		if got.OldestExpiry == nil || got.NewestExpiry == nil ||
			got.OldestExpiry.After(now.Add(-time.Hour)) || got.NewestExpiry.Before(now) {
			t.Errorf("stats: oldest expiry %v, newest %v; want about 2h ago and 1h ahead", got.OldestExpiry, got.NewestExpiry)
		}
		o := got.Owners
		wantTop := []ownerCount{{"alice", 3}, {"bob", 2}}
		if !got.OwnerColumn || o.Distinct != 2 || o.Anonymous != 1 || len(o.Top) != 2 || o.Top[0] != wantTop[0] || o.Top[1] != wantTop[1] {
			t.Errorf("stats: owners %+v, want 2 owners, 1 anonymous, top %v", o, wantTop)
		}

		r = f.run(t, "stats")
		checkOK(t, "stats", r)
		for _, want := range []string{"6 live, 2 expired", "p50 300 B, p90 600 B, p99 600 B, max 600 B; 2.1 KiB in all", "2 owners, 1 anonymous session", "alice  3", "bob    2", "ago"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("stats printed\n%s\nwant it to contain %q", r.stdout, want)
			}
		}
		if testing.Verbose() {
			t.Logf("stats:\n%s", r.stdout)
		}
	})
}

// TestStatsPlainTable checks stats on a table without the optional
// columns, and on an empty one.
func TestStatsPlainTable(t *testing.T) {
	testdb.Each(t, testdb.Servers, func(t *testing.T, tg testdb.Target, db *sql.DB, schema string) {
		f := newFixture(t, tg, db, schema, sqlsession.Options{})
		r := f.run(t, "stats")
		checkOK(t, "stats", r)
		for _, want := range []string{"0 live, 0 expired", "no owner column"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("stats of an empty table printed\n%s\nwant it to contain %q", r.stdout, want)
			}
		}
		if strings.Contains(r.stdout, "expiry") {
			t.Errorf("stats of an empty table printed\n%s\nwant no expiry line", r.stdout)
		}
		f.save(t, "x", 10, time.Now().Add(time.Minute))
		r = f.run(t, "stats", "--json")
		checkOK(t, "stats --json", r)
		var got report
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
			t.Fatal(err)
		}
		if got.Live != 1 || got.OwnerColumn || got.Owners.Distinct != 0 || got.Owners.Top == nil {
			t.Errorf("stats --json = %s, want live 1, owner_column false, owners zero with an empty top list", r.stdout)
		}
	})
}

// jsonKeys returns the keys of a JSON object and of the objects in it, as
// paths: "owners", "owners.top".
func jsonKeys(t *testing.T, data string) []string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(data), &m); err != nil {
		t.Fatalf("%q is not a JSON object: %v", data, err)
	}
	var keys []string
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			keys = append(keys, prefix+k)
			if sub, ok := v.(map[string]any); ok {
				walk(prefix+k+".", sub)
			}
		}
	}
	walk("", m)
	slices.Sort(keys)
	return keys
}

// TestStatsJSONKeys checks that "stats --json" has the same keys for an
// empty table, a table without an owner column and one with it.
func TestStatsJSONKeys(t *testing.T) {
	testdb.Each(t, testdb.Servers[:1], func(t *testing.T, tg testdb.Target, db *sql.DB, schema string) {
		plain := newFixture(t, tg, db, schema, sqlsession.Options{})
		r := plain.run(t, "stats", "--json")
		checkOK(t, "stats --json of an empty table", r)
		want := jsonKeys(t, r.stdout)
		if !slices.Contains(want, "owners.top") || !slices.Contains(want, "owner_column") {
			t.Errorf("stats --json of an empty table has keys %q, want owners.top and owner_column among them", want)
		}
		plain.save(t, "x", 10, time.Now().Add(time.Minute))
		owned := newFixture(t, tg, db, schema, seedOpts)
		owned.seed(t)
		for name, f := range map[string]*fixture{"plain": plain, "owner column": owned} {
			r := f.run(t, "stats", "--json")
			checkOK(t, "stats --json", r)
			if got := jsonKeys(t, r.stdout); !slices.Equal(got, want) {
				t.Errorf("stats --json of the %s table has keys %q, want %q", name, got, want)
			}
		}
	})
}

// TestListRevoke lists alice's and bob's sessions and revokes them, one by
// ID, then all.
func TestListRevoke(t *testing.T) {
	testdb.Each(t, testdb.Servers, func(t *testing.T, tg testdb.Target, db *sql.DB, schema string) {
		f := newFixture(t, tg, db, schema, seedOpts)
		f.seed(t)

		r := f.run(t, "list", "--owner", "alice", "--json")
		checkOK(t, "list --json", r)
		var sessions []struct {
			ID      string         `json:"id"`
			Created *time.Time     `json:"created"`
			Updated *time.Time     `json:"updated"`
			Expiry  time.Time      `json:"expiry"`
			Columns map[string]any `json:"columns"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &sessions); err != nil {
			t.Fatalf("list --json printed %q: %v", r.stdout, err)
		}
		if len(sessions) != 3 {
			t.Fatalf("list --owner alice: %d sessions, want 3", len(sessions))
		}
		for _, s := range sessions {
			if s.ID == "" || s.Created == nil || s.Updated == nil || s.Columns["user_agent"] != "agent of alice" {
				t.Errorf("list --owner alice: session %+v, want an ID, times and user_agent %q", s, "agent of alice")
			}
		}

		r = f.run(t, "list", "--owner", "alice")
		checkOK(t, "list", r)
		if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 4 ||
			!strings.Contains(lines[0], "LAST SEEN") || !strings.Contains(lines[0], "USER_AGENT") || !strings.Contains(r.stdout, sessions[0].ID) {
			t.Errorf("list printed\n%s\nwant a header with LAST SEEN and USER_AGENT and 3 rows", r.stdout)
		}
		r = f.run(t, "list", "--owner", "nobody")
		checkOK(t, "list --owner nobody", r)
		if r.stdout != "nobody has no live session\n" {
			t.Errorf("list --owner nobody printed %q", r.stdout)
		}

		// One device of alice, by ID; an ID of alice's is not bob's.
		if r := f.run(t, "revoke", "--owner", "bob", "--id", sessions[0].ID); r.code != exitFailure || !strings.Contains(r.stderr, "bob has no session") {
			t.Errorf("revoke --owner bob --id <alice's> = %d, %q, want 1 and no session", r.code, r.stderr)
		}
		r = f.run(t, "revoke", "--owner", "alice", "--id", sessions[0].ID)
		checkOK(t, "revoke --id", r)
		if !strings.Contains(r.stdout, "revoked session "+sessions[0].ID+" of alice") {
			t.Errorf("revoke --id printed %q", r.stdout)
		}
		r = f.run(t, "revoke", "--owner", "alice")
		checkOK(t, "revoke", r)
		if r.stdout != "revoked 2 sessions of alice\n" {
			t.Errorf("revoke --owner alice printed %q, want 2 revoked", r.stdout)
		}
		if n, err := f.s.Count(t.Context()); n != 3 || err != nil {
			t.Errorf("Count() after revoking alice = %d, %v, want 3 (bob 2, anonymous 1)", n, err)
		}
	})
}

// TestCleanup deletes the expired sessions in batches of one, printing a
// line per batch that deleted a row, and then finds nothing left.
func TestCleanup(t *testing.T) {
	testdb.Each(t, testdb.Servers, func(t *testing.T, tg testdb.Target, db *sql.DB, schema string) {
		f := newFixture(t, tg, db, schema, seedOpts)
		f.seed(t)
		r := f.run(t, "cleanup", "--batch", "1")
		checkOK(t, "cleanup", r)
		want := []string{"batch 1: deleted 1 (1 in all)", "batch 2: deleted 1 (2 in all)", "deleted 2 expired sessions from "}
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if len(lines) != len(want) {
			t.Fatalf("cleanup printed\n%s\nwant %d lines", r.stdout, len(want))
		}
		for i, w := range want {
			if !strings.HasPrefix(lines[i], w) {
				t.Errorf("cleanup line %d = %q, want %q", i+1, lines[i], w)
			}
		}
		if !strings.Contains(lines[2], " in 2 batches (") {
			t.Errorf("cleanup summary = %q, want it to count the 2 batches that deleted rows", lines[2])
		}
		r = f.run(t, "cleanup", "--batch", "1")
		checkOK(t, "cleanup of nothing", r)
		if want := "no expired session to delete in "; !strings.HasPrefix(r.stdout, want) || strings.Count(r.stdout, "\n") != 1 {
			t.Errorf("cleanup of nothing printed %q, want one line %q...", r.stdout, want)
		}
		r = f.run(t, "stats", "--json")
		var got report
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got.Live != 6 || got.Expired != 0 {
			t.Errorf("stats after cleanup: %q, %v; want 6 live, 0 expired", r.stdout, err)
		}
	})
}

// TestCleanupBackToBack runs batches of a fixed size with no pause.
func TestCleanupBackToBack(t *testing.T) {
	testdb.Each(t, testdb.Servers, func(t *testing.T, tg testdb.Target, db *sql.DB, schema string) {
		f := newFixture(t, tg, db, schema, sqlsession.Options{})
		for range 5 {
			f.save(t, "x", 10, time.Now().Add(-time.Minute))
		}
		f.save(t, "x", 10, time.Now().Add(time.Hour))
		r := f.run(t, "cleanup", "--batch", "2", "--pause", "-1s")
		checkOK(t, "cleanup --pause -1s", r)
		want := []string{"batch 1: deleted 2 (2 in all)", "batch 2: deleted 2 (4 in all)", "batch 3: deleted 1 (5 in all)", "deleted 5 expired sessions from "}
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if len(lines) != len(want) || !strings.Contains(r.stdout, " in 3 batches (") {
			t.Fatalf("cleanup --batch 2 --pause -1s printed\n%s\nwant %q", r.stdout, want)
		}
		for i, w := range want {
			if !strings.HasPrefix(lines[i], w) {
				t.Errorf("cleanup line %d = %q, want %q", i+1, lines[i], w)
			}
		}
	})
}

// cancelAfter cancels a context once the output holds a line with the
// given prefix: Ctrl-C at a known point.
type cancelAfter struct {
	prefix string
	cancel context.CancelFunc
	buf    bytes.Buffer
}

func (w *cancelAfter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	for _, line := range strings.Split(w.buf.String(), "\n") {
		if strings.HasPrefix(line, w.prefix) {
			w.cancel()
		}
	}
	return len(p), nil
}

// TestCleanupInterrupted stops a cleanup after its first batch, as Ctrl-C
// does: the batch is kept, the next never runs, and the report says so.
func TestCleanupInterrupted(t *testing.T) {
	testdb.Each(t, testdb.Servers, func(t *testing.T, tg testdb.Target, db *sql.DB, schema string) {
		f := newFixture(t, tg, db, schema, sqlsession.Options{})
		for range 5 {
			f.save(t, "x", 10, time.Now().Add(-time.Minute))
		}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		args := append(append([]string{"cleanup"}, f.args...), "--batch", "2")
		r := runWith(t, ctx, &cancelAfter{prefix: "batch 1:", cancel: cancel}, args...)
		if r.code != exitInterrupted {
			t.Errorf("cleanup interrupted = %d, want %d (stderr %q)", r.code, exitInterrupted, r.stderr)
		}
		if !strings.HasPrefix(r.stderr, "sqlsession: cleanup: interrupted: deleted 2 expired sessions from ") ||
			!strings.Contains(r.stderr, "in 1 batch before Ctrl-C") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("cleanup interrupted: stderr %q, want one line reporting 2 deleted in 1 batch", r.stderr)
		}
		var left int64
		q := "SELECT COUNT(*) FROM " + testdb.QuotedTable(tg.Dialect, schema, f.s.Options().Table)
		if err := db.QueryRowContext(t.Context(), q).Scan(&left); err != nil || left != 3 {
			t.Errorf("rows after an interrupted cleanup = %d, %v, want 3", left, err)
		}
	})
}

// TestCreateTable creates a table with the optional columns, twice, and
// checks it with a Store that needs them.
func TestCreateTable(t *testing.T) {
	testdb.Each(t, testdb.Servers, func(t *testing.T, tg testdb.Target, db *sql.DB, schema string) {
		table := testenv.Name("cli")
		t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + testdb.QuotedTable(tg.Dialect, schema, table)) })
		args := []string{"create-table", "--dsn", dsnOf(t, tg, db), "--table", table, "--timestamps", "--owner-column", "--timeout", "30s"}
		if schema != "" {
			args = append(args, "--schema", schema)
		}
		for range 2 {
			r := runCmd(t, args...)
			checkOK(t, "create-table", r)
			if !strings.HasPrefix(r.stdout, "table ") || !strings.Contains(r.stdout, table+" is ready in ") {
				t.Errorf("create-table printed %q", r.stdout)
			}
		}
		s, err := sqlsession.New(db, tg.Dialect, sqlsession.Options{Table: table, Schema: schema, Timestamps: true, Owner: ownerOf})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.CheckTable(t.Context()); err != nil {
			t.Errorf("CheckTable() after create-table --timestamps --owner-column = %v", err)
		}
	})
}

// TestCreateTableCache installs the change log of the session cache with
// --cache, twice, checks it with a Store that has the cache on, and sees
// an update of a session logged; without --cache there is none.
func TestCreateTableCache(t *testing.T) {
	testdb.Each(t, testdb.Servers, func(t *testing.T, tg testdb.Target, db *sql.DB, schema string) {
		table := testenv.Name("cli")
		changes := testdb.QuotedTable(tg.Dialect, schema, table+"_changes")
		t.Cleanup(func() {
			db.Exec("DROP TABLE IF EXISTS " + testdb.QuotedTable(tg.Dialect, schema, table))
			db.Exec("DROP TABLE IF EXISTS " + changes)
		})
		args := []string{"create-table", "--dsn", dsnOf(t, tg, db), "--table", table, "--timeout", "30s"}
		if schema != "" {
			args = append(args, "--schema", schema)
		}
		checkOK(t, "create-table", runCmd(t, args...))
		cached, err := sqlsession.New(db, tg.Dialect, sqlsession.Options{Table: table, Schema: schema, Cache: sqlsession.CacheOptions{MaxEntries: 100}})
		if err != nil {
			t.Fatal(err)
		}
		defer cached.Close()
		if err := cached.CheckTable(t.Context()); !errors.Is(err, sqlsession.ErrNoChangeLog) {
			t.Errorf("CheckTable() with the cache after create-table = %v, want ErrNoChangeLog", err)
		}

		args = append(args, "--cache")
		for range 2 {
			r := runCmd(t, args...)
			checkOK(t, "create-table --cache", r)
			if !strings.Contains(r.stdout, table+" and the change log of the session cache are ready in ") {
				t.Errorf("create-table --cache printed %q", r.stdout)
			}
		}
		if err := cached.CheckTable(t.Context()); err != nil {
			t.Errorf("CheckTable() with the cache after create-table --cache = %v", err)
		}

		plain, err := sqlsession.New(db, tg.Dialect, sqlsession.Options{Table: table, Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		defer plain.Close()
		token := sqlsession.NewToken()
		for range 2 { // an insert, then an update: the update is logged
			if err := plain.Save(t.Context(), token, []byte("x"), time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		var n int
		if err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM "+changes).Scan(&n); err != nil || n != 1 {
			t.Errorf("rows in %s after an update = %d, %v, want 1", changes, n, err)
		}
	})
}
