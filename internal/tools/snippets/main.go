// Command snippets turns the code a user copies from the READMEs into
// programs, for scripts/publish-check to build against the published
// modules in fresh modules:
//
//	snippets [-root dir] -o dir
//
// It writes dir/<name>/main.go and dir/<name>/get (the arguments of the go
// get a user would run) for:
//
//   - quickstart: the first Go block of the repository's README, a whole
//     program, with the modules of the last "go get" the README names
//     before it;
//   - each adapter module: the first Go block of its README, a fragment,
//     inside a main function that declares what the fragment uses (db, ctx,
//     a mux...) before it and uses what it declares after it;
//   - sections of the repository's README whose first Go block is such a
//     fragment ("Log out everywhere"). A fragment's own import lines join
//     the program's imports.
//
// A README whose snippet no longer fits its frame fails the build: update
// the frame below with the README.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// frame is the program around one README's snippet.
type frame struct {
	name    string   // the program's directory
	readme  string   // the README, relative to the root
	section string   // the heading after which the snippet is; "" for the first
	get     []string // what to go get besides the module of the README
	imports []string // the program's imports ("_ path" for a blank one)
	before  string   // declares what the snippet uses
	after   string   // uses what the snippet declares
}

const openDB = `db, err := sql.Open("pgx", os.Getenv("DATABASE_URL"))
if err != nil {
	log.Fatal(err)
}`

var frames = []frame{
	{
		name:    "scsstore",
		readme:  "scsstore/README.md",
		get:     []string{"github.com/sqlsession/sqlsession/scsstore", "github.com/alexedwards/scs/v2", "github.com/jackc/pgx/v5"},
		imports: []string{"context", "database/sql", "log", "net/http", "os", "time", "github.com/alexedwards/scs/v2", "github.com/sqlsession/sqlsession", "github.com/sqlsession/sqlsession/scsstore", "_ github.com/jackc/pgx/v5/stdlib"},
		before:  "ctx := context.Background()\n" + openDB + "\nmux := http.NewServeMux()",
	},
	{
		name:    "gorillastore",
		readme:  "gorillastore/README.md",
		get:     []string{"github.com/sqlsession/sqlsession/gorillastore", "github.com/jackc/pgx/v5"},
		imports: []string{"context", "database/sql", "log", "net/http", "os", "github.com/sqlsession/sqlsession", "github.com/sqlsession/sqlsession/gorillastore", "_ github.com/jackc/pgx/v5/stdlib"},
		before:  "ctx := context.Background()\n" + openDB + "\nhashKey := []byte(os.Getenv(\"SESSION_KEY\"))",
		after:   `log.Fatal(http.ListenAndServe(":8080", nil))`,
	},
	{
		name:    "ginstore",
		readme:  "ginstore/README.md",
		get:     []string{"github.com/sqlsession/sqlsession/ginstore", "github.com/gin-gonic/gin", "github.com/gin-contrib/sessions", "github.com/jackc/pgx/v5"},
		imports: []string{"database/sql", "log", "os", "github.com/gin-contrib/sessions", "github.com/gin-gonic/gin", "github.com/sqlsession/sqlsession", "github.com/sqlsession/sqlsession/ginstore", "github.com/sqlsession/sqlsession/gorillastore", "_ github.com/jackc/pgx/v5/stdlib"},
		before:  openDB + "\nhashKey := []byte(os.Getenv(\"SESSION_KEY\"))",
		after:   `log.Fatal(r.Run(":8080"))`,
	},
	{
		name:    "fiberstore",
		readme:  "fiberstore/README.md",
		get:     []string{"github.com/sqlsession/sqlsession/fiberstore", "github.com/gofiber/fiber/v3", "github.com/jackc/pgx/v5"},
		imports: []string{"context", "database/sql", "log", "os", "time", "github.com/gofiber/fiber/v3", "github.com/gofiber/fiber/v3/middleware/session", "github.com/sqlsession/sqlsession", "github.com/sqlsession/sqlsession/fiberstore", "_ github.com/jackc/pgx/v5/stdlib"},
		before:  "ctx := context.Background()\n" + openDB,
	},
	{
		name:    "pgxstore",
		readme:  "pgxstore/README.md",
		get:     []string{"github.com/sqlsession/sqlsession/pgxstore", "github.com/jackc/pgx/v5"},
		imports: []string{"context", "log", "os", "time", "github.com/jackc/pgx/v5/pgxpool", "github.com/sqlsession/sqlsession", "github.com/sqlsession/sqlsession/pgxstore"},
		before: `ctx := context.Background()
pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
if err != nil {
	log.Fatal(err)
}
defer pool.Close()`,
		after: "if err != nil {\n\tlog.Fatal(err)\n}\ndefer store.Close()",
	},
	{
		name:    "gormstore",
		readme:  "gormstore/README.md",
		get:     []string{"github.com/sqlsession/sqlsession/gormstore", "github.com/glebarez/sqlite", "gorm.io/gorm"},
		imports: []string{"context", "log", "time", "github.com/glebarez/sqlite", "gorm.io/gorm", "github.com/sqlsession/sqlsession", "github.com/sqlsession/sqlsession/gormstore"},
		before: `ctx := context.Background()
db, err := gorm.Open(sqlite.Open("sessions.db"), &gorm.Config{})
if err != nil {
	log.Fatal(err)
}`,
	},
	{
		name:    "logout",
		readme:  "README.md",
		section: "## Log out everywhere",
		get:     []string{"github.com/sqlsession/sqlsession", "github.com/jackc/pgx/v5"},
		imports: []string{"context", "database/sql", "log", "os", "github.com/sqlsession/sqlsession", "_ github.com/jackc/pgx/v5/stdlib"},
		before:  "ctx := context.Background()\n" + openDB + "\ncurrentToken := os.Getenv(\"TOKEN\")",
		after:   "if err != nil {\n\tlog.Fatal(err)\n}",
	},
	{
		name:    "otelsession",
		readme:  "otelsession/README.md",
		get:     []string{"github.com/sqlsession/sqlsession/otelsession", "github.com/jackc/pgx/v5"},
		imports: []string{"database/sql", "log", "os", "github.com/sqlsession/sqlsession", "github.com/sqlsession/sqlsession/otelsession", "_ github.com/jackc/pgx/v5/stdlib"},
		before:  openDB,
	},
	{
		name:    "dsn",
		readme:  "dsn/README.md",
		get:     []string{"github.com/sqlsession/sqlsession/dsn", "github.com/jackc/pgx/v5", "github.com/go-sql-driver/mysql", "modernc.org/sqlite"},
		imports: []string{"log", "os", "github.com/sqlsession/sqlsession", "github.com/sqlsession/sqlsession/dsn", "_ github.com/go-sql-driver/mysql", "_ github.com/jackc/pgx/v5/stdlib", "_ modernc.org/sqlite"},
		after:   "if err != nil {\n\tlog.Fatal(err)\n}\ndefer store.Close()",
	},
}

func main() {
	root := flag.String("root", ".", "the repository's `directory`")
	out := flag.String("o", "", "the `directory` to write the programs to (required)")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: snippets [-root dir] -o dir")
		os.Exit(2)
	}
	if err := run(*root, *out); err != nil {
		fmt.Fprintln(os.Stderr, "snippets:", err)
		os.Exit(1)
	}
}

func run(root, out string) error {
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		return err
	}
	src, get, err := quickStart(string(readme))
	if err != nil {
		return fmt.Errorf("README.md: %w", err)
	}
	if err := write(out, "quickstart", src, get); err != nil {
		return err
	}
	for _, f := range frames {
		readme, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f.readme)))
		if err != nil {
			return err
		}
		md := string(readme)
		if f.section != "" {
			_, after, ok := strings.Cut(md, "\n"+f.section+"\n")
			if !ok {
				return fmt.Errorf("%s: no section %q", f.readme, f.section)
			}
			md = after
		}
		snippet, _, err := firstGoBlock(md)
		if err != nil {
			return fmt.Errorf("%s: %w", f.readme, err)
		}
		src, err := f.program(snippet)
		if err != nil {
			return fmt.Errorf("%s: %w", f.readme, err)
		}
		if err := write(out, f.name, src, f.get); err != nil {
			return err
		}
	}
	return nil
}

// firstGoBlock returns the code of the first ```go block of a Markdown
// text, and the text before it.
func firstGoBlock(md string) (code, before string, err error) {
	before, rest, ok := strings.Cut(md, "```go\n")
	if !ok {
		return "", "", errors.New("no ```go block")
	}
	code, _, ok = strings.Cut(rest, "\n```")
	if !ok {
		return "", "", errors.New("an unterminated ```go block")
	}
	return code + "\n", before, nil
}

// goGet matches a `go get ...` command in Markdown.
var goGet = regexp.MustCompile("`go get ([^`]+)`")

// quickStart returns the README's quick start, a whole program, and the
// modules of the last go get command before it.
func quickStart(md string) (src []byte, get []string, err error) {
	code, before, err := firstGoBlock(md)
	if err != nil {
		return nil, nil, err
	}
	m := goGet.FindAllStringSubmatch(before, -1)
	if m == nil {
		return nil, nil, errors.New("no `go get ...` before the quick start")
	}
	return []byte(code), strings.Fields(m[len(m)-1][1]), nil
}

// importLine matches an import of one package, alone or in an import
// block: `import "path"`, `"path"`, `name "path"`.
var importLine = regexp.MustCompile(`^(?:import\s+)?((?:[A-Za-z_][A-Za-z0-9_]*|_|\.)\s+)?"([^"]+)"\s*(?://.*)?$`)

// hoistImports takes the import declarations at the start of a snippet out
// of it, returning the rest and the imports ("name path" or "path").
func hoistImports(snippet string) (rest string, imports []string, err error) {
	lines := strings.Split(snippet, "\n")
	i, block := 0, false
	for ; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		switch {
		case l == "" || strings.HasPrefix(l, "//") && !block:
			continue
		case l == "import (":
			block = true
			continue
		case block && l == ")":
			block = false
			continue
		case block || strings.HasPrefix(l, "import "):
			m := importLine.FindStringSubmatch(l)
			if m == nil {
				return "", nil, fmt.Errorf("cannot read the import %q", l)
			}
			imports = append(imports, strings.TrimSpace(strings.TrimSpace(m[1])+" "+m[2]))
			continue
		}
		break
	}
	if block {
		return "", nil, errors.New("an unterminated import block")
	}
	return strings.Join(lines[i:], "\n"), imports, nil
}

// program wraps a snippet in f's frame and formats it.
func (f frame) program(snippet string) ([]byte, error) {
	snippet, hoisted, err := hoistImports(snippet)
	if err != nil {
		return nil, err
	}
	imports := f.imports
	for _, imp := range hoisted {
		if !slices.Contains(imports, imp) {
			imports = append(imports, imp)
		}
	}
	var b bytes.Buffer
	b.WriteString("// Code generated by snippets from " + f.readme + ". DO NOT EDIT.\n\npackage main\n\nimport (\n")
	for _, imp := range imports {
		if name, path, ok := strings.Cut(imp, " "); ok {
			fmt.Fprintf(&b, "\t%s %q\n", name, path)
		} else {
			fmt.Fprintf(&b, "\t%q\n", imp)
		}
	}
	b.WriteString(")\n\nfunc main() {\n")
	for _, part := range []string{f.before, snippet, f.after} {
		if part != "" {
			b.WriteString(part + "\n")
		}
	}
	b.WriteString("}\n")
	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("the snippet does not fit its frame in internal/tools/snippets: %w\n%s", err, b.Bytes())
	}
	return src, nil
}

func write(out, name string, src []byte, get []string) error {
	dir := filepath.Join(out, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), src, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "get"), []byte(strings.Join(get, " ")+"\n"), 0o644)
}
