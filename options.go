package sqlsession

import (
	"fmt"
	"log/slog"
	"time"
)

// Defaults used for zero [Options] fields.
const (
	DefaultTable            = "sessions"
	DefaultLifetime         = 24 * time.Hour
	DefaultMaxDataSize      = 4 << 20
	DefaultCleanupBatchSize = 1000
	DefaultDeleteGrace      = time.Hour
)

// Options configures a [Store]. The zero value is valid and means "use the
// default" for every field; each field documents its default.
type Options struct {
	// Table is the session table's name: ASCII letters, digits and underscores,
	// at most 40 characters. Default "sessions".
	Table string

	// Layout describes the table's columns and how it stores times, data
	// and keys. Default: the zero Layout, the table CreateTable makes.
	Layout Layout

	// Schema qualifies Table (a PostgreSQL or SQL Server schema, a MySQL
	// database, an attached SQLite database). Default "": the connection's
	// current schema. CreateTable does not create the schema.
	Schema string

	// DefaultLifetime is the lifetime Save gives a session whose expiry is the
	// zero time (a browser session). Default 24h.
	DefaultLifetime time.Duration

	// IdleTimeout turns on sliding expiry: Find moves a live session's expiry
	// forward to now+IdleTimeout when it would expire sooner, so that a session
	// ends only after IdleTimeout without use. To keep reads from writing, the
	// expiry moves at most once per IdleTimeout/10. It never moves an expiry
	// backwards. Default 0: off, Find never writes.
	IdleTimeout time.Duration

	// DeleteGrace is how long a deleted session's key is remembered (as a
	// tombstone row) so that no Save re-creates it: a request that loaded the
	// session before a logout, a revoke or a token renewal and saves after it
	// does not bring the session back. Find, Lookup, Count, All and
	// ListByOwner never see tombstones; DeleteExpired removes them once the
	// grace has passed. Default 1h. Negative: rows are deleted at once, and a
	// late Save may re-create them.
	DeleteGrace time.Duration

	// CleanupInterval runs DeleteExpired on a timer, about this often (±10%
	// jitter, so many instances do not sweep in step). Default 0: no timer.
	CleanupInterval time.Duration

	// CleanupEvery runs DeleteExpired in the background after every
	// CleanupEvery operations (Find, Save, Touch, Delete), like the gcFrequency
	// of the Node.js stores. A sweep already running is not doubled.
	// Default 0: off.
	CleanupEvery int

	// CleanupBatchSize bounds the rows one batch of DeleteExpired removes,
	// so that a large backlog never holds long locks. With adaptive pacing
	// (CleanupPause 0) it is the largest batch: on PostgreSQL, MySQL and
	// MariaDB batches grow to it; on SQLite they are sized to take a few
	// hundred microseconds, often fewer rows. With a CleanupPause set, every
	// batch has this size. Default 1000.
	CleanupBatchSize int

	// CleanupPause sets how DeleteExpired paces its batches, which leaves
	// the database time for live traffic while a large backlog drains.
	// Default 0: adaptive, a duty cycle on the time the batches take. On
	// PostgreSQL, MySQL and MariaDB batches grow to CleanupBatchSize rows
	// and the pause after each is three times as long as it took (cleanup
	// takes a quarter of the time). On SQLite, where a batch holds up every
	// other statement, each batch is sized to take about as long as a slow
	// live read (250 µs to 2 ms), the pause is nine times as long (a tenth
	// of the time), and a batch that stalled (a checkpoint of the
	// write-ahead log) is followed by a pause 200 times as long, up to 5 s,
	// so that stalls stay out of the live p99. Before each batch a probe
	// (the Find statement for a key no session has, through the same
	// Backend) is timed: while it is markedly slower than usual the sweep
	// waits longer, up to eight batches' time, then goes on. Positive:
	// batches of CleanupBatchSize with this fixed pause. Negative: batches
	// of CleanupBatchSize back to back, as fast as the database goes (for a
	// maintenance job with no live traffic).
	CleanupPause time.Duration

	// Timestamps adds created_at and updated_at columns (stored like the
	// expiry, see [Layout]), set by Save and Touch. CreateTable adds them to an
	// existing table. Default false.
	Timestamps bool

	// PlainTokens stores tokens as given instead of their SHA-256 digests.
	// Use it only for a table shared with software that looks tokens up
	// itself: with it, a copy of the table holds usable session tokens.
	// Changing it makes existing sessions unreachable. Default false.
	PlainTokens bool

	// MaxDataSize is the largest session, in bytes, that Save accepts; larger
	// data gets ErrTooLarge before the database is asked. Default 4 MiB, which
	// fits every dialect's default packet and column limits.
	MaxDataSize int

	// Keys turns on encryption at rest: session data is sealed with
	// AES-256-GCM under Keys[0] and bound to its row, so a copy of the table
	// reveals nothing and data moved to another row does not open. Every key
	// opens; a row is sealed again under Keys[0] when next saved. Each key is
	// 32 bytes ([NewKey]). To rotate across many instances, first deploy the
	// new key last in the list everywhere, then move it first. Turning
	// encryption on makes existing sessions unreadable (users sign in again).
	// Default nil: data is stored as given.
	Keys [][]byte

	// Owner derives a session's owner, such as a user id, from its data on
	// every Save. It turns on the owner column (indexed) and
	// [Store.ListByOwner], [Store.DeleteByOwner], [Store.DeleteOthers] and
	// [Store.DeleteByID]: "log out everywhere". An empty owner means anonymous
	// (NULL). An error fails the Save, which wraps it. Frontends offer ready
	// hooks, such as scsstore.Value("user_id"). Default nil: no owner column.
	Owner func(data []byte) (string, error)

	// Columns are extra columns, each filled from the session data on every
	// Save: a user agent, a tenant, a role. CreateTable adds missing ones to
	// an existing table. Default none.
	Columns []Column

	// Replica, when set, serves Find and Lookup: a read replica or a
	// standby. A miss or an error there falls back to the primary, so a
	// session created a moment ago and not yet replayed is still found: a
	// login never reads as logged out. An asynchronous replica can still
	// serve the previous data of an updated session, or a session deleted a
	// moment ago (a logout); where that matters, make the replica apply
	// before commit returns (PostgreSQL synchronous_commit=remote_apply), or
	// leave Replica unset. Everything else uses the primary. Default nil.
	Replica Backend

	// BatchReads answers concurrent reads together: while four reads of the
	// table are in flight, the Find and Lookup calls that arrive wait for
	// one of them to end and are then read in one statement (up to 64
	// sessions: WHERE key IN (...), on PostgreSQL one primary-key SELECT
	// per key joined by UNION ALL). Under light load nothing waits and each
	// read is its own statement, as without it; under many concurrent
	// requests one statement answers many, which costs the database and
	// the process far less, at the price of waiting for a statement in
	// flight. A read whose context ends while it waits returns the
	// context's error. Reads from Options.Replica and the cache are not
	// batched. See docs/scale.md ("Read batching") for what it gains and
	// when it costs. Default false: every read is its own statement.
	BatchReads bool

	// Retries bounds how often a write (Save, Touch, Delete, cleanup) is
	// retried after a transient conflict such as a deadlock or a Galera
	// certification failure, with a short, growing, jittered wait. The
	// error after the last try says how many were made. Default 3; -1: none.
	Retries int

	// Retryable decides which errors are retried. Default [Retryable].
	Retryable func(error) bool

	// CleanupTimeout bounds one background sweep. Instances sharing a
	// database sweep one at a time where the dialect has named locks
	// (PostgreSQL advisory locks, MySQL GET_LOCK, SQL Server applocks). On a
	// Galera cluster GET_LOCK holds on one node only: instances on different
	// nodes may sweep at once, which wastes work (conflicting batches are
	// retried) but loses nothing; sweep from one instance there if it matters.
	// Default 1 minute.
	CleanupTimeout time.Duration

	// Logger receives the errors of background cleanup, which have no caller
	// to return them to. Default nil: [slog.Default] at the time of logging.
	Logger *slog.Logger

	// Cache keeps sessions in process memory, so that Find and Lookup of a
	// session read recently answer without the database, while a change
	// made anywhere (another instance, another program, a hand-run
	// statement) is seen within milliseconds: see [CacheOptions]. It needs
	// the change log that CreateTable installs. Default: the zero
	// CacheOptions, off.
	Cache CacheOptions

	// Tracer observes every operation, and, when it also implements
	// [SweepTracer] or [CacheTracer], every sweep of DeleteExpired and
	// every event of the cache: for metrics and traces (module
	// otelsession) or logs. Default nil: nothing is observed, at no cost.
	Tracer Tracer
}

// Column is an extra column of the session table, filled on every Save.
type Column struct {
	// Name is the column's name: ASCII letters, digits and underscores, not
	// one of the Store's own columns.
	Name string
	// Type is the column's SQL type for CreateTable in the Store's dialect,
	// such as "VARCHAR(255)" or "BIGINT". The column is nullable. Letters,
	// digits, spaces, underscores, parentheses and commas only.
	Type string
	// Value derives the column's value from the session data: a string,
	// int64, float64, bool, []byte or nil (NULL). An error fails the Save.
	Value func(data []byte) (any, error)
}

// withDefaults validates o and fills in its defaults.
func (o Options) withDefaults() (_ Options, err error) {
	if o.Table == "" {
		o.Table = DefaultTable
	}
	if err := checkIdent("table", o.Table); err != nil {
		return o, err
	}
	if o.Schema != "" {
		if err := checkIdent("schema", o.Schema); err != nil {
			return o, err
		}
	}
	if o.DefaultLifetime == 0 {
		o.DefaultLifetime = DefaultLifetime
	}
	if o.MaxDataSize == 0 {
		o.MaxDataSize = DefaultMaxDataSize
	}
	if o.DeleteGrace == 0 {
		o.DeleteGrace = DefaultDeleteGrace
	}
	if o.CleanupBatchSize == 0 {
		o.CleanupBatchSize = DefaultCleanupBatchSize
	}
	switch {
	case o.Retries == 0:
		o.Retries = DefaultRetries
	case o.Retries == -1:
		o.Retries = 0
	}
	if o.Retryable == nil {
		o.Retryable = Retryable
	}
	if o.CleanupTimeout == 0 {
		o.CleanupTimeout = time.Minute
	}
	if o.Layout, err = o.Layout.withDefaults(&o); err != nil {
		return o, err
	}
	if o.Cache, err = o.Cache.withDefaults(); err != nil {
		return o, err
	}
	seen := map[string]bool{}
	for _, c := range o.Layout.columns() {
		seen[lower(c.name)] = true
	}
	for _, c := range o.Columns {
		if err := checkIdent("column", c.Name); err != nil {
			return o, err
		}
		if seen[lower(c.Name)] {
			return o, fmt.Errorf("%w: column %q is declared twice or is one of the Store's own", ErrInvalidOptions, c.Name)
		}
		seen[lower(c.Name)] = true
		if !checkType(c.Type) {
			return o, fmt.Errorf("%w: column %q has type %q: want a plain SQL type such as VARCHAR(255)", ErrUnsafeIdentifier, c.Name, c.Type)
		}
		if c.Value == nil {
			return o, fmt.Errorf("%w: column %q has no Value function", ErrInvalidOptions, c.Name)
		}
	}
	for _, f := range []struct {
		name string
		bad  bool
	}{
		{"DefaultLifetime", o.DefaultLifetime < 0},
		{"IdleTimeout", o.IdleTimeout < 0},
		{"CleanupInterval", o.CleanupInterval < 0},
		{"CleanupEvery", o.CleanupEvery < 0},
		{"CleanupBatchSize", o.CleanupBatchSize < 0},
		{"MaxDataSize", o.MaxDataSize < 0},
		{"Retries", o.Retries < 0},
		{"CleanupTimeout", o.CleanupTimeout < 0},
	} {
		if f.bad {
			return o, fmt.Errorf("%w: %s must not be negative", ErrInvalidOptions, f.name)
		}
	}
	return o, nil
}

// checkType accepts SQL type names such as "VARCHAR(255)", "NUMERIC(10, 2)"
// or "DOUBLE PRECISION": nothing that could end a statement or a quote.
func checkType(t string) bool {
	if t == "" || len(t) > 64 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		ok := c == '_' || c == ' ' || c == '(' || c == ')' || c == ',' ||
			('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
		if !ok {
			return false
		}
	}
	return true
}

func (o *Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.Default()
}
