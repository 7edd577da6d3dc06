package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/sqlsession/sqlsession/internal/testenv"
)

// BenchmarkReadPath calls the handlers of the end-to-end comparison
// directly, without wrk or net/http's server, with the read-only GET of one
// of 1000 sessions, on one goroutine per GOMAXPROCS: ns/op and allocs/op
// are the session manager's, its store's and its driver's, the figures to
// profile (-cpuprofile, -memprofile) when the end-to-end ratios move. Each
// request carries a cancellable context, as a server's does. It needs
// PostgreSQL, and redis-server for scs on Redis.
func BenchmarkReadPath(b *testing.B) {
	if os.Getenv(testenv.PostgresDSN) == "" {
		b.Skipf("set %s to run this benchmark", testenv.PostgresDSN)
	}
	cfg := defaultConfig()
	cfg.pgDSN = os.Getenv(testenv.PostgresDSN)
	e := &env{cfg: cfg, dir: b.TempDir()}
	b.Cleanup(e.close)
	ctx := context.Background()
	res := &e2eResult{}
	for _, srv := range []e2eServer{
		{"floor", startE2EFloor},
		{"httpsession", startE2EHTTPSession(plainStore)},
		{"httpsession-cache", startE2EHTTPSession(cachedStore)},
		{"scs-sqlsession", startE2EScs(scsOnCore)},
		{"scs-redis", startE2EScs(scsOnRedis(res))},
	} {
		h, cookies, err := srv.start(ctx, e, 1000)
		if err != nil && err != errNoRedis {
			b.Fatalf("%s: %v", srv.name, err)
		}
		b.Run(srv.name, func(b *testing.B) {
			if err != nil {
				b.Skip(err)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				rctx, cancel := context.WithCancel(ctx)
				defer cancel()
				reqs := make([]*http.Request, len(cookies))
				for i, c := range cookies {
					reqs[i] = httptest.NewRequestWithContext(rctx, http.MethodGet, "/read", nil)
					reqs[i].Header.Set("Cookie", c)
				}
				w := &discard{h: http.Header{}}
				for i := 0; pb.Next(); i++ {
					h.ServeHTTP(w, reqs[i%len(reqs)])
				}
			})
		})
	}
}
