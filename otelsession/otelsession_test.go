package otelsession_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/internal/testenv"
	"github.com/sqlsession/sqlsession/otelsession"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	_ "modernc.org/sqlite"
)

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// database is a real database for a Store: its dialect, a *sql.DB, and
// the schema the test's tables go in.
type database struct {
	name    string
	system  string // db.system.name
	dialect sqlsession.Dialect
	open    func(t *testing.T) (db *sql.DB, schema string)
}

// databases are SQLite (a file in the test's directory, always) and
// PostgreSQL from SQLSESSION_TEST_POSTGRES_DSN (skipped when unset, a
// failure in strict mode), in a fresh schema dropped at the end.
var databases = []database{
	{"sqlite", "sqlite", sqlsession.SQLite, func(t *testing.T) (*sql.DB, string) {
		db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "s.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db, ""
	}},
	{"postgres", "postgresql", sqlsession.Postgres, func(t *testing.T) (*sql.DB, string) {
		db := testenv.Open(t, "pgx", testenv.PostgresDSN)
		schema := testenv.Name("otel")
		if _, err := db.ExecContext(testCtx(t), `CREATE SCHEMA "`+schema+`"`); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := db.ExecContext(ctx, `DROP SCHEMA "`+schema+`" CASCADE`); err != nil {
				t.Errorf("DROP SCHEMA = %v", err)
			}
		})
		return db, schema
	}},
}

// telemetry is an SDK that keeps what it records in memory.
type telemetry struct {
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	tracer *otelsession.Tracer
}

func newTelemetry(t *testing.T) *telemetry {
	tel := &telemetry{reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(tel.reader))
	tel.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tel.spans))
	t.Cleanup(func() {
		mp.Shutdown(context.Background())
		tel.tp.Shutdown(context.Background())
	})
	var err error
	tel.tracer, err = otelsession.New(otelsession.Options{
		MeterProvider: mp, TracerProvider: tel.tp,
		Attributes: []attribute.KeyValue{semconv.DBNamespace("app")},
	})
	if err != nil {
		t.Fatal(err)
	}
	return tel
}

func (tel *telemetry) collect(t *testing.T) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := tel.reader.Collect(testCtx(t), &rm); err != nil {
		t.Fatalf("Collect = %v", err)
	}
	return rm
}

// metric returns the metric named name, or fails the test.
func metric(t *testing.T, rm metricdata.ResourceMetrics, name string) metricdata.Metrics {
	t.Helper()
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != otelsession.ScopeName {
			continue
		}
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m
			}
		}
	}
	t.Fatalf("no metric %s", name)
	return metricdata.Metrics{}
}

// has reports whether set holds every attribute of want.
func has(set attribute.Set, want ...attribute.KeyValue) bool {
	for _, kv := range want {
		if v, ok := set.Value(kv.Key); !ok || v != kv.Value {
			return false
		}
	}
	return true
}

// histCount returns the count of the histogram points whose attributes
// hold want, and whether every such point lacks the keys of absent.
func histCount(t *testing.T, m metricdata.Metrics, want []attribute.KeyValue, absent ...attribute.Key) uint64 {
	t.Helper()
	h, ok := m.Data.(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("%s is a %T, want a float64 histogram", m.Name, m.Data)
	}
	var n uint64
	for _, p := range h.DataPoints {
		if !has(p.Attributes, want...) {
			continue
		}
		skip := false
		for _, k := range absent {
			if p.Attributes.HasValue(k) {
				skip = true
			}
		}
		if !skip {
			n += p.Count
		}
	}
	return n
}

// sum returns the sum of the int64 counter points, or the value of the
// gauge points, whose attributes hold want.
func sum(t *testing.T, m metricdata.Metrics, want ...attribute.KeyValue) int64 {
	t.Helper()
	var points []metricdata.DataPoint[int64]
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		points = d.DataPoints
	case metricdata.Gauge[int64]:
		points = d.DataPoints
	default:
		t.Fatalf("%s is a %T, want int64 points", m.Name, m.Data)
	}
	var n int64
	for _, p := range points {
		if has(p.Attributes, want...) {
			n += p.Value
		}
	}
	return n
}

func attr(s sdktrace.ReadOnlySpan, k attribute.Key) (attribute.Value, bool) {
	for _, kv := range s.Attributes() {
		if kv.Key == k {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

// TestMetricsAndSpans runs operations and a sweep on each database and
// checks the metrics and spans they leave: names, semantic-convention
// attributes, error types, counts, the live-session gauge, and that the
// spans are children of the caller's span.
func TestMetricsAndSpans(t *testing.T) {
	for _, d := range databases {
		t.Run(d.name, func(t *testing.T) {
			db, schema := d.open(t)
			tel := newTelemetry(t)
			table := "sess_" + d.name
			store, err := sqlsession.New(db, d.dialect, sqlsession.Options{Table: table, Schema: schema, Tracer: tel.tracer})
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			ctx := testCtx(t)
			if err := store.CreateTable(ctx); err != nil {
				t.Fatal(err)
			}
			reg, err := tel.tracer.Observe(store)
			if err != nil {
				t.Fatal(err)
			}
			defer reg.Unregister()

			ctx, parent := tel.tp.Tracer("test").Start(ctx, "request")
			a, b, old := sqlsession.NewToken(), sqlsession.NewToken(), sqlsession.NewToken()
			for tok, exp := range map[string]time.Time{a: time.Now().Add(time.Hour), b: time.Now().Add(time.Hour), old: time.Now().Add(-time.Hour)} {
				if err := store.Save(ctx, tok, []byte("data"), exp); err != nil {
					t.Fatal(err)
				}
			}
			if _, found, err := store.Find(ctx, a); !found || err != nil {
				t.Fatalf("Find(a) = %v, %v", found, err)
			}
			if _, found, err := store.Find(ctx, sqlsession.NewToken()); found || err != nil {
				t.Fatalf("Find(unknown) = %v, %v", found, err)
			}
			if err := store.SaveIf(ctx, b, []byte("x"), time.Time{}, 12345); !errors.Is(err, sqlsession.ErrConflict) {
				t.Fatalf("SaveIf(stale version) = %v, want ErrConflict", err)
			}
			if n, err := store.DeleteExpired(ctx); n != 1 || err != nil {
				t.Fatalf("DeleteExpired = %d, %v, want 1", n, err)
			}
			parent.End()

			collection := table
			if schema != "" {
				collection = schema + "." + table
			}
			base := []attribute.KeyValue{semconv.DBSystemNameKey.String(d.system), semconv.DBCollectionName(collection), semconv.DBNamespace("app")}
			with := func(kv ...attribute.KeyValue) []attribute.KeyValue {
				return append(append([]attribute.KeyValue(nil), base...), kv...)
			}

			rm := tel.collect(t)
			dur := metric(t, rm, "db.client.operation.duration")
			if dur.Unit != "s" {
				t.Errorf("db.client.operation.duration has unit %q, want s", dur.Unit)
			}
			for _, c := range []struct {
				attrs  []attribute.KeyValue
				absent []attribute.Key
				want   uint64
			}{
				{with(semconv.DBOperationName("save")), []attribute.Key{semconv.ErrorTypeKey}, 3},
				{with(semconv.DBOperationName("find")), []attribute.Key{semconv.ErrorTypeKey}, 2},
				{with(semconv.DBOperationName("save_if"), semconv.ErrorTypeKey.String("conflict")), nil, 1},
				{with(semconv.DBOperationName("save_if")), []attribute.Key{semconv.ErrorTypeKey}, 0},
				{with(semconv.DBOperationName("count")), nil, 1}, // the gauge's Count
			} {
				if got := histCount(t, dur, c.attrs, c.absent...); got != c.want {
					t.Errorf("db.client.operation.duration count with %v = %d, want %d", c.attrs, got, c.want)
				}
			}
			if got := histCount(t, metric(t, rm, "sqlsession.sweep.duration"), with(otelsession.SweepBackgroundKey.Bool(false))); got != 1 {
				t.Errorf("sqlsession.sweep.duration count = %d, want 1", got)
			}
			if got := sum(t, metric(t, rm, "sqlsession.sweep.deleted"), base...); got != 1 {
				t.Errorf("sqlsession.sweep.deleted = %d, want 1", got)
			}
			if got := sum(t, metric(t, rm, "sqlsession.sweep.batches"), base...); got < 1 {
				t.Errorf("sqlsession.sweep.batches = %d, want at least 1", got)
			}
			if got := sum(t, metric(t, rm, "sqlsession.sessions.live"), base...); got != 2 {
				t.Errorf("sqlsession.sessions.live = %d, want 2", got)
			}

			spans := tel.spans.Ended()
			byName := map[string]int{}
			for _, s := range spans {
				byName[s.Name()]++
				if s.Name() == "request" {
					continue
				}
				if s.SpanKind() != trace.SpanKindClient {
					t.Errorf("span %q has kind %v, want client", s.Name(), s.SpanKind())
				}
				if s.Parent().SpanID() != parent.SpanContext().SpanID() {
					t.Errorf("span %q is not a child of the caller's span", s.Name())
				}
				for _, kv := range base {
					if v, ok := attr(s, kv.Key); !ok || v != kv.Value {
						t.Errorf("span %q has %s = %v, want %v", s.Name(), kv.Key, v.String(), kv.Value.String())
					}
				}
				switch s.Name() {
				case "save_if " + collection:
					if v, _ := attr(s, semconv.ErrorTypeKey); v.AsString() != "conflict" || s.Status().Code != codes.Error {
						t.Errorf("SaveIf's span has error.type %q and status %v, want conflict, Error", v.AsString(), s.Status())
					}
				case "delete_expired " + collection:
					if v, _ := attr(s, otelsession.RowsAffectedKey); v.AsInt64() != 1 {
						t.Errorf("the sweep's span has %s = %d, want 1", otelsession.RowsAffectedKey, v.AsInt64())
					}
				case "find " + collection:
					if v, ok := attr(s, semconv.DBResponseReturnedRowsKey); !ok || v.AsInt64() > 1 {
						t.Errorf("Find's span has %s = %v", semconv.DBResponseReturnedRowsKey, v.String())
					}
				}
			}
			want := map[string]int{"request": 1, "save " + collection: 3, "find " + collection: 2,
				"save_if " + collection: 1, "delete_expired " + collection: 1}
			if fmt.Sprint(byName) != fmt.Sprint(want) {
				t.Errorf("spans %v, want %v (none for the gauge's Count)", byName, want)
			}
		})
	}
}

// TestCache turns the session cache on and checks its counters, the
// cache result on the read's duration and span, and the cache gauges.
func TestCache(t *testing.T) {
	for _, d := range databases {
		t.Run(d.name, func(t *testing.T) {
			db, schema := d.open(t)
			tel := newTelemetry(t)
			store, err := sqlsession.New(db, d.dialect, sqlsession.Options{
				Table: "cached", Schema: schema, Tracer: tel.tracer,
				Cache: sqlsession.CacheOptions{MaxEntries: 100},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			ctx := testCtx(t)
			if err := store.CreateTable(ctx); err != nil {
				t.Fatal(err)
			}
			reg, err := tel.tracer.Observe(store)
			if err != nil {
				t.Fatal(err)
			}
			defer reg.Unregister()
			tok := sqlsession.NewToken()
			if err := store.Save(ctx, tok, []byte("data"), time.Time{}); err != nil {
				t.Fatal(err)
			}
			// The cache serves once its reader has read the change log.
			deadline := time.Now().Add(10 * time.Second)
			for store.CacheStats().Hits == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("no cache hit in 10s: %+v", store.CacheStats())
				}
				if _, found, err := store.Find(ctx, tok); !found || err != nil {
					t.Fatalf("Find = %v, %v", found, err)
				}
				time.Sleep(5 * time.Millisecond)
			}
			rm := tel.collect(t)
			st := store.CacheStats()
			reads := metric(t, rm, "sqlsession.cache.reads")
			for _, c := range []struct {
				result string
				want   uint64
			}{{"hit", st.Hits}, {"miss", st.Misses}, {"bypass", st.Bypassed}} {
				if got := sum(t, reads, otelsession.CacheResultKey.String(c.result)); uint64(got) != c.want {
					t.Errorf("sqlsession.cache.reads{%s} = %d, want %d as CacheStats counts", c.result, got, c.want)
				}
			}
			hits := histCount(t, metric(t, rm, "db.client.operation.duration"),
				[]attribute.KeyValue{semconv.DBOperationName("find"), otelsession.CacheResultKey.String("hit")})
			if hits != st.Hits {
				t.Errorf("db.client.operation.duration{find, hit} count = %d, want %d", hits, st.Hits)
			}
			if got := sum(t, metric(t, rm, "sqlsession.cache.entries")); got != 1 {
				t.Errorf("sqlsession.cache.entries = %d, want 1", got)
			}
			if got := sum(t, metric(t, rm, "sqlsession.cache.size")); got <= 0 {
				t.Errorf("sqlsession.cache.size = %d, want more than 0", got)
			}
			var hitSpan bool
			for _, s := range tel.spans.Ended() {
				if v, ok := attr(s, otelsession.CacheResultKey); ok && v.AsString() == "hit" {
					hitSpan = true
				}
			}
			if !hitSpan {
				t.Error("no span has sqlsession.cache.result = hit")
			}

			if err := store.Delete(ctx, tok); err != nil {
				t.Fatal(err)
			}
			rm = tel.collect(t)
			if got := sum(t, metric(t, rm, "sqlsession.cache.removals"), otelsession.CacheReasonKey.String("invalidate")); got < 1 {
				t.Errorf("sqlsession.cache.removals{invalidate} = %d after Delete of a cached session, want at least 1", got)
			}
		})
	}
}

// sqlStateError is a database error with an SQLSTATE, as pgconn.PgError.
type sqlStateError struct{ code string }

func (e *sqlStateError) Error() string    { return "database error " + e.code }
func (e *sqlStateError) SQLState() string { return e.code }

func TestErrorType(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"conflict", fmt.Errorf("x: %w", sqlsession.ErrConflict), "conflict"},
		{"closed", sqlsession.ErrClosed, "closed"},
		{"too large", fmt.Errorf("sqlsession: save: %w", sqlsession.ErrTooLarge), "too_large"},
		{"timeout", fmt.Errorf("sqlsession: find: %w", ctx.Err()), "timeout"},
		{"canceled", context.Canceled, "canceled"},
		{"sqlstate", fmt.Errorf("sqlsession: save: %w", &sqlStateError{"40001"}), "40001"},
		{"other", fmt.Errorf("sqlsession: find: %w", sql.ErrConnDone), "*errors.errorString"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := otelsession.ErrorType(tt.err); got.Key != semconv.ErrorTypeKey || got.Value.AsString() != tt.want {
				t.Errorf("ErrorType(%v) = %v, want error.type=%s", tt.err, got, tt.want)
			}
		})
	}
}
