package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sqlsession/sqlsession/dsn"
)

func TestCheckFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if r := runCmd(t, "create-table", "--dsn", filepath.Join(dir, "there.db")); r.code != 0 {
		t.Fatalf("create-table = %d, %q", r.code, r.stderr)
	}
	tests := []struct {
		in   string
		want string // "" for no error
	}{
		{filepath.Join(dir, "there.db"), ""},
		{"sqlite://" + filepath.Join(dir, "there.db"), ""},
		{filepath.Join(dir, "missing.db"), "does not exist"},
		{"file:" + filepath.Join(dir, "missing.db") + "?mode=ro", "does not exist"},
		{":memory:", ""},
		{"postgres://h/db", ""},
	}
	for _, tt := range tests {
		src, err := dsn.Parse(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		err = checkFile(src)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("checkFile(%q) = %v, want %q", tt.in, err, tt.want)
		}
	}
}
