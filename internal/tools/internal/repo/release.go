package repo

import (
	"archive/zip"
	"bytes"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	modzip "golang.org/x/mod/zip"
)

// Release is the repository as the release commit of one version has it:
// every sibling required at the version and, in each published module that
// holds a command, no replace directives to siblings and go.sum lines for
// them. go install pkg@version and go run pkg@version refuse a module whose
// go.mod has a replace directive; a library's replace directives are
// ignored by its users and stay.
type Release struct {
	Repo    *Repo
	Version string
	Files   map[string][]byte // content of the files that differ from the work tree, by path
	zips    map[string][]byte // module path -> zip
}

// Release computes the release of version from the work tree, and checks
// the released modules as a set (see [Repo.Check]).
func (r *Repo) Release(version string) (*Release, error) {
	if !IsRelease(version) {
		return nil, fmt.Errorf("%q is not a release version vX.Y.Z", version)
	}
	rel := &Release{Repo: &Repo{Root: r.Root, Files: r.Files}, Version: version, Files: map[string][]byte{}, zips: map[string][]byte{}}
	for _, m := range r.Modules {
		data, err := r.SetVersion(m, version)
		if err != nil {
			return nil, err
		}
		rm, err := Parse(m.Dir, data)
		if err != nil {
			return nil, err
		}
		rel.Repo.Modules = append(rel.Repo.Modules, rm)
		if !bytes.Equal(data, m.Data) {
			rel.Files[m.file("go.mod")] = data
		}
	}
	if _, err := rel.Repo.Check(); err != nil {
		return nil, err
	}
	order, err := rel.Repo.order()
	if err != nil {
		return nil, err
	}
	for _, m := range order {
		if !m.Published() {
			continue
		}
		cmd, err := rel.hasCommand(m)
		if err != nil {
			return nil, err
		}
		if cmd {
			if err := rel.pin(m); err != nil {
				return nil, fmt.Errorf("%s: %w", m.Dir, err)
			}
		}
		z, err := rel.makeZip(m)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.Dir, err)
		}
		rel.zips[m.Path] = z
	}
	return rel, nil
}

// file is the path of a file of m, relative to the root.
func (m *Module) file(name string) string { return path.Join(m.Dir, name) }

// Zip returns the module zip of the published module modPath.
func (rel *Release) Zip(modPath string) []byte { return rel.zips[modPath] }

// read returns a file of the release: its new content, or the work tree's.
func (rel *Release) read(name string) ([]byte, error) {
	if data, ok := rel.Files[name]; ok {
		return data, nil
	}
	return os.ReadFile(filepath.Join(rel.Repo.Root, filepath.FromSlash(name)))
}

// order returns the modules with every module after the siblings it
// requires.
func (r *Repo) order() ([]*Module, error) {
	var out []*Module
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(m *Module) error
	visit = func(m *Module) error {
		switch state[m.Path] {
		case 1:
			return fmt.Errorf("modules require each other in a cycle through %s", m.Path)
		case 2:
			return nil
		}
		state[m.Path] = 1
		for _, req := range m.File.Require {
			if dep := r.Module(req.Mod.Path); dep != nil {
				if err := visit(dep); err != nil {
					return err
				}
			}
		}
		state[m.Path] = 2
		out = append(out, m)
		return nil
	}
	for _, m := range r.Modules {
		if err := visit(m); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// files returns the files of module m, relative to the module's directory;
// the zip leaves out those of nested modules.
func (rel *Release) files(m *Module) []string {
	all := slices.Clone(rel.Repo.Files)
	for name := range rel.Files {
		all = append(all, name)
	}
	slices.Sort(all)
	var out []string
	for _, f := range slices.Compact(all) {
		if m.Dir == "." {
			out = append(out, f)
		} else if rest, ok := strings.CutPrefix(f, m.Dir+"/"); ok {
			out = append(out, rest)
		}
	}
	return out
}

// hasCommand reports whether module m holds a main package, outside test
// files and test data.
func (rel *Release) hasCommand(m *Module) (bool, error) {
	zipped, err := rel.zipFiles(m)
	if err != nil {
		return false, err
	}
	for _, f := range zipped {
		name := f.Path()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") || slices.Contains(strings.Split(name, "/"), "testdata") {
			continue
		}
		src, err := rel.read(m.file(name))
		if err != nil {
			return false, err
		}
		pf, err := parser.ParseFile(token.NewFileSet(), name, src, parser.PackageClauseOnly)
		if err != nil {
			return false, err
		}
		if pf.Name.Name == "main" {
			return true, nil
		}
	}
	return false, nil
}

// pin drops m's replace directives to siblings and adds go.sum lines for
// the siblings its build needs, from their zips (made before, in order).
func (rel *Release) pin(m *Module) error {
	f, err := modfile.Parse(m.file("go.mod"), m.Data, nil)
	if err != nil {
		return err
	}
	paths := rel.Repo.Paths()
	for _, rep := range slices.Clone(f.Replace) {
		if paths[rep.Old.Path] && rep.New.Version == "" {
			if err := f.DropReplace(rep.Old.Path, rep.Old.Version); err != nil {
				return err
			}
		}
	}
	f.Cleanup()
	gomod := modfile.Format(f.Syntax)
	pinned, err := Parse(m.Dir, gomod)
	if err != nil {
		return err
	}
	*m = *pinned
	rel.Files[m.file("go.mod")] = gomod

	sum, err := rel.read(m.file("go.sum"))
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	lines := strings.Split(strings.TrimSpace(string(sum)), "\n")
	for _, dep := range rel.Repo.closure(m) {
		z, ok := rel.zips[dep.Path]
		if !ok {
			return fmt.Errorf("requires %s, which is not published", dep.Path)
		}
		h, err := hashZip(z)
		if err != nil {
			return err
		}
		hm, err := hashGoMod(dep.Data)
		if err != nil {
			return err
		}
		lines = append(lines,
			fmt.Sprintf("%s %s %s", dep.Path, rel.Version, h),
			fmt.Sprintf("%s %s/go.mod %s", dep.Path, rel.Version, hm))
	}
	lines = slices.DeleteFunc(lines, func(l string) bool { return l == "" })
	slices.Sort(lines)
	rel.Files[m.file("go.sum")] = []byte(strings.Join(slices.Compact(lines), "\n") + "\n")
	return nil
}

// closure returns the siblings that m requires, directly or through other
// siblings.
func (r *Repo) closure(m *Module) []*Module {
	seen := map[string]bool{}
	var out []*Module
	var walk func(m *Module)
	walk = func(m *Module) {
		for _, req := range m.File.Require {
			dep := r.Module(req.Mod.Path)
			if dep == nil || seen[dep.Path] {
				continue
			}
			seen[dep.Path] = true
			out = append(out, dep)
			walk(dep)
		}
	}
	walk(m)
	return out
}

// zipFiles returns the files of m's zip, with the release's content.
func (rel *Release) zipFiles(m *Module) ([]modzip.File, error) {
	var files []modzip.File
	for _, name := range rel.files(m) {
		f := zipFile{path: name, disk: filepath.Join(rel.Repo.Root, filepath.FromSlash(m.file(name)))}
		if data, ok := rel.Files[m.file(name)]; ok {
			f.data = data
		}
		files = append(files, f)
	}
	checked, err := modzip.CheckFiles(files)
	if err != nil {
		return nil, err
	}
	var out []modzip.File
	for _, f := range files {
		if slices.Contains(checked.Valid, f.Path()) {
			out = append(out, f)
		}
	}
	return out, nil
}

func (rel *Release) makeZip(m *Module) ([]byte, error) {
	files, err := rel.zipFiles(m)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := modzip.Create(&buf, module.Version{Path: m.Path, Version: rel.Version}, files); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// hashZip is the go.sum hash of a module zip (dirhash.HashZip, in memory).
func hashZip(z []byte) (string, error) {
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		return "", err
	}
	var names []string
	byName := map[string]*zip.File{}
	for _, f := range zr.File {
		names = append(names, f.Name)
		byName[f.Name] = f
	}
	return dirhash.Hash1(names, func(name string) (io.ReadCloser, error) { return byName[name].Open() })
}

// hashGoMod is the go.sum hash of a go.mod file, as the go command computes
// it.
func hashGoMod(data []byte) (string, error) {
	return dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
}

// zipFile is one file of a module zip, read from the work tree, or from
// data when it is set (a file the release changes).
type zipFile struct {
	path string
	disk string
	data []byte
}

func (f zipFile) Path() string { return f.path }

func (f zipFile) Lstat() (fs.FileInfo, error) {
	fi, err := os.Lstat(f.disk)
	if f.data == nil {
		return fi, err
	}
	if err != nil {
		// A file the release adds, such as a go.sum.
		return addedFile{name: path.Base(f.path), size: int64(len(f.data))}, nil
	}
	return sized{fi, int64(len(f.data))}, nil
}

func (f zipFile) Open() (io.ReadCloser, error) {
	if f.data != nil {
		return io.NopCloser(bytes.NewReader(f.data)), nil
	}
	return os.Open(f.disk)
}

// addedFile is the FileInfo of a file that the release adds.
type addedFile struct {
	name string
	size int64
}

func (a addedFile) Name() string       { return a.name }
func (a addedFile) Size() int64        { return a.size }
func (a addedFile) Mode() fs.FileMode  { return 0o644 }
func (a addedFile) ModTime() time.Time { return time.Time{} }
func (a addedFile) IsDir() bool        { return false }
func (a addedFile) Sys() any           { return nil }

// sized is a FileInfo with another size.
type sized struct {
	fs.FileInfo
	size int64
}

func (s sized) Size() int64 { return s.size }
