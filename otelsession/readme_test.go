package otelsession_test

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeProgram pastes the complete program of the repository
// README's "Metrics and traces" into a new module, as a reader would,
// runs it, and checks that it exported the spans and metrics it promises.
func TestReadmeProgram(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("not in the repository (a module zip has no ../README.md)")
	}
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Metrics and traces\n")
	if !ok {
		t.Fatal(`README.md has no section "## Metrics and traces"`)
	}
	_, rest, ok := strings.Cut(section, "```go\n")
	code, _, ok2 := strings.Cut(rest, "\n```")
	if !ok || !ok2 || !strings.HasPrefix(code, "package main") {
		t.Fatal(`README.md's "Metrics and traces" has no complete program`)
	}
	// The program's module uses this checkout and this module's versions
	// of everything (the stdout exporters come at the SDK's version).
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	version := func(path string) string {
		_, after, ok := strings.Cut(string(mod), "\t"+path+" ")
		if !ok {
			t.Fatalf("go.mod does not require %s", path)
		}
		v, _, _ := strings.Cut(after, "\n")
		v, _, _ = strings.Cut(v, " ")
		return v
	}
	otelV := version("go.opentelemetry.io/otel/sdk")
	gomod := "module readme\n\ngo 1.25.0\n\nrequire (\n" +
		"\tgithub.com/sqlsession/sqlsession v0.0.0\n" +
		"\tgithub.com/sqlsession/sqlsession/otelsession v0.0.0\n" +
		"\tgo.opentelemetry.io/otel/exporters/stdout/stdoutmetric " + otelV + "\n" +
		"\tgo.opentelemetry.io/otel/exporters/stdout/stdouttrace " + otelV + "\n" +
		"\tmodernc.org/sqlite " + version("modernc.org/sqlite") + "\n)\n\n" +
		"replace github.com/sqlsession/sqlsession => " + root + "\n\n" +
		"replace github.com/sqlsession/sqlsession/otelsession => " + filepath.Join(root, "otelsession") + "\n"
	sum, err := os.ReadFile("go.sum")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, content := range map[string][]byte{"main.go": []byte(code), "go.mod": []byte(gomod), "go.sum": sum} {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run(goBin, "mod", "tidy")
	run(goBin, "build", "-o", "readme", ".")
	out := run(filepath.Join(dir, "readme"))
	for _, want := range []string{`"Name":"save sessions"`, `"Name":"find sessions"`,
		`"Name":"db.client.operation.duration"`, `"Name":"sqlsession.sessions.live"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the README program's output lacks %s:\n%.3000s", want, out)
		}
	}
}
