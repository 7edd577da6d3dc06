// Command testsum reads the output of go test -json for scripts/test:
//
//	testsum report [-log file] [-max lines] results.json
//	testsum summary [-strict] results.json...
//
// report prints one line per package (ok, FAIL or ?), writes the output as
// go test -v prints it to the -log file, and, when something failed, prints
// the output of the failing tests, build errors, panics and timeouts, at
// most -max lines.
//
// summary prints "passed failed skipped": the tests and subtests of every
// file that passed, failed and were skipped, a package that failed without
// a failing test (a build error, a panic, a timeout) counting as one
// failure. With -strict, a skipped test whose own output names a
// SQLSESSION_TEST_ variable is a database test that did not run: it counts
// as failed instead, and is listed after the first line, one a line.
//
// Lines that are not JSON (a go command's own error) are kept as output of
// the run and make it a failure.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"
)

// event is one line of go test -json (cmd/test2json).
type event struct {
	Time       time.Time
	Action     string
	Package    string
	ImportPath string // of build-output and build-fail
	Test       string
	Elapsed    float64
	Output     string
}

// key names a test of a package.
type key struct{ pkg, test string }

// run is what one file holds.
type run struct {
	events   []event
	result   map[key]string // test -> pass, fail or skip; test "" is the package
	output   map[key][]string
	order    []string // packages as they end
	built    map[string][]string
	badBuild map[string]bool
	elapsed  map[string]float64
	noTests  map[string]bool
	stray    []string // lines that are not JSON
}

func read(name string) (*run, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parse(f)
}

func parse(r io.Reader) (*run, error) {
	ru := &run{result: map[key]string{}, output: map[key][]string{}, built: map[string][]string{}, badBuild: map[string]bool{}, elapsed: map[string]float64{}, noTests: map[string]bool{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Text()
		var e event
		if !strings.HasPrefix(line, "{") || json.Unmarshal([]byte(line), &e) != nil {
			if strings.TrimSpace(line) != "" {
				ru.stray = append(ru.stray, line)
			}
			continue
		}
		ru.events = append(ru.events, e)
		k := key{e.Package, e.Test}
		switch e.Action {
		case "output":
			ru.output[k] = append(ru.output[k], e.Output)
			if e.Test == "" && strings.Contains(e.Output, "[no test files]") {
				ru.noTests[e.Package] = true
			}
		case "build-output":
			ru.built[e.ImportPath] = append(ru.built[e.ImportPath], e.Output)
		case "build-fail":
			ru.badBuild[e.ImportPath] = true
		case "pass", "fail", "skip":
			ru.result[k] = e.Action
			if e.Test == "" {
				ru.order = append(ru.order, e.Package)
				ru.elapsed[e.Package] = e.Elapsed
			}
		}
	}
	return ru, sc.Err()
}

// counts returns the tests that passed, failed and were skipped, and the
// skipped database tests.
func (ru *run) counts(strict bool) (passed, failed, skipped int, dbSkips []string) {
	failedTests := map[string]bool{}
	for k, res := range ru.result {
		if k.test == "" {
			continue
		}
		switch res {
		case "pass":
			passed++
		case "fail":
			failed++
			failedTests[k.pkg] = true
		case "skip":
			if strict && ru.namesDSN(k) {
				failed++
				dbSkips = append(dbSkips, k.pkg+" "+k.test+": "+ru.skipReason(k))
			} else {
				skipped++
			}
		}
	}
	for k, res := range ru.result {
		if k.test == "" && res == "fail" && !failedTests[k.pkg] {
			failed++ // a build error, a panic or a timeout
		}
	}
	if len(ru.stray) > 0 {
		failed++
	}
	return passed, failed, skipped, dbSkips
}

// namesDSN reports whether a skipped test's own output names a
// SQLSESSION_TEST_ variable.
func (ru *run) namesDSN(k key) bool {
	for _, l := range ru.output[k] {
		if strings.Contains(l, "SQLSESSION_TEST_") {
			return true
		}
	}
	return false
}

// skipReason is the line of a skipped test's output that says why.
func (ru *run) skipReason(k key) string {
	for _, l := range ru.output[k] {
		if strings.Contains(l, "SQLSESSION_TEST_") {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// failed reports whether anything in the run failed.
func (ru *run) failed() bool {
	for _, res := range ru.result {
		if res == "fail" {
			return true
		}
	}
	return len(ru.badBuild) > 0 || len(ru.stray) > 0
}

// packageLines are the lines go test prints per package without -v.
func (ru *run) packageLines() []string {
	var out []string
	for _, p := range ru.order {
		switch {
		case ru.noTests[p]:
			out = append(out, fmt.Sprintf("?   \t%s\t[no test files]", p))
		case ru.result[key{p, ""}] == "fail":
			out = append(out, fmt.Sprintf("FAIL\t%s\t%.3fs", p, ru.elapsed[p]))
		default:
			out = append(out, fmt.Sprintf("ok  \t%s\t%.3fs", p, ru.elapsed[p]))
		}
	}
	return out
}

// failures returns the output that explains the failures: build errors,
// lines that are not JSON, and in event order the output of failed tests
// and of failed packages outside their tests (panics, timeouts).
func (ru *run) failures() []string {
	var out []string
	for _, p := range slices.Sorted(maps.Keys(ru.built)) {
		if ru.badBuild[p] {
			out = append(out, ru.built[p]...)
		}
	}
	out = append(out, ru.stray...)
	for _, e := range ru.events {
		if e.Action != "output" || ru.result[key{e.Package, e.Test}] != "fail" {
			continue
		}
		if e.Test == "" && isNoise(e.Output) {
			continue
		}
		out = append(out, e.Output)
	}
	return out
}

// isNoise tells the package lines that say nothing about a failure.
func isNoise(l string) bool {
	l = strings.TrimSpace(l)
	return l == "PASS" || l == "FAIL" || strings.HasPrefix(l, "ok ") || strings.HasPrefix(l, "FAIL\t") ||
		strings.HasPrefix(l, "coverage: ") || strings.HasPrefix(l, "testing: warning: no tests to run")
}

// text is the output as go test -v prints it.
func (ru *run) text() string {
	var b strings.Builder
	for _, e := range ru.events {
		switch e.Action {
		case "output", "build-output":
			b.WriteString(e.Output)
		}
	}
	for _, l := range ru.stray {
		b.WriteString(l + "\n")
	}
	return b.String()
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "report":
		err = report(os.Args[2:], os.Stdout)
	case "summary":
		err = summary(os.Args[2:], os.Stdout)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsum:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: testsum report [-log file] [-max lines] results.json\n       testsum summary [-strict] results.json...")
	os.Exit(2)
}

func report(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	logFile := fs.String("log", "", "write the go test -v output to this `file`")
	maxLines := fs.Int("max", 300, "print at most this many `lines` of failures")
	fs.Parse(args)
	if fs.NArg() != 1 {
		usage()
	}
	ru, err := read(fs.Arg(0))
	if err != nil {
		return err
	}
	if *logFile != "" {
		if err := os.WriteFile(*logFile, []byte(ru.text()), 0o644); err != nil {
			return err
		}
	}
	for _, l := range ru.packageLines() {
		fmt.Fprintln(w, l)
	}
	if !ru.failed() {
		return nil
	}
	lines := strings.Split(strings.TrimRight(strings.Join(ru.failures(), ""), "\n"), "\n")
	if len(lines) > *maxLines {
		lines = append(lines[:*maxLines], fmt.Sprintf("(%d more lines in the log)", len(lines)-*maxLines))
	}
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
	return nil
}

func summary(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("summary", flag.ExitOnError)
	strict := fs.Bool("strict", false, "count skipped database tests as failed, and list them")
	fs.Parse(args)
	var passed, failed, skipped int
	var dbSkips []string
	for _, name := range fs.Args() {
		ru, err := read(name)
		if err != nil {
			return err
		}
		p, f, s, d := ru.counts(*strict)
		passed, failed, skipped = passed+p, failed+f, skipped+s
		dbSkips = append(dbSkips, d...)
	}
	fmt.Fprintln(w, passed, failed, skipped)
	slices.Sort(dbSkips)
	for _, d := range dbSkips {
		fmt.Fprintln(w, d)
	}
	return nil
}
