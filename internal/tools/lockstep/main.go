// Command lockstep checks and sets the versions at which the repository's
// modules require each other, for CI and the release script:
//
//	lockstep [-root dir] check        print the lockstep version, or fail listing what is wrong
//	lockstep [-root dir] list         print "dir path published" for every module
//	lockstep [-root dir] set vX.Y.Z   require every sibling at vX.Y.Z in every go.mod
//	lockstep [-root dir] pin vX.Y.Z   in the modules that hold commands, drop the
//	                                  replace directives to siblings and add their go.sum lines
//
// set rewrites only the require lines of sibling modules; run go mod tidy
// afterwards. pin makes the tree of a release commit, whose go.mod files
// already require vX.Y.Z: go install pkg@vX.Y.Z refuses a module with
// replace directives. It prints the files it changes.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/sqlsession/sqlsession/internal/tools/internal/repo"
)

func main() {
	root := flag.String("root", ".", "the repository's `directory`")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: lockstep [-root dir] check | list | set vX.Y.Z | pin vX.Y.Z")
	}
	flag.Parse()
	if err := run(*root, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "lockstep:", err)
		os.Exit(1)
	}
}

func run(root string, args []string) error {
	if len(args) == 0 {
		flag.Usage()
		os.Exit(2)
	}
	r, err := repo.Load(root)
	if err != nil {
		return err
	}
	switch {
	case args[0] == "check" && len(args) == 1:
		v, err := r.Check()
		if err != nil {
			return err
		}
		fmt.Println(v)
	case args[0] == "list" && len(args) == 1:
		for _, m := range r.Modules {
			fmt.Println(m.Dir, m.Path, m.Published())
		}
	case args[0] == "set" && len(args) == 2:
		version := args[1]
		if !repo.IsRelease(version) {
			return fmt.Errorf("%q is not a release version vX.Y.Z", version)
		}
		for _, m := range r.Modules {
			data, err := r.SetVersion(m, version)
			if err != nil {
				return err
			}
			if bytes.Equal(data, m.Data) {
				continue
			}
			if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(m.Dir), "go.mod"), data, 0o644); err != nil {
				return err
			}
			fmt.Println(filepath.ToSlash(filepath.Join(m.Dir, "go.mod")))
		}
	case args[0] == "pin" && len(args) == 2:
		v, err := r.Check()
		if err != nil {
			return err
		}
		if v != args[1] {
			return fmt.Errorf("the modules require their siblings at %s, not %s: run lockstep set %s and go mod tidy first", v, args[1], args[1])
		}
		rel, err := r.Release(args[1])
		if err != nil {
			return err
		}
		for _, name := range slices.Sorted(maps.Keys(rel.Files)) {
			if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(name)), rel.Files[name], 0o644); err != nil {
				return err
			}
			fmt.Println(name)
		}
	default:
		flag.Usage()
		os.Exit(2)
	}
	return nil
}
