package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/internal/testenv"
)

// BenchmarkStore measures Find and Save (200 B) of the floor and of
// sqlsession, one goroutine per GOMAXPROCS (b.RunParallel), on tables of
// 10,000 sessions: what sqlsession adds over the raw driver per operation.
// SQLite always runs; PostgreSQL (pgx pool) and MariaDB run when their DSNs
// are set. The full side-by-side comparison is `go run .`.
func BenchmarkStore(b *testing.B) {
	cases := []struct {
		family string
		env    string
	}{
		{"sqlite-modernc", ""},
		{"sqlite-mattn", ""},
		{"postgres-pgx", testenv.PostgresDSN},
		{"mysql", testenv.MySQLDSN},
	}
	for _, c := range cases {
		b.Run(c.family, func(b *testing.B) {
			cfg := defaultConfig()
			cfg.pgDSN, cfg.myDSN = "", ""
			switch c.env {
			case testenv.PostgresDSN:
				cfg.pgDSN = os.Getenv(c.env)
			case testenv.MySQLDSN:
				cfg.myDSN = os.Getenv(c.env)
			}
			if c.env != "" && os.Getenv(c.env) == "" {
				b.Skipf("set %s to run this benchmark", c.env)
			}
			e := &env{cfg: cfg, dir: b.TempDir()}
			defer e.close()
			ctx := context.Background()
			var fam family
			for _, f := range families() {
				if f.key == c.family {
					fam = f
				}
			}
			tokens := make([]string, 10000)
			for i := range tokens {
				tokens[i] = sqlsession.NewToken()
			}
			data := randomBytes(200)
			for _, t := range fam.targets {
				if t.role != roleFloor && t.role != roleCore {
					continue
				}
				in, err := t.open(ctx, e)
				if err != nil {
					b.Fatalf("open %s: %v", t.name, err)
				}
				if in.close != nil {
					defer in.close()
				}
				if err := in.seed(ctx, tokens, data, defaultExpiry()); err != nil {
					b.Fatalf("seed %s: %v", t.name, err)
				}
				name := strings.ReplaceAll(t.name, "/", "-")
				b.Run("find/"+name, func(b *testing.B) {
					b.ReportAllocs()
					b.RunParallel(func(pb *testing.PB) {
						r := rng(len(tokens)*7919 | 1)
						for pb.Next() {
							if _, err := in.impl.find(ctx, tokens[r.next()%uint64(len(tokens))]); err != nil {
								b.Error(err)
								return
							}
						}
					})
				})
				b.Run("save/"+name, func(b *testing.B) {
					b.ReportAllocs()
					b.RunParallel(func(pb *testing.PB) {
						r := rng(len(tokens)*104729 | 1)
						for pb.Next() {
							if err := in.impl.save(ctx, tokens[r.next()%uint64(len(tokens))], data, defaultExpiry()); err != nil {
								b.Error(err)
								return
							}
						}
					})
				})
			}
		})
	}
}
