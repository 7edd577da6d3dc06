package main

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHoistImports(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, rest string
		imports        []string
	}{
		{"none", "x := 1\n", "x := 1\n", nil},
		{"one", "import \"a/b\"\n\nx := 1\n", "x := 1\n", []string{"a/b"}},
		{"block", "import (\n\t\"a/b\"\n\tc \"c/d\" // why\n\t_ \"e\"\n)\n\n// store is ...\nx := 1\n", "x := 1\n", []string{"a/b", "c c/d", "_ e"}},
	}
	for _, tt := range tests {
		rest, imports, err := hoistImports(tt.in)
		if err != nil || rest != tt.rest || strings.Join(imports, "|") != strings.Join(tt.imports, "|") {
			t.Errorf("hoistImports(%s) = %q, %q, %v; want %q, %q", tt.name, rest, imports, err, tt.rest, tt.imports)
		}
	}
	if _, _, err := hoistImports("import (\n\t\"a\"\n"); err == nil {
		t.Errorf("hoistImports(an unterminated block) = nil error")
	}
}

func TestQuickStart(t *testing.T) {
	t.Parallel()
	md := "# x\n\n```\ngo get nothing\n```\n\nRun (`go get example.com/a example.com/b`):\n\n```go\npackage main\n\nfunc main() {}\n```\n\n```go\nlater\n```\n"
	src, get, err := quickStart(md)
	if err != nil || string(src) != "package main\n\nfunc main() {}\n" || strings.Join(get, " ") != "example.com/a example.com/b" {
		t.Errorf("quickStart() = %q, %q, %v", src, get, err)
	}
	if _, _, err := quickStart("```go\npackage main\n```\n"); err == nil {
		t.Errorf("quickStart() without a go get = nil error")
	}
}

// TestRepository writes the programs of this repository's READMEs: each
// must be Go that parses, with its go get list.
func TestRepository(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	if err := run(filepath.Join("..", "..", ".."), out); err != nil {
		t.Fatal(err)
	}
	names := []string{"quickstart", "logout", "dsn"}
	for _, f := range frames {
		names = append(names, f.name)
	}
	for _, name := range names {
		src, err := os.ReadFile(filepath.Join(out, name, "main.go"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parser.ParseFile(token.NewFileSet(), name, src, 0); err != nil {
			t.Errorf("%s/main.go does not parse: %v", name, err)
		}
		if get, err := os.ReadFile(filepath.Join(out, name, "get")); err != nil || len(strings.Fields(string(get))) == 0 {
			t.Errorf("%s/get = %q, %v, want modules", name, get, err)
		}
	}
}
