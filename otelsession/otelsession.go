// Package otelsession turns what a sqlsession Store observes into
// OpenTelemetry metrics and spans, following OpenTelemetry's semantic
// conventions for database clients.
//
// A [Tracer] is a [sqlsession.Tracer], [sqlsession.SweepTracer] and
// [sqlsession.CacheTracer]: set it as [sqlsession.Options.Tracer], and call
// [Tracer.Observe] for the gauges that are read on each collection (live
// sessions, cache size):
//
//	t, err := otelsession.New(otelsession.Options{})
//	...
//	store, err := sqlsession.New(db, sqlsession.Postgres, sqlsession.Options{Tracer: t})
//	...
//	reg, err := t.Observe(store)
//	...
//	defer reg.Unregister()
//
// # Metrics
//
// Every metric carries db.system.name ("postgresql", "mysql", "sqlite",
// "microsoft.sql_server"), db.collection.name (the table, qualified by
// Options.Schema when set) and the attributes of [Options.Attributes].
//
//   - db.client.operation.duration (histogram, s): every operation of the
//     Store, with db.operation.name ("find", "save", "delete_by_owner", ...,
//     see [sqlsession.Op]), error.type when it failed, and
//     sqlsession.cache.result ("hit", "miss", "bypass") when the session
//     cache was asked. Its count by error.type is the error count.
//   - sqlsession.sweep.duration (histogram, s): every sweep of expired
//     sessions, with sqlsession.sweep.background and error.type.
//   - sqlsession.sweep.deleted (counter, {session}) and
//     sqlsession.sweep.batches (counter, {batch}): what the sweeps deleted,
//     and in how many batches.
//   - sqlsession.sessions.live (gauge, {session}): the live sessions, counted
//     by [sqlsession.Store.Count] on each collection ([Tracer.Observe]).
//   - sqlsession.cache.reads (counter, {read}) by sqlsession.cache.result:
//     hits, misses and bypasses of the session cache.
//   - sqlsession.cache.removals (counter, {session}) by
//     sqlsession.cache.reason ("evict", "expire", "invalidate", "flush"),
//     and sqlsession.cache.flushes (counter, {flush}).
//   - sqlsession.cache.entries (gauge, {session}) and sqlsession.cache.size
//     (gauge, By): what the cache holds, on each collection
//     ([Tracer.Observe], with the cache on).
//
// # Spans
//
// Each operation is a client span named "{db.operation.name}
// {db.collection.name}", such as "find sessions", a child of the span in
// the operation's context, with the attributes of its metric and, at its
// end, db.response.returned_rows for reads or sqlsession.rows_affected for
// writes. A failed operation has error.type and an Error status. Each
// sweep is a span "delete_expired {table}", a root span for background
// cleanup. For metrics without spans, pass a no-op TracerProvider
// (go.opentelemetry.io/otel/trace/noop).
package otelsession

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"weak"

	"github.com/sqlsession/sqlsession"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the meter and tracer.
const ScopeName = "github.com/sqlsession/sqlsession/otelsession"

// Attribute keys of sqlsession's own, beside the semantic conventions'.
const (
	// CacheResultKey is "hit", "miss" or "bypass": how the session cache
	// answered a read.
	CacheResultKey = attribute.Key("sqlsession.cache.result")
	// CacheReasonKey is why the session cache dropped sessions: "evict",
	// "expire", "invalidate" or "flush".
	CacheReasonKey = attribute.Key("sqlsession.cache.reason")
	// SweepBackgroundKey is true for the sweeps of background cleanup.
	SweepBackgroundKey = attribute.Key("sqlsession.sweep.background")
	// RowsAffectedKey is the rows a write or a sweep changed.
	RowsAffectedKey = attribute.Key("sqlsession.rows_affected")
	// BatchesKey is the batches a sweep ran.
	BatchesKey = attribute.Key("sqlsession.sweep.batches")
	// CountKey is the live sessions Count found.
	CountKey = attribute.Key("sqlsession.count")
)

// Options configure a [Tracer]. The zero value is valid.
type Options struct {
	// MeterProvider makes the meter. Default: otel.GetMeterProvider() at
	// the time of New.
	MeterProvider metric.MeterProvider
	// TracerProvider makes the tracer. Default: otel.GetTracerProvider()
	// at the time of New. A no-op provider turns spans off.
	TracerProvider trace.TracerProvider
	// Attributes are added to every metric and span, such as
	// semconv.DBNamespace("app") or semconv.ServerAddress("db1"): the
	// Store does not know them. Default none.
	Attributes []attribute.KeyValue
}

// Tracer records the operations, sweeps and cache events of the Stores it
// is set on as OpenTelemetry metrics and spans. One Tracer may serve many
// Stores: each is told apart by its dialect and table. It is safe for
// concurrent use.
type Tracer struct {
	tracer trace.Tracer
	meter  metric.Meter
	attrs  []attribute.KeyValue

	opDuration    metric.Float64Histogram
	sweepDuration metric.Float64Histogram
	sweepDeleted  metric.Int64Counter
	sweepBatches  metric.Int64Counter
	cacheReads    metric.Int64Counter
	cacheRemovals metric.Int64Counter
	cacheFlushes  metric.Int64Counter

	stores sync.Map // weak.Pointer[sqlsession.Store] → *storeInfo
	last   atomic.Pointer[lastStore]
}

var (
	_ sqlsession.Tracer      = (*Tracer)(nil)
	_ sqlsession.SweepTracer = (*Tracer)(nil)
	_ sqlsession.CacheTracer = (*Tracer)(nil)
)

// Bucket boundaries, in seconds. Operations: the semantic conventions'
// advice for db.client.operation.duration, below a millisecond finer, for
// reads answered from the session cache. Sweeps: up to minutes.
var (
	opBuckets    = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10}
	sweepBuckets = []float64{0.001, 0.01, 0.1, 1, 10, 60, 300}
)

// New returns a Tracer that records through the providers of opts. It
// fails only when an instrument cannot be created.
func New(opts Options) (*Tracer, error) {
	mp, tp := opts.MeterProvider, opts.TracerProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	t := &Tracer{
		meter:  mp.Meter(ScopeName, metric.WithSchemaURL(semconv.SchemaURL)),
		tracer: tp.Tracer(ScopeName, trace.WithSchemaURL(semconv.SchemaURL)),
		attrs:  append([]attribute.KeyValue(nil), opts.Attributes...),
	}
	var err error
	if t.opDuration, err = t.meter.Float64Histogram("db.client.operation.duration",
		metric.WithDescription("Duration of database client operations."),
		metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(opBuckets...)); err != nil {
		return nil, fmt.Errorf("otelsession: %w", err)
	}
	if t.sweepDuration, err = t.meter.Float64Histogram("sqlsession.sweep.duration",
		metric.WithDescription("Duration of sweeps of expired sessions."),
		metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(sweepBuckets...)); err != nil {
		return nil, fmt.Errorf("otelsession: %w", err)
	}
	counters := []struct {
		c          *metric.Int64Counter
		name, unit string
		desc       string
	}{
		{&t.sweepDeleted, "sqlsession.sweep.deleted", "{session}", "Expired sessions and tombstones deleted by sweeps."},
		{&t.sweepBatches, "sqlsession.sweep.batches", "{batch}", "Batches run by sweeps of expired sessions."},
		{&t.cacheReads, "sqlsession.cache.reads", "{read}", "Reads that asked the session cache, by result."},
		{&t.cacheRemovals, "sqlsession.cache.removals", "{session}", "Sessions dropped from the session cache, by reason."},
		{&t.cacheFlushes, "sqlsession.cache.flushes", "{flush}", "Times the whole session cache was emptied."},
	}
	for _, c := range counters {
		if *c.c, err = t.meter.Int64Counter(c.name, metric.WithDescription(c.desc), metric.WithUnit(c.unit)); err != nil {
			return nil, fmt.Errorf("otelsession: %w", err)
		}
	}
	return t, nil
}

// storeInfo is what the Tracer precomputes for one Store: its attributes,
// and the attribute sets and span names of each operation.
type storeInfo struct {
	base      []attribute.KeyValue // system, collection, Options.Attributes
	baseSet   attribute.Set
	table     string
	ops       [maxOp + 1]opInfo
	sweepName string
}

type opInfo struct {
	name  string               // span name
	attrs []attribute.KeyValue // base + db.operation.name
	ok    [4]attribute.Set     // success, by cache result (none, hit, miss, bypass)
}

// maxOp bounds the operations with precomputed attributes.
const maxOp = 15

type lastStore struct {
	s    weak.Pointer[sqlsession.Store]
	info *storeInfo
}

// cacheResult indexes opInfo.ok: 0 when the cache was not asked.
func cacheResult(e sqlsession.CacheEvent) int {
	switch e {
	case sqlsession.CacheHit:
		return 1
	case sqlsession.CacheMiss:
		return 2
	case sqlsession.CacheBypass:
		return 3
	}
	return 0
}

// info returns the attributes of s, computed on first sight. The Tracer
// holds Stores weakly: the entry of a Store goes when the Store does.
func (t *Tracer) info(s *sqlsession.Store) *storeInfo {
	if l := t.last.Load(); l != nil && l.s.Value() == s {
		return l.info
	}
	k := weak.Make(s)
	v, ok := t.stores.Load(k)
	if !ok {
		var loaded bool
		v, loaded = t.stores.LoadOrStore(k, t.newInfo(s))
		if !loaded {
			runtime.AddCleanup(s, func(k weak.Pointer[sqlsession.Store]) { t.stores.Delete(k) }, k)
		}
	}
	info := v.(*storeInfo)
	t.last.Store(&lastStore{k, info})
	return info
}

func (t *Tracer) newInfo(s *sqlsession.Store) *storeInfo {
	o := s.Options()
	table := o.Table
	if o.Schema != "" {
		table = o.Schema + "." + o.Table
	}
	info := &storeInfo{table: table, sweepName: "delete_expired " + table}
	info.base = slices.Clip(append([]attribute.KeyValue{systemName(s.Dialect()), semconv.DBCollectionName(table)}, t.attrs...))
	info.baseSet = attribute.NewSet(info.base...)
	for op := sqlsession.Op(1); op <= maxOp; op++ {
		oi := &info.ops[op]
		oi.name = op.String() + " " + table
		oi.attrs = append(append([]attribute.KeyValue(nil), info.base...), semconv.DBOperationName(op.String()))
		oi.ok[0] = attribute.NewSet(oi.attrs...)
		for i, r := range []string{"hit", "miss", "bypass"} {
			oi.ok[i+1] = attribute.NewSet(append(oi.attrs[:len(oi.attrs):len(oi.attrs)], CacheResultKey.String(r))...)
		}
	}
	return info
}

// systemName is the db.system.name of a dialect.
func systemName(d sqlsession.Dialect) attribute.KeyValue {
	switch d {
	case sqlsession.Postgres:
		return semconv.DBSystemNamePostgreSQL
	case sqlsession.MySQL:
		return semconv.DBSystemNameMySQL
	case sqlsession.SQLite:
		return semconv.DBSystemNameSQLite
	case sqlsession.SQLServer:
		return semconv.DBSystemNameMicrosoftSQLServer
	}
	return semconv.DBSystemNameKey.String(d.Name())
}

// opKey is the context key of the operation in progress.
type opKey struct{}

// quietKey marks the context of the Count that Observe runs on each
// collection: measured, but no span of its own on every scrape.
type quietKey struct{}

// noSpan is the span of an operation without one.
var noSpan = trace.SpanFromContext(context.Background())

// opState is an operation in progress: its span, and what the cache
// answered during it.
type opState struct {
	span  trace.Span
	cache sqlsession.CacheEvent
}

// TraceOpStart starts the operation's span and returns a context that
// carries it.
func (t *Tracer) TraceOpStart(ctx context.Context, s *sqlsession.Store, data sqlsession.TraceOpStartData) context.Context {
	info := t.info(s)
	st := &opState{span: noSpan}
	if ctx.Value(quietKey{}) != nil {
		return context.WithValue(ctx, opKey{}, st)
	}
	name, attrs := data.Op.String()+" "+info.table, []attribute.KeyValue(nil)
	if data.Op <= maxOp {
		name, attrs = info.ops[data.Op].name, info.ops[data.Op].attrs
	} else {
		attrs = append(append(attrs, info.base...), semconv.DBOperationName(data.Op.String()))
	}
	ctx, st.span = t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return context.WithValue(ctx, opKey{}, st)
}

// TraceOpEnd records the operation's duration and ends its span.
func (t *Tracer) TraceOpEnd(ctx context.Context, s *sqlsession.Store, data sqlsession.TraceOpEndData) {
	info := t.info(s)
	st, _ := ctx.Value(opKey{}).(*opState)
	var cache sqlsession.CacheEvent
	if st != nil {
		cache = st.cache
	}
	var set attribute.Set
	var errType attribute.KeyValue
	if data.Err != nil {
		errType = ErrorType(data.Err)
		attrs := append([]attribute.KeyValue(nil), info.base...)
		attrs = append(attrs, semconv.DBOperationName(data.Op.String()), errType)
		if r := cacheResult(cache); r != 0 {
			attrs = append(attrs, CacheResultKey.String(cache.String()))
		}
		set = attribute.NewSet(attrs...)
	} else if data.Op <= maxOp {
		set = info.ops[data.Op].ok[cacheResult(cache)]
	} else {
		set = attribute.NewSet(append(append([]attribute.KeyValue(nil), info.base...), semconv.DBOperationName(data.Op.String()))...)
	}
	t.opDuration.Record(ctx, data.Duration.Seconds(), metric.WithAttributeSet(set))
	if st == nil || !st.span.IsRecording() {
		return
	}
	span := st.span
	switch data.Op {
	case sqlsession.OpFind, sqlsession.OpLookup, sqlsession.OpList, sqlsession.OpListByOwner:
		span.SetAttributes(semconv.DBResponseReturnedRows(int(data.Rows)))
	case sqlsession.OpCount:
		span.SetAttributes(CountKey.Int64(data.Rows))
	default:
		span.SetAttributes(RowsAffectedKey.Int64(data.Rows))
	}
	if r := cacheResult(cache); r != 0 {
		span.SetAttributes(CacheResultKey.String(cache.String()))
	}
	if data.Err != nil {
		span.SetAttributes(errType)
		if code, ok := sqlState(data.Err); ok {
			span.SetAttributes(semconv.DBResponseStatusCode(code))
		}
		span.SetStatus(codes.Error, data.Err.Error())
	}
	span.End()
}

// sweepKey is the context key of the sweep in progress.
type sweepKey struct{}

// TraceSweepStart starts the sweep's span.
func (t *Tracer) TraceSweepStart(ctx context.Context, s *sqlsession.Store, data sqlsession.TraceSweepStartData) context.Context {
	info := t.info(s)
	attrs := append(append([]attribute.KeyValue(nil), info.base...),
		semconv.DBOperationName("delete_expired"), SweepBackgroundKey.Bool(data.Background))
	ctx, span := t.tracer.Start(ctx, info.sweepName, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return context.WithValue(ctx, sweepKey{}, span)
}

// TraceSweepEnd records the sweep and ends its span.
func (t *Tracer) TraceSweepEnd(ctx context.Context, s *sqlsession.Store, data sqlsession.TraceSweepEndData) {
	info := t.info(s)
	attrs := append(append([]attribute.KeyValue(nil), info.base...), SweepBackgroundKey.Bool(data.Background))
	counted := metric.WithAttributeSet(attribute.NewSet(attrs...))
	t.sweepDeleted.Add(ctx, data.Rows, counted)
	t.sweepBatches.Add(ctx, int64(data.Batches), counted)
	var errType attribute.KeyValue
	if data.Err != nil {
		errType = ErrorType(data.Err)
		attrs = append(attrs, errType)
	}
	t.sweepDuration.Record(ctx, data.Duration.Seconds(), metric.WithAttributeSet(attribute.NewSet(attrs...)))
	span, _ := ctx.Value(sweepKey{}).(trace.Span)
	if span == nil || !span.IsRecording() {
		return
	}
	span.SetAttributes(RowsAffectedKey.Int64(data.Rows), BatchesKey.Int(data.Batches))
	if data.Err != nil {
		span.SetAttributes(errType)
		span.SetStatus(codes.Error, data.Err.Error())
	}
	span.End()
}

// TraceCache counts a cache event; a hit, a miss or a bypass also marks
// the operation's span and duration with sqlsession.cache.result.
func (t *Tracer) TraceCache(ctx context.Context, s *sqlsession.Store, data sqlsession.TraceCacheData) {
	info := t.info(s)
	switch data.Event {
	case sqlsession.CacheHit, sqlsession.CacheMiss, sqlsession.CacheBypass:
		if st, ok := ctx.Value(opKey{}).(*opState); ok {
			st.cache = data.Event
		}
		t.cacheReads.Add(ctx, int64(data.Sessions), metric.WithAttributes(append(info.base, CacheResultKey.String(data.Event.String()))...))
		return
	case sqlsession.CacheFlush:
		t.cacheFlushes.Add(ctx, 1, metric.WithAttributeSet(info.baseSet))
	}
	if data.Sessions > 0 {
		t.cacheRemovals.Add(ctx, int64(data.Sessions), metric.WithAttributes(append(info.base, CacheReasonKey.String(data.Event.String()))...))
	}
}

// Observe registers the gauges of store, read on each collection:
// sqlsession.sessions.live, from [sqlsession.Store.Count] (one query
// through the index on the expiry, bounded by the collection's context),
// and with the session cache on, sqlsession.cache.entries and
// sqlsession.cache.size from [sqlsession.Store.CacheStats]. Unregister
// the returned registration before closing the Store.
func (t *Tracer) Observe(store *sqlsession.Store) (metric.Registration, error) {
	info := t.info(store)
	live, err := t.meter.Int64ObservableGauge("sqlsession.sessions.live",
		metric.WithDescription("Live sessions in the table."), metric.WithUnit("{session}"))
	if err != nil {
		return nil, fmt.Errorf("otelsession: %w", err)
	}
	entries, err := t.meter.Int64ObservableGauge("sqlsession.cache.entries",
		metric.WithDescription("Sessions held by the session cache."), metric.WithUnit("{session}"))
	if err != nil {
		return nil, fmt.Errorf("otelsession: %w", err)
	}
	size, err := t.meter.Int64ObservableGauge("sqlsession.cache.size",
		metric.WithDescription("Memory the session cache counts against its MaxBytes."), metric.WithUnit("By"))
	if err != nil {
		return nil, fmt.Errorf("otelsession: %w", err)
	}
	cached := store.Options().Cache.MaxBytes > 0
	attrs := metric.WithAttributeSet(info.baseSet)
	reg, err := t.meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		if cached {
			st := store.CacheStats()
			o.ObserveInt64(entries, int64(st.Entries), attrs)
			o.ObserveInt64(size, st.Bytes, attrs)
		}
		n, err := store.Count(context.WithValue(ctx, quietKey{}, true))
		if err != nil {
			return fmt.Errorf("otelsession: live sessions of %s: %w", info.table, err)
		}
		o.ObserveInt64(live, n, attrs)
		return nil
	}, live, entries, size)
	if err != nil {
		return nil, fmt.Errorf("otelsession: %w", err)
	}
	return reg, nil
}

// ErrorType returns the error.type attribute of an error of a Store: for
// sqlsession's sentinels a short name ("closed", "conflict", "deleted",
// "too_large", "invalid_token", "invalid_expiry", "invalid_owner",
// "no_owner", "no_version"), "timeout" and "canceled" for the ends of a
// context, the SQLSTATE of a database error that has one (pgx's), and
// otherwise what semconv.ErrorType gives: the error's type name.
func ErrorType(err error) attribute.KeyValue {
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return semconv.ErrorTypeKey.String(s.name)
		}
	}
	if code, ok := sqlState(err); ok {
		return semconv.ErrorTypeKey.String(code)
	}
	return semconv.ErrorType(err)
}

var sentinels = []struct {
	err  error
	name string
}{
	{sqlsession.ErrClosed, "closed"},
	{sqlsession.ErrConflict, "conflict"},
	{sqlsession.ErrDeleted, "deleted"},
	{sqlsession.ErrTooLarge, "too_large"},
	{sqlsession.ErrInvalidToken, "invalid_token"},
	{sqlsession.ErrInvalidExpiry, "invalid_expiry"},
	{sqlsession.ErrInvalidOwner, "invalid_owner"},
	{sqlsession.ErrNoOwner, "no_owner"},
	{sqlsession.ErrNoVersion, "no_version"},
	{context.DeadlineExceeded, "timeout"},
	{context.Canceled, "canceled"},
}

// sqlState returns the SQLSTATE of a database error that reports one
// (pgconn.PgError's SQLState method).
func sqlState(err error) (string, bool) {
	var e interface{ SQLState() string }
	if errors.As(err, &e) && e.SQLState() != "" {
		return e.SQLState(), true
	}
	return "", false
}
