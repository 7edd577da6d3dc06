package otelsession_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/otelsession"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// A Store with a Tracer: its operations become spans and the
// db.client.operation.duration histogram, and Observe adds the
// live-session gauge. A real program passes the providers of its
// exporters (or sets the global ones and leaves Options empty); this one
// keeps what it records in memory and prints it.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "otelsession")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "sessions.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	reader := sdkmetric.NewManualReader()
	spans := tracetest.NewSpanRecorder()
	tracer, err := otelsession.New(otelsession.Options{
		MeterProvider:  sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
		TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)),
	})
	if err != nil {
		log.Fatal(err)
	}
	store, err := sqlsession.New(db, sqlsession.SQLite, sqlsession.Options{Tracer: tracer})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	if err := store.CreateTable(ctx); err != nil {
		log.Fatal(err)
	}
	reg, err := tracer.Observe(store) // sqlsession.sessions.live
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Unregister()

	token := sqlsession.NewToken()
	if err := store.Save(ctx, token, []byte(`{"user":"ada"}`), time.Now().Add(time.Hour)); err != nil {
		log.Fatal(err)
	}
	if _, _, err := store.Find(ctx, token); err != nil {
		log.Fatal(err)
	}

	for _, s := range spans.Ended() {
		fmt.Println("span:", s.Name())
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		log.Fatal(err)
	}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		switch d := m.Data.(type) {
		case metricdata.Histogram[float64]:
			for _, p := range d.DataPoints {
				op, _ := p.Attributes.Value("db.operation.name")
				fmt.Printf("%s{%s}: %d\n", m.Name, op.AsString(), p.Count)
			}
		case metricdata.Gauge[int64]:
			for _, p := range d.DataPoints {
				fmt.Printf("%s: %d\n", m.Name, p.Value)
			}
		}
	}
	// Unordered output:
	// span: save sessions
	// span: find sessions
	// db.client.operation.duration{save}: 1
	// db.client.operation.duration{find}: 1
	// db.client.operation.duration{count}: 1
	// sqlsession.sessions.live: 1
}
