package dbtest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeQuickStart pastes the README's first Go block into a new module,
// as a reader would, and runs it.
func TestReadmeQuickStart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "```go\n")
	code, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("README.md has no Go code block")
	}

	// Pin the driver to the version this module tests.
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	_, after, _ := strings.Cut(string(mod), "modernc.org/sqlite ")
	sqliteVersion, _, _ := strings.Cut(after, "\n")
	dir := t.TempDir()
	gomod := "module quickstart\n\ngo 1.26\n\nrequire (\n\tgithub.com/sqlsession/sqlsession v0.0.0\n\tmodernc.org/sqlite " +
		sqliteVersion + "\n)\n\nreplace github.com/sqlsession/sqlsession => " + root + "\n"
	sum, err := os.ReadFile("go.sum")
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string][]byte{"main.go": []byte(code), "go.mod": []byte(gomod), "go.sum": sum} {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	tidy := exec.Command(goBin, "mod", "tidy")
	tidy.Dir = dir
	if out, err := tidy.CombinedOutput(); err != nil {
		t.Fatalf("go mod tidy: %v\n%s", err, out)
	}
	// -race shares the build cache with this test binary's dependencies.
	run := exec.Command(goBin, "run", "-race", ".")
	run.Dir = dir
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("go run: %v\n%s", err, out)
	}
	if got, want := string(bytes.TrimSpace(out)), `true {"user":"ada"}`; got != want {
		t.Fatalf("quick start printed %q, want %q", got, want)
	}
}
