// Command modproxy publishes the repository's modules, all at one version,
// into a file-system module proxy, as tagging a release with
// scripts/release and fetching it through a proxy would:
//
//	modproxy [-root dir] -version vX.Y.Z -o dir
//
// Each published module is zipped as the Go tools zip modules
// (golang.org/x/mod/zip), from the files of the work tree that git tracks
// or does not ignore, with the go.mod (and go.sum) of the release commit:
// siblings required at that version and, in modules that hold commands, no
// replace directives. The work tree itself is not changed. The output has
// the layout that GOPROXY=file://dir serves: <module>/@v/list, and
// <version>.info, .mod and .zip, module paths and versions case-encoded.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/module"

	"github.com/sqlsession/sqlsession/internal/tools/internal/repo"
)

func main() {
	root := flag.String("root", ".", "the repository's `directory`")
	version := flag.String("version", "", "the release `version` to publish, vX.Y.Z (required)")
	out := flag.String("o", "", "the proxy `directory` to write (required)")
	stamp := flag.String("time", "", "the release time of the .info files, RFC 3339 (default now)")
	flag.Parse()
	if *version == "" || *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: modproxy [-root dir] -version vX.Y.Z -o dir")
		os.Exit(2)
	}
	t := time.Now().UTC().Truncate(time.Second)
	if *stamp != "" {
		var err error
		if t, err = time.Parse(time.RFC3339, *stamp); err != nil {
			fmt.Fprintln(os.Stderr, "modproxy: -time:", err)
			os.Exit(2)
		}
	}
	if err := publish(*root, *version, *out, t); err != nil {
		fmt.Fprintln(os.Stderr, "modproxy:", err)
		os.Exit(1)
	}
}

// publish writes every published module of the repository at root, at
// version, into the proxy directory out.
func publish(root, version, out string, t time.Time) error {
	r, err := repo.Load(root)
	if err != nil {
		return err
	}
	rel, err := r.Release(version)
	if err != nil {
		return err
	}
	for _, m := range rel.Repo.Modules {
		if !m.Published() {
			continue
		}
		if err := write(out, m.Path, version, t, m.Data, rel.Zip(m.Path)); err != nil {
			return fmt.Errorf("%s: %w", m.Path, err)
		}
		fmt.Printf("%s@%s (%s): %d bytes\n", m.Path, version, m.Dir, len(rel.Zip(m.Path)))
	}
	return nil
}

// write puts one module version into the proxy directory out.
func write(out, modPath, version string, t time.Time, gomod, zip []byte) error {
	escPath, err := module.EscapePath(modPath)
	if err != nil {
		return err
	}
	escVersion, err := module.EscapeVersion(version)
	if err != nil {
		return err
	}
	dir := filepath.Join(out, filepath.FromSlash(escPath), "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{version, t})
	if err != nil {
		return err
	}
	base := filepath.Join(dir, escVersion)
	for ext, data := range map[string][]byte{".zip": zip, ".mod": gomod, ".info": info} {
		if err := os.WriteFile(base+ext, data, 0o644); err != nil {
			return err
		}
	}
	return addToList(filepath.Join(dir, "list"), version)
}

// addToList adds version to a proxy's list file, one version a line.
func addToList(name, version string) error {
	data, err := os.ReadFile(name)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	versions := strings.Fields(string(data))
	if !slices.Contains(versions, version) {
		versions = append(versions, version)
	}
	return os.WriteFile(name, []byte(strings.Join(versions, "\n")+"\n"), 0o644)
}
