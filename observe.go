package sqlsession

import (
	"context"
	"time"
)

// Tracer observes the operations of a [Store] ([Options.Tracer]), for
// metrics, traces or logs. Its shape follows pgx's tracers: the start of
// an operation returns the context that the operation then runs with (and
// that its end, and any cache event during it, receive), so that a span
// started there is the parent of what happens inside.
//
// A Tracer may also implement [SweepTracer] and [CacheTracer], which the
// Store finds by type assertion when it is created. The methods are called
// synchronously, from the goroutine of the operation, and must be safe for
// concurrent use; they should return quickly. Module otelsession turns
// them into OpenTelemetry metrics and spans.
type Tracer interface {
	// TraceOpStart is called when an operation begins, before anything
	// else it does (an operation on a closed Store starts and ends with
	// [ErrClosed]). The context it returns is the one the operation uses.
	TraceOpStart(ctx context.Context, s *Store, data TraceOpStartData) context.Context
	// TraceOpEnd is called when the operation has ended, with the context
	// TraceOpStart returned.
	TraceOpEnd(ctx context.Context, s *Store, data TraceOpEndData)
}

// SweepTracer is a [Tracer] that also observes the sweeps of
// [Store.DeleteExpired], whether called directly or by background
// cleanup ([Options.CleanupInterval], [Options.CleanupEvery]). A sweep is
// not reported as an operation.
type SweepTracer interface {
	// TraceSweepStart is called when a sweep begins. The context it
	// returns is the one the sweep uses.
	TraceSweepStart(ctx context.Context, s *Store, data TraceSweepStartData) context.Context
	// TraceSweepEnd is called when the sweep has ended, with the context
	// TraceSweepStart returned.
	TraceSweepEnd(ctx context.Context, s *Store, data TraceSweepEndData)
}

// CacheTracer is a [Tracer] that also observes the session cache
// ([Options.Cache]). TraceCache is called once for each event, never while
// the cache holds a lock. For hits, misses and bypasses ctx is the one the
// reading operation got from [Tracer.TraceOpStart]; for the other events,
// which may come from the reader of the change log, it is a context of the
// Store's own that [Store.Close] cancels.
type CacheTracer interface {
	TraceCache(ctx context.Context, s *Store, data TraceCacheData)
}

// Op names an operation of a [Store], for a [Tracer].
type Op uint8

// The operations a [Tracer] observes.
const (
	OpFind          Op = iota + 1 // Store.Find
	OpLookup                      // Store.Lookup
	OpSave                        // Store.Save
	OpSaveIf                      // Store.SaveIf
	OpTouch                       // Store.Touch
	OpDelete                      // Store.Delete
	OpCount                       // Store.Count
	OpClear                       // Store.Clear
	OpList                        // one page of Store.All
	OpListByOwner                 // Store.ListByOwner
	OpDeleteByOwner               // Store.DeleteByOwner
	OpDeleteOthers                // Store.DeleteOthers
	OpDeleteByID                  // Store.DeleteByID
)

var opNames = [...]string{
	OpFind:          "find",
	OpLookup:        "lookup",
	OpSave:          "save",
	OpSaveIf:        "save_if",
	OpTouch:         "touch",
	OpDelete:        "delete",
	OpCount:         "count",
	OpClear:         "clear",
	OpList:          "list",
	OpListByOwner:   "list_by_owner",
	OpDeleteByOwner: "delete_by_owner",
	OpDeleteOthers:  "delete_others",
	OpDeleteByID:    "delete_by_id",
}

// String returns the operation's name in snake case, such as "find" or
// "save_if": fit for a metric attribute.
func (o Op) String() string {
	if int(o) < len(opNames) && opNames[o] != "" {
		return opNames[o]
	}
	return "unknown"
}

// TraceOpStartData is what [Tracer.TraceOpStart] learns of an operation.
type TraceOpStartData struct {
	Op Op
}

// TraceOpEndData is what [Tracer.TraceOpEnd] learns of an operation.
type TraceOpEndData struct {
	Op Op
	// Duration is the time from just before TraceOpStart was called to
	// just before TraceOpEnd.
	Duration time.Duration
	// Rows is how many sessions the operation found, wrote or deleted: for
	// Find and Lookup 1 when the session was found, else 0; for Count the
	// count; for a page of All and for ListByOwner the sessions returned;
	// for the writes and deletes the rows the database reported changed
	// (MySQL counts an upsert that updates as 2).
	Rows int64
	// Err is the error the operation returned, nil on success. Answers
	// that are errors by contract ([ErrConflict], [ErrDeleted]) are here
	// too.
	Err error
}

// TraceSweepStartData is what [SweepTracer.TraceSweepStart] learns of a
// sweep.
type TraceSweepStartData struct {
	// Background is true for the sweeps of background cleanup, false for
	// a call of [Store.DeleteExpired].
	Background bool
}

// TraceSweepEndData is what [SweepTracer.TraceSweepEnd] learns of a sweep.
type TraceSweepEndData struct {
	Background bool
	// Duration is the time the sweep took, pauses between batches included.
	Duration time.Duration
	// Rows is how many expired sessions and tombstones it deleted.
	Rows int64
	// Batches is how many batches it ran: the last one usually deletes
	// fewer rows than a full batch, often none.
	Batches int
	// Err is the error DeleteExpired returned, such as the end of its
	// context; nil on success.
	Err error
}

// CacheEvent is a kind of event of the session cache, for a [CacheTracer].
type CacheEvent uint8

// The events of the session cache.
const (
	// CacheHit is a read answered from memory.
	CacheHit CacheEvent = iota + 1
	// CacheMiss is a read that went to the table while the cache was
	// serving (CacheStats.Misses).
	CacheMiss
	// CacheBypass is a read that went to the table because the cache could
	// not vouch for its contents (CacheStats.Bypassed).
	CacheBypass
	// CacheEvict is sessions dropped to make room (CacheStats.Evictions).
	CacheEvict
	// CacheExpire is a session dropped because it expired or was held
	// longer than CacheOptions.MaxAge (CacheStats.Expirations).
	CacheExpire
	// CacheInvalidate is sessions dropped because their row changed: read
	// from the change log, or written by this Store
	// (CacheStats.Invalidations).
	CacheInvalidate
	// CacheFlush is the whole cache emptied (CacheStats.Flushes);
	// Sessions is how many it held.
	CacheFlush
)

var cacheEventNames = [...]string{
	CacheHit:        "hit",
	CacheMiss:       "miss",
	CacheBypass:     "bypass",
	CacheEvict:      "evict",
	CacheExpire:     "expire",
	CacheInvalidate: "invalidate",
	CacheFlush:      "flush",
}

// String returns the event's name, such as "hit" or "evict".
func (e CacheEvent) String() string {
	if int(e) < len(cacheEventNames) && cacheEventNames[e] != "" {
		return cacheEventNames[e]
	}
	return "unknown"
}

// TraceCacheData is what [CacheTracer.TraceCache] learns of a cache event.
type TraceCacheData struct {
	Event CacheEvent
	// Sessions is how many sessions the event concerns: 1 for a hit, a
	// miss, a bypass or an expiry; the sessions dropped for the others
	// (0 for a flush of an empty cache).
	Sessions int
}

// tracers are the Store's observers, found once in New.
type tracers struct {
	op    Tracer
	sweep SweepTracer
	cache CacheTracer
}

func newTracers(t Tracer) tracers {
	tr := tracers{op: t}
	tr.sweep, _ = t.(SweepTracer)
	tr.cache, _ = t.(CacheTracer)
	return tr
}

// opTrace is an operation in progress; the zero opTrace (no Tracer)
// reports nothing and costs nothing.
type opTrace struct {
	s     *Store
	op    Op
	start time.Time
}

// startOp reports the start of an operation to the Tracer, if there is one,
// and returns the context the operation runs with.
func (s *Store) startOp(ctx context.Context, op Op) (context.Context, opTrace) {
	t := s.tr.op
	if t == nil {
		return ctx, opTrace{}
	}
	start := time.Now()
	return t.TraceOpStart(ctx, s, TraceOpStartData{Op: op}), opTrace{s, op, start}
}

// end reports the end of the operation.
func (o opTrace) end(ctx context.Context, rows int64, err error) {
	if o.s == nil {
		return
	}
	o.s.tr.op.TraceOpEnd(ctx, o.s, TraceOpEndData{Op: o.op, Duration: time.Since(o.start), Rows: rows, Err: err})
}

// sweepTrace is a sweep in progress, like opTrace.
type sweepTrace struct {
	s          *Store
	background bool
	start      time.Time
}

func (s *Store) startSweep(ctx context.Context, background bool) (context.Context, sweepTrace) {
	t := s.tr.sweep
	if t == nil {
		return ctx, sweepTrace{}
	}
	start := time.Now()
	return t.TraceSweepStart(ctx, s, TraceSweepStartData{Background: background}), sweepTrace{s, background, start}
}

func (w sweepTrace) end(ctx context.Context, rows int64, batches int, err error) {
	if w.s == nil {
		return
	}
	w.s.tr.sweep.TraceSweepEnd(ctx, w.s, TraceSweepEndData{
		Background: w.background, Duration: time.Since(w.start), Rows: rows, Batches: batches, Err: err,
	})
}

// traceCache reports a cache event of a read.
func (s *Store) traceCache(ctx context.Context, ev CacheEvent) {
	if t := s.tr.cache; t != nil {
		t.TraceCache(ctx, s, TraceCacheData{Event: ev, Sessions: 1})
	}
}

// cacheEvents returns what the cache calls for the events that are not a
// read's: nil without a CacheTracer.
func (s *Store) cacheEvents() func(CacheEvent, int) {
	t := s.tr.cache
	if t == nil {
		return nil
	}
	return func(ev CacheEvent, n int) {
		t.TraceCache(s.ctx, s, TraceCacheData{Event: ev, Sessions: n})
	}
}

func boolRows(found bool) int64 {
	if found {
		return 1
	}
	return 0
}
