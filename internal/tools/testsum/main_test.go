package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fixture is a module whose tests pass, fail, skip (one naming a
// SQLSESSION_TEST_ variable), nest, and a package that does not build.
var fixture = map[string]string{
	"go.mod": "module example.com/fx\n\ngo 1.25\n",
	"a/a_test.go": `package a

import "testing"

func TestPass(t *testing.T) {}

func TestFail(t *testing.T) { t.Log("why it failed") ; t.Fail() }

func TestDB(t *testing.T) { t.Skip("set SQLSESSION_TEST_POSTGRES_DSN to run this test") }

func TestShort(t *testing.T) { t.Skip("not in short mode") }

func TestParent(t *testing.T) {
	t.Run("one", func(t *testing.T) {})
	t.Run("two", func(t *testing.T) {})
}
`,
	"b/b_test.go": `package b

import "testing"

func TestOK(t *testing.T) {}
`,
	"c/c_test.go": `package c

import "testing"

func TestBroken(t *testing.T) { undefined() }
`,
	"d/d.go": "package d\n",
}

// goTestJSON runs go test -json on the fixture and returns the file of its
// output.
func goTestJSON(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range fixture {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "test", "-json", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	out, _ := cmd.Output() // fails: some tests do
	name := filepath.Join(dir, "results.json")
	if err := os.WriteFile(name, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestTestsum(t *testing.T) {
	t.Parallel()
	results := goTestJSON(t)

	tests := []struct {
		name string
		args []string
		want string // the first line
		more []string
	}{
		// TestPass, TestParent and its two subtests, TestOK; TestFail and
		// the package that does not build; TestDB and TestShort.
		{"summary", []string{results}, "5 2 2", nil},
		{"strict", []string{"-strict", results}, "5 3 1", []string{"example.com/fx/a TestDB: a_test.go:9: set SQLSESSION_TEST_POSTGRES_DSN to run this test"}},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		if err := summary(tt.args, &b); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(b.String()), "\n")
		if lines[0] != tt.want || strings.Join(lines[1:], "|") != strings.Join(tt.more, "|") {
			t.Errorf("summary(%s) = %q, want %q then %q", tt.name, lines, tt.want, tt.more)
		}
	}

	var b bytes.Buffer
	log := filepath.Join(t.TempDir(), "test.log")
	if err := report([]string{"-log", log, results}, &b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"FAIL\texample.com/fx/a\t", "ok  \texample.com/fx/b\t", "FAIL\texample.com/fx/c", "?   \texample.com/fx/d\t[no test files]", "why it failed", "--- FAIL: TestFail", "undefined: undefined"} {
		if !strings.Contains(out, want) {
			t.Errorf("report printed\n%s\nwant it to contain %q", out, want)
		}
	}
	for _, unwanted := range []string{"--- PASS: TestPass", "TestShort"} {
		if strings.Contains(out, unwanted) {
			t.Errorf("report printed\n%s\nwant no %q among the failures", out, unwanted)
		}
	}
	text, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"=== RUN   TestPass", "--- PASS: TestPass", "--- SKIP: TestDB", "--- PASS: TestParent/one"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("the -log file\n%s\nlacks %q", text, want)
		}
	}
}

func TestStrayLines(t *testing.T) {
	t.Parallel()
	ru, err := parse(strings.NewReader("go: downloading example.com/x v1.0.0\n{\"Action\":\"pass\",\"Package\":\"p\",\"Test\":\"TestA\"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p, f, s, _ := ru.counts(false); p != 1 || f != 1 || s != 0 || !ru.failed() {
		t.Errorf("counts() of a run with a line that is not JSON = %d, %d, %d, want 1 passed, 1 failed", p, f, s)
	}
}
