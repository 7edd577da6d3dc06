package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The release script and this tools module, from this directory.
var (
	releaseScript = filepath.Join("..", "..", "..", "scripts", "release")
	toolsDir      = ".."
)

// gitRepo makes a repository of three modules (a library at the root, a
// second library and a command requiring both with replace directives, at
// v1.0.0) and a test module under internal/, and commits them.
func gitRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":            "module example.com/x\n\ngo 1.25\n",
		"x.go":              "package x\n\n// X is x.\nconst X = 1\n",
		"lib/go.mod":        "module example.com/x/lib\n\ngo 1.25\n\nreplace example.com/x => ../\n\nrequire example.com/x v1.0.0\n",
		"lib/lib.go":        "package lib\n\nimport \"example.com/x\"\n\n// Y is x.X.\nconst Y = x.X\n",
		"cmd/x/go.mod":      "module example.com/x/cmd/x\n\ngo 1.25\n\nreplace (\n\texample.com/x => ../..\n\texample.com/x/lib => ../../lib\n)\n\nrequire example.com/x/lib v1.0.0\n\nrequire example.com/x v1.0.0 // indirect\n",
		"cmd/x/main.go":     "package main\n\nimport \"example.com/x/lib\"\n\nfunc main() { println(lib.Y) }\n",
		"internal/t/go.mod": "module example.com/x/internal/t\n\ngo 1.25\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git(t, dir, "init", "-q")
	git(t, dir, "config", "user.name", "Test")
	git(t, dir, "config", "user.email", "test@example.com")
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", "base")
	return dir
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// release runs scripts/release on the repository dir.
func release(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	tools, err := filepath.Abs(toolsDir)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", append([]string{releaseScript, "--no-check"}, args...)...)
	cmd.Env = append(os.Environ(), "SQLSESSION_REPO_ROOT="+dir, "SQLSESSION_TOOLS_DIR="+tools, "GOFLAGS=-mod=mod")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestRelease(t *testing.T) {
	t.Parallel()
	dir := gitRepo(t)
	base := strings.TrimSpace(git(t, dir, "rev-parse", "HEAD"))

	// A dry run changes nothing.
	out, err := release(t, dir, "--dry-run", "v1.2.0")
	if err != nil {
		t.Fatalf("release --dry-run v1.2.0: %v\n%s", err, out)
	}
	if head := strings.TrimSpace(git(t, dir, "rev-parse", "HEAD")); head != base || git(t, dir, "tag") != "" || git(t, dir, "status", "--porcelain") != "" {
		t.Fatalf("release --dry-run changed the repository:\n%s", out)
	}
	if !strings.Contains(out, "cmd/x/v1.2.0") {
		t.Errorf("release --dry-run printed\n%s\nwant the tags it would make", out)
	}

	out, err = release(t, dir, "v1.2.0")
	if err != nil {
		t.Fatalf("release v1.2.0: %v\n%s", err, out)
	}
	tags := strings.Fields(git(t, dir, "tag"))
	if want := []string{"cmd/x/v1.2.0", "lib/v1.2.0", "v1.2.0"}; strings.Join(tags, " ") != strings.Join(want, " ") {
		t.Errorf("tags after release v1.2.0 = %q, want %q (none for internal/t)", tags, want)
	}
	if !strings.Contains(out, "git push origin ") {
		t.Errorf("release printed\n%s\nwant the push command, which it does not run", out)
	}
	// Every tag is on the same commit, whose command module has no
	// replace directive and go.sum lines for its siblings.
	tagged := strings.TrimSpace(git(t, dir, "rev-parse", "v1.2.0^{commit}"))
	for _, tag := range tags {
		if c := strings.TrimSpace(git(t, dir, "rev-parse", tag+"^{commit}")); c != tagged {
			t.Errorf("tag %s is on %s, v1.2.0 on %s", tag, c, tagged)
		}
	}
	gomod := git(t, dir, "show", "v1.2.0:cmd/x/go.mod")
	if strings.Contains(gomod, "replace") || !strings.Contains(gomod, "example.com/x/lib v1.2.0") {
		t.Errorf("cmd/x/go.mod at v1.2.0:\n%s\nwant lib at v1.2.0 and no replace", gomod)
	}
	sum := git(t, dir, "show", "v1.2.0:cmd/x/go.sum")
	for _, want := range []string{"example.com/x v1.2.0 h1:", "example.com/x v1.2.0/go.mod h1:", "example.com/x/lib v1.2.0 h1:", "example.com/x/lib v1.2.0/go.mod h1:"} {
		if !strings.Contains(sum, want) {
			t.Errorf("cmd/x/go.sum at v1.2.0:\n%s\nwant a line %q", sum, want)
		}
	}
	if lib := git(t, dir, "show", "v1.2.0:lib/go.mod"); !strings.Contains(lib, "replace example.com/x => ../") || !strings.Contains(lib, "example.com/x v1.2.0") {
		t.Errorf("lib/go.mod at v1.2.0:\n%s\nwant x at v1.2.0 and its replace kept", lib)
	}
	// After the tag, local work has its replace directives back.
	if head := git(t, dir, "show", "HEAD:cmd/x/go.mod"); !strings.Contains(head, "example.com/x/lib => ../../lib") || !strings.Contains(head, "example.com/x/lib v1.2.0") {
		t.Errorf("cmd/x/go.mod after the release:\n%s\nwant lib at v1.2.0 with its replace", head)
	}
	if _, err := os.Stat(filepath.Join(dir, "cmd", "x", "go.sum")); err == nil {
		t.Errorf("cmd/x/go.sum, added for the tag, is still there after it")
	}
	if s := git(t, dir, "status", "--porcelain"); s != "" {
		t.Errorf("release left changes in the work tree:\n%s", s)
	}

	// The same version again, or a dirty tree, is refused.
	if out, err := release(t, dir, "v1.2.0"); err == nil || !strings.Contains(out, "tag v1.2.0 exists already") {
		t.Errorf("release v1.2.0 again = %v\n%s\nwant a refusal", err, out)
	}
	if err := os.WriteFile(filepath.Join(dir, "new.go"), []byte("package x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := release(t, dir, "v1.3.0"); err == nil || !strings.Contains(out, "uncommitted changes") {
		t.Errorf("release v1.3.0 on a dirty tree = %v\n%s\nwant a refusal", err, out)
	}
	if out, err := release(t, dir, "1.3"); err == nil || !strings.Contains(out, "usage") {
		t.Errorf("release 1.3 = %v\n%s\nwant a usage error", err, out)
	}
}
