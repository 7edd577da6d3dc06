package pgxstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sqlsession/sqlsession"
)

// New returns a [sqlsession.Store] that keeps its sessions in PostgreSQL
// through pool. It validates opts and does no I/O. The Store never closes
// pool: closing it stays the caller's job, after [sqlsession.Store.Close].
//
// Queries run in the pool's default query exec mode. Behind PgBouncer in
// transaction pooling mode, configure the pool with
// [pgx.QueryExecModeCacheDescribe] (see the package documentation).
func New(pool *pgxpool.Pool, opts sqlsession.Options) (*sqlsession.Store, error) {
	if pool == nil {
		return nil, fmt.Errorf("pgxstore: %w: nil *pgxpool.Pool", sqlsession.ErrInvalidOptions)
	}
	return sqlsession.NewWithBackend(backend{conn{pool}, pool}, sqlsession.Postgres, opts)
}

// Open returns a [sqlsession.Store] on a pool of its own, made by
// [pgxpool.New] from connString: a URL such as
// "postgres://user:pass@host:5432/db?sslmode=verify-full" or key/value pairs
// such as "host=db.internal user=app dbname=app". Like pgxpool.New, Open does
// not connect: the first query does. [sqlsession.Store.Close] closes the pool.
//
// Every pgx and pgxpool setting can go in connString, among them
// pool_max_conns and default_query_exec_mode (use
// default_query_exec_mode=cache_describe behind PgBouncer in transaction
// pooling mode).
func Open(ctx context.Context, connString string, opts sqlsession.Options) (*sqlsession.Store, error) {
	pool, err := pgxpool.New(ctx, connString)
	if err != nil {
		return nil, fmt.Errorf("pgxstore: open: %w", err)
	}
	s, err := sqlsession.NewOwning(backend{conn{pool}, pool}, sqlsession.Postgres, opts, ownedPool{pool})
	if err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Backend returns the [sqlsession.Backend] that [New] uses, for
// [sqlsession.Options.Replica]: a pool on a read replica or a hot standby
// then serves Find. It never closes pool.
//
//	opts.Replica = pgxstore.Backend(replicaPool)
//	store, err := pgxstore.New(primaryPool, opts)
func Backend(pool *pgxpool.Pool) sqlsession.Backend {
	return backend{conn{pool}, pool}
}

// querier is what conn needs of pgx: *pgxpool.Pool and pgx.Tx implement it.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// conn runs the Store's statements on a pool or a transaction.
type conn struct{ q querier }

var _ sqlsession.Backend = conn{}

func (c conn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := c.q.Exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// QueryRow returns pgx's row as it is: its Scan reports a missing row with
// [pgx.ErrNoRows], which wraps [database/sql.ErrNoRows] as the Backend
// contract asks (a test holds pgx to it).
func (c conn) QueryRow(ctx context.Context, query string, args ...any) sqlsession.Row {
	return c.q.QueryRow(ctx, query, args...)
}

func (c conn) Query(ctx context.Context, query string, args ...any) (sqlsession.Rows, error) {
	r, err := c.q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return rows{r}, nil
}

// rows adapts pgx.Rows, whose Close returns nothing, to sqlsession.Rows.
type rows struct{ pgx.Rows }

func (r rows) Close() error {
	r.Rows.Close()
	return r.Rows.Err()
}

// backend is the Backend of a pool.
type backend struct {
	conn
	pool *pgxpool.Pool
}

var _ sqlsession.Pinner = backend{}

// Pin runs the pinned statements in a transaction on one pooled connection.
// Background cleanup holds its advisory lock there. The transaction keeps the
// lock and its release on one server session even behind a transaction
// pooler such as PgBouncer, which moves a client between server connections
// at every transaction boundary: without it the unlock could reach another
// session and the lock would stay held. The lock is session-level, so
// rolling the transaction back at release does not drop it early.
func (b backend) Pin(ctx context.Context) (sqlsession.Backend, func(), error) {
	c, err := b.pool.Acquire(ctx)
	if err != nil {
		return nil, nil, err
	}
	tx, err := c.Begin(ctx)
	if err != nil {
		c.Release()
		return nil, nil, err
	}
	release := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		// If the rollback fails, Release sees the connection still in a
		// transaction and closes it instead of pooling it.
		_ = tx.Rollback(ctx)
		c.Release()
	}
	return conn{tx}, release, nil
}

// ownedPool is a pool that Open made, handed to the Store to close.
type ownedPool struct{ pool *pgxpool.Pool }

func (o ownedPool) Close() error {
	o.pool.Close()
	return nil
}
