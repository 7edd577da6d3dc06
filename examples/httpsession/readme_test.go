// Package examples holds the httpsession examples, one directory per
// framework; its test keeps the README's "## net/http: httpsession"
// section in step with them.
package examples

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const (
	// heading starts the README section about httpsession.
	heading = "## net/http: httpsession"
	// readmePath is the repository's README, from this directory.
	readmePath = "../../README.md"
)

// TestREADME checks that the README's httpsession section shows the
// net/http example's snippet verbatim, and that the wiring it gives for
// each framework is in that framework's example.
func TestREADME(t *testing.T) {
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README.md has no %q section", heading)
	}
	section, _, _ = strings.Cut(section, "\n## ")

	nethttp := snippetOf(t, "nethttp")
	if !strings.Contains(section, "```go\n"+nethttp+"\n```\n") {
		t.Errorf("the README's %q section does not show the snippet of nethttp/main.go; it should read:\n%s", heading, nethttp)
	}
	rows := map[string]string{
		"nethttp": "handler := sessions.Handler(mux)",
		"chi":     "r.Use(sessions.Handler)",
		"echo":    "e.Use(echo.WrapMiddleware(sessions.Handler))",
		"gin":     "handler := sessions.Handler(r) // serve handler, not r",
	}
	for dir, wiring := range rows {
		if !strings.Contains(section, "| `"+wiring+"` | [examples/httpsession/"+dir+"](examples/httpsession/"+dir+"/main.go) |") {
			t.Errorf("the README's table has no row with `%s` and a link to examples/httpsession/%s", wiring, dir)
		}
		if s := snippetOf(t, dir); !slices.Contains(strings.Split(s, "\n"), wiring) {
			t.Errorf("the snippet of %s/main.go does not hold the README's wiring %q:\n%s", dir, wiring, s)
		}
	}
}

// snippetOf returns the snippet of dir/main.go: its regions between
// "// snippet:start" and "// snippet:end" lines, each without its common
// indentation, joined by an empty line.
func snippetOf(t *testing.T, dir string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(dir, "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	var regions, region []string
	in := false
	for _, line := range strings.Split(string(src), "\n") {
		switch strings.TrimSpace(line) {
		case "// snippet:start":
			in, region = true, nil
		case "// snippet:end":
			in = false
			regions = append(regions, dedent(region))
		default:
			if in {
				region = append(region, line)
			}
		}
	}
	if in || len(regions) == 0 {
		t.Fatalf("%s/main.go: no complete snippet", dir)
	}
	return strings.Join(regions, "\n\n")
}

// dedent removes the leading and trailing empty lines of lines and the tabs
// they all start with.
func dedent(lines []string) string {
	for len(lines) > 0 && strings.TrimSpace(lines[0]) == "" {
		lines = lines[1:]
	}
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	indent := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, "\t"))
		if indent < 0 || n < indent {
			indent = n
		}
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		if len(l) >= indent && indent > 0 {
			l = l[indent:]
		}
		out[i] = l
	}
	return strings.Join(out, "\n")
}
