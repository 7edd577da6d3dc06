package readmecheck

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var printSection = flag.Bool("print", false, "print the README's "+heading+" section")

const (
	// heading starts the README section with the snippets.
	heading = "## Frameworks"
	// readmePath is the repository's README, from this directory.
	readmePath = "../../../README.md"
	// examplesDir is the examples module, from this directory.
	examplesDir = "../.."

	startMarker = "// snippet:start"
	endMarker   = "// snippet:end"
	// maxLines bounds the lines of code in a snippet.
	maxLines = 12
)

// A framework is one example whose wiring the README shows.
type framework struct {
	name    string   // the heading of its snippet
	dir     string   // its directory in the examples module
	row     string   // its column in the table: framework and session package
	modules []string // what to go get
	imports []string // the sqlsession packages its snippet imports
	note    string   // what to know beyond the snippet (Markdown)
}

var frameworks = []framework{
	{
		name:    "net/http with scs",
		dir:     "nethttp",
		row:     "net/http + [scs](https://github.com/alexedwards/scs)",
		modules: []string{"github.com/sqlsession/sqlsession/scsstore"},
		imports: []string{"github.com/sqlsession/sqlsession/scsstore"},
		note: "scs keeps the cookie and encodes the values, sqlsession keeps the rows. Use scs as usual:\n" +
			"`sm.RenewToken(ctx)` at log-in, `sm.Destroy(ctx)` at log-out. Leave `sm.HashTokenInStore` off:\n" +
			"the table already holds only SHA-256 digests of the tokens.",
	},
	{
		name:    "chi with scs",
		dir:     "chi",
		row:     "[chi](https://github.com/go-chi/chi) + scs",
		modules: []string{"github.com/sqlsession/sqlsession/scsstore"},
		imports: []string{"github.com/sqlsession/sqlsession/scsstore"},
		note:    "The same adapter as for net/http; `sm.LoadAndSave` is ordinary chi middleware.",
	},
	{
		name:    "gorilla/sessions",
		dir:     "gorilla",
		row:     "net/http + [gorilla/sessions](https://github.com/gorilla/sessions)",
		modules: []string{"github.com/sqlsession/sqlsession/gorillastore"},
		imports: []string{"github.com/sqlsession/sqlsession/gorillastore"},
		note: "A `sessions.Store` whose cookie holds only a signed token. `sessionStore.Get(r, \"session\")` and\n" +
			"`session.Save(r, w)` work as with any gorilla store; the error of `Get` means the database failed.\n" +
			"At log-in, `sessionStore.Regenerate(r, w, session)` moves the session to a new token.",
	},
	{
		name:    "gin",
		dir:     "gin",
		row:     "[gin](https://github.com/gin-gonic/gin) + gin-contrib/sessions",
		modules: []string{"github.com/sqlsession/sqlsession/ginstore"},
		imports: []string{"github.com/sqlsession/sqlsession/ginstore", "github.com/sqlsession/sqlsession/gorillastore"},
		note: "The cookie holds only a signed token. gin-contrib/sessions only logs a session that fails to load:\n" +
			"call `sessionStore.Get(c.Request, \"session\")` first to tell a database failure from a new session.\n" +
			"At log-in, `sessionStore.Regenerate(c.Request, c.Writer, s)` with the session that `Get` returned\n" +
			"moves it to a new token.",
	},
	{
		name:    "echo",
		dir:     "echo",
		row:     "[echo](https://github.com/labstack/echo) v4 + echo-contrib/session",
		modules: []string{"github.com/sqlsession/sqlsession/gorillastore", "github.com/labstack/echo-contrib"},
		imports: []string{"github.com/sqlsession/sqlsession/gorillastore"},
		note: "The cookie holds only a signed token. `session.Get(\"session\", c)` returns the session; its error\n" +
			"means the database failed. At log-in, `sessionStore.Regenerate(c.Request(), c.Response(), sess)`\n" +
			"moves it to a new token; `sess.Options.MaxAge = -1` and `Save` log out.",
	},
	{
		name:    "fiber",
		dir:     "fiber",
		row:     "[fiber](https://github.com/gofiber/fiber) v3 (v2 too) + its session middleware",
		modules: []string{"github.com/sqlsession/sqlsession/fiberstore"},
		imports: []string{"github.com/sqlsession/sqlsession/fiberstore"},
		note: "fiber's session middleware panics when it cannot load a session (the database failed): register\n" +
			"`recover.New()` before it. `session.FromContext(c).Regenerate()` at log-in, `.Destroy()` at log-out.",
	},
	{
		name:    "pgx",
		dir:     "pgx",
		row:     "any of the above on a [pgx](https://github.com/jackc/pgx) v5 pool",
		modules: []string{"github.com/sqlsession/sqlsession/pgxstore"},
		imports: []string{"github.com/sqlsession/sqlsession/pgxstore"},
		note: "A Store like one from `sqlsession.New(db, sqlsession.Postgres, opts)`, on pgx's native pool instead\n" +
			"of database/sql; give it to any adapter above. It never closes your pool;\n" +
			"`pgxstore.Open(ctx, url, opts)` makes a pool that the Store owns and closes.",
	},
	{
		name:    "GORM",
		dir:     "gorm",
		row:     "any of the above on a [GORM](https://gorm.io) `*gorm.DB`",
		modules: []string{"github.com/sqlsession/sqlsession/gormstore"},
		imports: []string{"github.com/sqlsession/sqlsession/gormstore"},
		note: "The dialect comes from GORM's dialector. The Store's SQL goes through your `*gorm.DB`, with its\n" +
			"pool, logger and callbacks (or inside its transaction), and the Store never closes it; give it\n" +
			"to any adapter above. `gormstore.NewWithModel` keeps the sessions in a model of your own.",
	},
}

// snippet returns the regions of src marked with startMarker and
// endMarker lines, each without its markers, the empty lines at its ends
// and its common indentation, joined by an empty line.
func snippet(src string) (string, error) {
	var regions, region []string
	in := false
	for i, line := range strings.Split(src, "\n") {
		switch strings.TrimSpace(line) {
		case startMarker:
			if in {
				return "", fmt.Errorf("line %d: %s inside a snippet", i+1, startMarker)
			}
			in, region = true, nil
		case endMarker:
			if !in {
				return "", fmt.Errorf("line %d: %s outside a snippet", i+1, endMarker)
			}
			in = false
			r := dedent(region)
			if r == "" {
				return "", fmt.Errorf("line %d: an empty snippet", i+1)
			}
			regions = append(regions, r)
		default:
			if in {
				region = append(region, line)
			}
		}
	}
	if in {
		return "", fmt.Errorf("%s without %s", startMarker, endMarker)
	}
	if len(regions) == 0 {
		return "", fmt.Errorf("no %s line", startMarker)
	}
	return strings.Join(regions, "\n\n"), nil
}

// dedent returns lines without the empty lines at both ends and without
// the indentation that all the others share, as one string.
func dedent(lines []string) string {
	blank := func(s string) bool { return strings.TrimSpace(s) == "" }
	for len(lines) > 0 && blank(lines[0]) {
		lines = lines[1:]
	}
	for len(lines) > 0 && blank(lines[len(lines)-1]) {
		lines = lines[:len(lines)-1]
	}
	prefix, first := "", true
	for _, l := range lines {
		if blank(l) {
			continue
		}
		indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		if first {
			prefix, first = indent, false
		}
		for !strings.HasPrefix(indent, prefix) {
			prefix = prefix[:len(prefix)-1]
		}
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		if !blank(l) {
			out[i] = strings.TrimPrefix(l, prefix)
		}
	}
	return strings.Join(out, "\n")
}

// goBlocks returns the contents of the README's ```go blocks.
func goBlocks(md string) []string {
	var blocks, block []string
	in := false
	for _, line := range strings.Split(md, "\n") {
		line = strings.TrimRight(line, " \t\r")
		switch {
		case !in && line == "```go":
			in, block = true, nil
		case in && line == "```":
			in = false
			blocks = append(blocks, strings.Join(block, "\n"))
		case in:
			block = append(block, line)
		}
	}
	return blocks
}

// hasHeading reports whether md has the snippets' section.
func hasHeading(md string) bool {
	return slices.ContainsFunc(strings.Split(md, "\n"), func(l string) bool {
		return strings.TrimRight(l, " \t\r") == heading
	})
}

// shows reports whether one of md's ```go blocks contains code as whole
// lines.
func shows(md, code string) bool {
	return slices.ContainsFunc(goBlocks(md), func(b string) bool {
		return strings.Contains("\n"+b+"\n", "\n"+code+"\n")
	})
}

// exampleSnippet returns the snippet of fw's main.go.
func exampleSnippet(t *testing.T, fw framework) string {
	t.Helper()
	path := filepath.Join(examplesDir, fw.dir, "main.go")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := snippet(string(src))
	if err != nil {
		t.Fatalf("snippet(%s): %v", path, err)
	}
	return s
}

// section returns the README section with every framework's snippet.
func section(t *testing.T) string {
	var b strings.Builder
	b.WriteString(heading + "\n\n")
	b.WriteString("Each web framework has a module of its own, so you pull in only the one you use. Every snippet\n" +
		"below is the wiring of a runnable example in [examples/](examples/) (`cd examples && go run ./gin`),\n" +
		"checked against it by a test; `store` is the `*sqlsession.Store` of the quick start.\n\n")
	b.WriteString("| framework | `go get` | import |\n|---|---|---|\n")
	for _, fw := range frameworks {
		var mods, imps []string
		for _, m := range fw.modules {
			mods = append(mods, "`"+m+"`")
		}
		for _, p := range fw.imports {
			imps = append(imps, "`\""+p+"\"`")
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", fw.row, strings.Join(mods, "<br>"), strings.Join(imps, "<br>"))
	}
	for _, fw := range frameworks {
		fmt.Fprintf(&b, "\n### %s\n\n```go\n%s\n```\n\n%s\n", fw.name, exampleSnippet(t, fw), fw.note)
	}
	return b.String()
}

// TestREADME checks that the README shows every example's snippet
// verbatim. It skips while the README has no "## Frameworks" section.
func TestREADME(t *testing.T) {
	md, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	if !hasHeading(string(md)) {
		var names []string
		for _, fw := range frameworks {
			names = append(names, fw.name)
		}
		t.Skipf("the README has no %q section: the snippets of %s are not checked. "+
			"Print the section with: go test -run TestSection -args -print", heading, strings.Join(names, ", "))
	}
	for _, fw := range frameworks {
		t.Run(fw.dir, func(t *testing.T) {
			if want := exampleSnippet(t, fw); !shows(string(md), want) {
				t.Errorf("the README does not show the %s snippet of %s/main.go; one of its ```go blocks must contain, verbatim:\n%s",
					fw.name, fw.dir, want)
			}
		})
	}
}

// TestSnippets checks that every example marks a short snippet that
// imports its sqlsession adapter.
func TestSnippets(t *testing.T) {
	for _, fw := range frameworks {
		t.Run(fw.dir, func(t *testing.T) {
			s := exampleSnippet(t, fw)
			lines := 0
			for l := range strings.SplitSeq(s, "\n") {
				if l != "" {
					lines++
				}
			}
			if lines > maxLines {
				t.Errorf("the snippet of %s/main.go has %d lines, want at most %d", fw.dir, lines, maxLines)
			}
			for _, p := range fw.imports {
				if !strings.Contains(s, `"`+p+`"`) {
					t.Errorf("the snippet of %s/main.go does not import %q", fw.dir, p)
				}
			}
		})
	}
}

// TestSection checks that the section this package prints passes
// TestREADME, and that a README with any snippet changed does not.
func TestSection(t *testing.T) {
	sec := section(t)
	if *printSection {
		fmt.Print(sec)
	}
	md := "# sqlsession\n\nIntro.\n\n" + sec + "\n## License\n"
	if !hasHeading(md) {
		t.Fatalf("hasHeading(section) = false, want true")
	}
	for _, fw := range frameworks {
		want := exampleSnippet(t, fw)
		if !shows(md, want) {
			t.Errorf("shows(section, %s snippet) = false, want true", fw.dir)
		}
		changed := strings.Replace(md, want, strings.Replace(want, "store", "st", 1), 1)
		if shows(changed, want) {
			t.Errorf("shows(section with the %s snippet changed, %s snippet) = true, want false", fw.dir, fw.dir)
		}
	}
}

func TestSnippet(t *testing.T) {
	tests := []struct {
		name, src, want string
		err             bool
	}{
		{
			name: "two regions",
			src: "package main\n// snippet:start\nimport \"x\"\n\n// snippet:end\nfunc f() {\n" +
				"\t// snippet:start\n\ta := 1\n\tif a > 0 {\n\t\ta++\n\t}\n\n\t// snippet:end\n}\n",
			want: "import \"x\"\n\na := 1\nif a > 0 {\n\ta++\n}",
		},
		{
			name: "empty line inside",
			src:  "\t// snippet:start\n\ta := 1\n\n\tb := 2\n\t// snippet:end\n",
			want: "a := 1\n\nb := 2",
		},
		{name: "no markers", src: "package main\n", err: true},
		{name: "unterminated", src: "// snippet:start\na\n", err: true},
		{name: "end without start", src: "a\n// snippet:end\n", err: true},
		{name: "nested", src: "// snippet:start\n// snippet:start\na\n// snippet:end\n", err: true},
		{name: "empty", src: "// snippet:start\n\n// snippet:end\n", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := snippet(tt.src)
			if tt.err {
				if err == nil {
					t.Errorf("snippet(%q) = %q, nil, want an error", tt.src, got)
				}
				return
			}
			if got != tt.want || err != nil {
				t.Errorf("snippet(%q) = %q, %v, want %q, nil", tt.src, got, err, tt.want)
			}
		})
	}
}

func TestShows(t *testing.T) {
	md := "text\n\n```go\nimport \"x\"\n\na := 1\n```\n\n```sh\nb := 2\n```\n"
	tests := []struct {
		code string
		want bool
	}{
		{"a := 1", true},
		{"import \"x\"\n\na := 1", true},
		{"a := ", false},  // a part of a line
		{"b := 2", false}, // not in a go block
		{"text", false},
	}
	for _, tt := range tests {
		if got := shows(md, tt.code); got != tt.want {
			t.Errorf("shows(md, %q) = %v, want %v", tt.code, got, tt.want)
		}
	}
}
