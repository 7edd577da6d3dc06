// Package repo finds the Go modules of the repository and the versions at
// which they require each other. Every module is released in lockstep: each
// requires its siblings at the release version, and a replace directive
// keeps local work on the sibling directories.
package repo

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

// Module is one go.mod of the repository.
type Module struct {
	Dir  string // slash-separated, relative to the root; "." for the root
	Path string // module path
	Data []byte // the go.mod file
	File *modfile.File
}

// unpublished lists the modules outside internal/ that are not released:
// bench is a measurement program run from a checkout, whose peers and
// drivers are of no use to anyone who imports sqlsession.
var unpublished = []string{"bench"}

// Published reports whether the module is released: tagged, and put in the
// module proxy by modproxy. Modules under an internal directory are test or
// tool modules that nobody outside can import.
func (m *Module) Published() bool {
	return !slices.Contains(strings.Split(m.Dir, "/"), "internal") && !slices.Contains(unpublished, m.Dir)
}

// Tag is the module's release tag for version: "v1.2.3" for the root
// module, "dir/v1.2.3" for the others.
func (m *Module) Tag(version string) string {
	if m.Dir == "." {
		return version
	}
	return m.Dir + "/" + version
}

// Repo is the set of modules of a repository.
type Repo struct {
	Root    string    // the directory
	Files   []string  // slash-separated paths of the files, relative to Root
	Modules []*Module // the root module first, then by directory
}

// Load lists the files of the repository at root (those git tracks, and
// untracked ones it does not ignore; every file when root is not in a git
// work tree) and reads its modules.
func Load(root string) (*Repo, error) {
	files, err := listFiles(root)
	if err != nil {
		return nil, err
	}
	r := &Repo{Root: root, Files: files}
	for _, f := range files {
		if path.Base(f) != "go.mod" || skipped(f) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil {
			return nil, err
		}
		m, err := Parse(path.Dir(f), data)
		if err != nil {
			return nil, err
		}
		r.Modules = append(r.Modules, m)
	}
	if len(r.Modules) == 0 {
		return nil, fmt.Errorf("no go.mod under %s", root)
	}
	slices.SortFunc(r.Modules, func(a, b *Module) int {
		if (a.Dir == ".") != (b.Dir == ".") {
			if a.Dir == "." {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Dir, b.Dir)
	})
	return r, nil
}

// Parse reads the go.mod data of the module in dir.
func Parse(dir string, data []byte) (*Module, error) {
	mf, err := modfile.Parse(path.Join(dir, "go.mod"), data, nil)
	if err != nil {
		return nil, err
	}
	if mf.Module == nil {
		return nil, fmt.Errorf("%s/go.mod: no module line", dir)
	}
	return &Module{Dir: dir, Path: mf.Module.Mod.Path, Data: data, File: mf}, nil
}

// skipped reports whether a go.mod is not one of the repository's modules:
// test data and vendored copies.
func skipped(f string) bool {
	for _, part := range strings.Split(f, "/") {
		if part == "testdata" || part == "vendor" || part == "node_modules" {
			return true
		}
	}
	return false
}

func listFiles(root string) ([]string, error) {
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err == nil {
		var files []string
		for _, f := range strings.Split(string(out), "\x00") {
			// A tracked file deleted in the work tree is not part of it.
			if f != "" {
				if _, err := os.Lstat(filepath.Join(root, filepath.FromSlash(f))); err == nil {
					files = append(files, f)
				}
			}
		}
		slices.Sort(files)
		return slices.Compact(files), nil
	}
	// Not a git work tree (an exported copy): every regular file.
	var files []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	return files, err
}

// Paths returns the module paths of the repository.
func (r *Repo) Paths() map[string]bool {
	paths := map[string]bool{}
	for _, m := range r.Modules {
		paths[m.Path] = true
	}
	return paths
}

// Module returns the module with the given path, or nil.
func (r *Repo) Module(modPath string) *Module {
	for _, m := range r.Modules {
		if m.Path == modPath {
			return m
		}
	}
	return nil
}

// Check returns the version at which the modules require each other, and
// an error listing every problem: siblings required at more than one
// version or at one that is not a release, a published module that
// requires an unpublished one (nobody could build it), a sibling required
// without a replace directive to its directory.
func (r *Repo) Check() (version string, err error) {
	paths := r.Paths()
	versions := map[string][]string{} // version -> "dir requires path"
	var problems []string
	for _, m := range r.Modules {
		replaced := map[string]bool{}
		for _, rep := range m.File.Replace {
			replaced[rep.Old.Path] = rep.New.Version == ""
		}
		for _, req := range m.File.Require {
			if !paths[req.Mod.Path] {
				continue
			}
			versions[req.Mod.Version] = append(versions[req.Mod.Version], m.Dir+" requires "+req.Mod.Path)
			if dep := r.Module(req.Mod.Path); m.Published() && !dep.Published() {
				problems = append(problems, fmt.Sprintf("%s (published) requires %s, which is not published", m.Dir, dep.Dir))
			}
			if !replaced[req.Mod.Path] {
				problems = append(problems, fmt.Sprintf("%s requires %s with no replace directive to its directory", m.Dir, req.Mod.Path))
			}
		}
	}
	keys := make([]string, 0, len(versions))
	for v := range versions {
		keys = append(keys, v)
	}
	slices.SortFunc(keys, semver.Compare)
	switch {
	case len(keys) > 1:
		for _, v := range keys {
			problems = append(problems, fmt.Sprintf("siblings required at %s: %s", v, strings.Join(versions[v], ", ")))
		}
	case len(keys) == 1:
		version = keys[0]
		if !IsRelease(version) {
			problems = append(problems, fmt.Sprintf("siblings required at %s, which is not a release version vX.Y.Z", version))
		}
	}
	if len(problems) > 0 {
		return version, errors.New("modules are not in lockstep:\n\t" + strings.Join(problems, "\n\t"))
	}
	return version, nil
}

// IsRelease reports whether v is a release version: vX.Y.Z, with an
// optional pre-release suffix (v1.0.0-rc.1), and no build metadata.
func IsRelease(v string) bool {
	return semver.IsValid(v) && semver.Canonical(v) == v && !module.IsPseudoVersion(v)
}

// SetVersion returns the go.mod of m with every sibling required at
// version, formatted; the rest of the file is kept.
func (r *Repo) SetVersion(m *Module, version string) ([]byte, error) {
	f, err := modfile.Parse(m.Dir+"/go.mod", m.Data, nil)
	if err != nil {
		return nil, err
	}
	paths := r.Paths()
	for _, req := range slices.Clone(f.Require) {
		if paths[req.Mod.Path] {
			if err := f.AddRequire(req.Mod.Path, version); err != nil {
				return nil, err
			}
		}
	}
	f.Cleanup()
	return modfile.Format(f.Syntax), nil
}
