package main

import (
	"bufio"
	"context"
	"database/sql"
	"os"
	"runtime"
	"strings"
)

// machine describes where a run happened.
type machine struct {
	cpu, kernel, goVersion string
	cores                  int
	postgres, mariadb      string
	sqliteModernc          string
	sqliteMattn            string
	loadStart              string // 1-minute load average when the run began
}

// loadAverage returns the 1-minute load average, "" where unknown.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

func machineInfo(ctx context.Context, e *env) machine {
	m := machine{loadStart: loadAverage(), cpu: cpuModel(), cores: runtime.NumCPU(), goVersion: runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = "Linux " + strings.TrimSpace(string(b))
	}
	m.postgres, m.mariadb = e.serverVersions(ctx)
	m.sqliteModernc = sqliteVersion(ctx, "sqlite")
	m.sqliteMattn = sqliteVersion(ctx, "sqlite3")
	return m
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func sqliteVersion(ctx context.Context, driver string) string {
	db, err := sql.Open(driver, ":memory:")
	if err != nil {
		return ""
	}
	defer db.Close()
	var v string
	if db.QueryRowContext(ctx, "SELECT sqlite_version()").Scan(&v) != nil {
		return ""
	}
	return "SQLite " + v
}
