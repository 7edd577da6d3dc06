package repo

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
)

// writeTree writes files (path -> content) under a new directory, which is
// not a git work tree: Load lists every file.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const (
	rootMod = "module example.com/x\n\ngo 1.25\n"
	libMod  = "module example.com/x/lib\n\ngo 1.25\n\nreplace example.com/x => ../\n\nrequire example.com/x %s\n"
	cmdMod  = "module example.com/x/cmd/x\n\ngo 1.25\n\nreplace (\n\texample.com/x => ../..\n\texample.com/x/lib => ../../lib\n)\n\nrequire (\n\texample.com/x %s\n\texample.com/x/lib %s // indirect\n)\n"
)

func tree(rootV, libV, cmdV string) map[string]string {
	return map[string]string{
		"go.mod":                rootMod,
		"x.go":                  "package x\n",
		"lib/go.mod":            strings.Replace(libMod, "%s", libV, 1),
		"lib/lib.go":            "package lib\n",
		"cmd/x/go.mod":          strings.Replace(strings.Replace(cmdMod, "%s", rootV, 1), "%s", cmdV, 1),
		"cmd/x/main.go":         "package main\n\nfunc main() {}\n",
		"cmd/x/testdata/go.mod": "module ignored\n",
		"internal/t/go.mod":     "module example.com/x/internal/t\n\ngo 1.25\n",
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	r, err := Load(writeTree(t, tree("v1.0.0", "v1.0.0", "v1.0.0")))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range r.Modules {
		got = append(got, m.Dir+" "+m.Path)
	}
	want := []string{". example.com/x", "cmd/x example.com/x/cmd/x", "internal/t example.com/x/internal/t", "lib example.com/x/lib"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Load() modules = %q, want %q (root first, test data left out)", got, want)
	}
	published := map[string]bool{".": true, "cmd/x": true, "lib": true, "internal/t": false, "bench": false}
	for dir, want := range published {
		if got := (&Module{Dir: dir}).Published(); got != want {
			t.Errorf("Module{Dir: %q}.Published() = %v, want %v", dir, got, want)
		}
	}
	if got := (&Module{Dir: "."}).Tag("v1.2.3"); got != "v1.2.3" {
		t.Errorf("root Tag(v1.2.3) = %q", got)
	}
	if got := (&Module{Dir: "cmd/x"}).Tag("v1.2.3"); got != "cmd/x/v1.2.3" {
		t.Errorf("cmd/x Tag(v1.2.3) = %q", got)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files map[string]string
		want  string // "" for no error, else part of it
	}{
		{"lockstep", tree("v1.0.0", "v1.0.0", "v1.0.0"), ""},
		{"two versions", tree("v1.0.0", "v1.1.0", "v1.0.0"), "siblings required at v1.1.0: lib requires example.com/x"},
		{"pseudo-version", tree("v0.0.0-00010101000000-000000000000", "v0.0.0-00010101000000-000000000000", "v0.0.0-00010101000000-000000000000"), "not a release version"},
		{"no replace", func() map[string]string {
			f := tree("v1.0.0", "v1.0.0", "v1.0.0")
			f["lib/go.mod"] = "module example.com/x/lib\n\ngo 1.25\n\nrequire example.com/x v1.0.0\n"
			return f
		}(), "lib requires example.com/x with no replace directive"},
		{"published requires internal", func() map[string]string {
			f := tree("v1.0.0", "v1.0.0", "v1.0.0")
			f["lib/go.mod"] += "\nrequire example.com/x/internal/t v1.0.0\n\nreplace example.com/x/internal/t => ../internal/t\n"
			return f
		}(), "lib (published) requires internal/t, which is not published"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := Load(writeTree(t, tt.files))
			if err != nil {
				t.Fatal(err)
			}
			v, err := r.Check()
			switch {
			case tt.want == "" && (err != nil || v != "v1.0.0"):
				t.Errorf("Check() = %q, %v, want v1.0.0, nil", v, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Check() = %q, %v, want an error with %q", v, err, tt.want)
			}
		})
	}
}

func TestIsRelease(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]bool{
		"v1.2.3": true, "v0.1.0": true, "v1.0.0-rc.1": true,
		"v1.2": false, "1.2.3": false, "v1.2.3+meta": false, "v0.0.0-20240101000000-abcdefabcdef": false,
		"v1.2.4-0.20240101000000-abcdefabcdef": false,
	} {
		if got := IsRelease(v); got != want {
			t.Errorf("IsRelease(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestSetVersion(t *testing.T) {
	t.Parallel()
	files := tree("v1.0.0", "v1.0.0", "v1.0.0")
	files["cmd/x/go.mod"] += "\nrequire golang.org/x/mod v0.20.0 // a third party\n"
	r, err := Load(writeTree(t, files))
	if err != nil {
		t.Fatal(err)
	}
	data, err := r.SetVersion(r.Module("example.com/x/cmd/x"), "v1.3.4")
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.Parse("go.mod", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, req := range f.Require {
		got[req.Mod.Path] = req.Mod.Version
		if req.Mod.Path == "example.com/x/lib" && !req.Indirect {
			t.Errorf("SetVersion() lost the // indirect of example.com/x/lib:\n%s", data)
		}
	}
	want := map[string]string{"example.com/x": "v1.3.4", "example.com/x/lib": "v1.3.4", "golang.org/x/mod": "v0.20.0"}
	for p, v := range want {
		if got[p] != v {
			t.Errorf("SetVersion(v1.3.4) requires %s %s, want %s:\n%s", p, got[p], v, data)
		}
	}
	if len(f.Replace) != 2 {
		t.Errorf("SetVersion() changed the replace directives:\n%s", data)
	}
}

// unzip returns the files of a module zip, by name.
func unzip(t *testing.T, z []byte) map[string]string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(rc)
		rc.Close()
		out[f.Name] = b.String()
	}
	return out
}

func TestRelease(t *testing.T) {
	t.Parallel()
	r, err := Load(writeTree(t, tree("v1.0.0", "v1.0.0", "v1.0.0")))
	if err != nil {
		t.Fatal(err)
	}
	rel, err := r.Release("v1.1.0")
	if err != nil {
		t.Fatal(err)
	}

	// The library keeps its replace directive; the command loses its own
	// and gets go.sum lines for what it builds with.
	lib := unzip(t, rel.Zip("example.com/x/lib"))
	if m := lib["example.com/x/lib@v1.1.0/go.mod"]; !strings.Contains(m, "require example.com/x v1.1.0") || !strings.Contains(m, "replace example.com/x => ../") {
		t.Errorf("lib's released go.mod:\n%s\nwant example.com/x at v1.1.0, replace kept", m)
	}
	cmd := unzip(t, rel.Zip("example.com/x/cmd/x"))
	gomod := cmd["example.com/x/cmd/x@v1.1.0/go.mod"]
	if strings.Contains(gomod, "replace") || !strings.Contains(gomod, "example.com/x/lib v1.1.0 // indirect") {
		t.Errorf("cmd's released go.mod:\n%s\nwant no replace, lib at v1.1.0", gomod)
	}
	if string(rel.Files["cmd/x/go.mod"]) != gomod {
		t.Errorf("Release.Files[cmd/x/go.mod] differs from the zip's go.mod")
	}
	sum := cmd["example.com/x/cmd/x@v1.1.0/go.sum"]
	for _, p := range []string{"example.com/x", "example.com/x/lib"} {
		h, err := hashZip(rel.Zip(p))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(sum, p+" v1.1.0 "+h+"\n") || !strings.Contains(sum, p+" v1.1.0/go.mod h1:") {
			t.Errorf("cmd's go.sum:\n%s\nwant the lines of %s v1.1.0 (zip %s)", sum, p, h)
		}
	}
	// Nested modules and test data are not in the root module's zip.
	for name := range unzip(t, rel.Zip("example.com/x")) {
		if strings.Contains(name, "/lib/") || strings.Contains(name, "/cmd/") || strings.Contains(name, "/internal/") {
			t.Errorf("the root module's zip holds %s", name)
		}
	}
	if rel.Zip("example.com/x/internal/t") != nil {
		t.Errorf("an internal module was zipped")
	}
}

// TestHashes checks the go.sum hashes against the go command's own, for a
// module this one requires, from the module cache.
func TestHashes(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "mod", "download", "-json", "golang.org/x/mod").Output()
	if err != nil {
		t.Fatalf("go mod download golang.org/x/mod: %v", err)
	}
	var info struct{ Zip, GoMod, Sum, GoModSum string }
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatal(err)
	}
	z, err := os.ReadFile(info.Zip)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := hashZip(z); got != info.Sum || err != nil {
		t.Errorf("hashZip(x/mod's zip) = %q, %v, want %q", got, err, info.Sum)
	}
	m, err := os.ReadFile(info.GoMod)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := hashGoMod(m); got != info.GoModSum || err != nil {
		t.Errorf("hashGoMod(x/mod's go.mod) = %q, %v, want %q", got, err, info.GoModSum)
	}
}
