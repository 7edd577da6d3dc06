package demo

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/httpsession"
)

// Session keys. The owner hook reads keyUser and the user_agent column
// reads keyAgent out of the session's JSON on every save.
const (
	keyUser  = "user"
	keyAgent = "user_agent"
	keyCount = "count"
	keyFlash = "flash"
)

// Limits on what a visitor sends.
const (
	maxNameRunes = 40  // well within the owner column's 255 bytes
	maxAgentLen  = 255 // the user_agent column is VARCHAR(255)
)

// DefaultTable is the demo's session table, kept apart from an
// application's own "sessions" table in a shared database.
const DefaultTable = "sqlsession_demo"

// Options configure the demo. The zero value is valid.
type Options struct {
	// Table and Schema name the session table. Default DefaultTable in the
	// connection's schema.
	Table, Schema string
	// Secure marks the session cookie Secure, for a demo served over HTTPS.
	// Default false: plain HTTP on localhost.
	Secure bool
	// Logger receives server errors. Default nil: slog.Default().
	Logger *slog.Logger
}

// App is the demo web application, an [http.Handler]. Create it with [New];
// it is safe for concurrent use.
type App struct {
	store  *sqlsession.Store
	m      *httpsession.Manager
	h      http.Handler
	log    *slog.Logger
	about  string // where the sessions live, for the footer
	secure bool   // the cookie is Secure
}

// New returns the demo on db, which speaks dialect. It does no I/O: call
// [App.CreateTable] before serving. Close stops the Store's cleanup and
// leaves db open.
func New(db *sql.DB, dialect sqlsession.Dialect, opts Options) (*App, error) {
	if opts.Table == "" {
		opts.Table = DefaultTable
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	// OwnerKey reads a string key of the session's JSON: the owner, and
	// the user agent for its column.
	agent := httpsession.OwnerKey(keyAgent)
	store, err := sqlsession.New(db, dialect, sqlsession.Options{
		Table:      opts.Table,
		Schema:     opts.Schema,
		Timestamps: true, // "signed in" and "last seen"
		Owner:      httpsession.OwnerKey(keyUser),
		Columns: []sqlsession.Column{{
			Name: "user_agent", Type: "VARCHAR(255)",
			Value: func(data []byte) (any, error) {
				ua, err := agent(data)
				if ua == "" || err != nil {
					return nil, err
				}
				return ua, nil
			},
		}},
		CleanupInterval: 10 * time.Minute,
		Logger:          log,
	})
	if err != nil {
		return nil, err
	}
	a := &App{store: store, log: log, secure: opts.Secure}
	a.about = dialect.Name() + ", table " + opts.Table
	if opts.Schema != "" {
		a.about = dialect.Name() + ", table " + opts.Schema + "." + opts.Table
	}

	a.m, err = httpsession.New(store, httpsession.Config{
		CookieName:     "sqlsession_demo",
		InsecureCookie: !opts.Secure,
		Lifetime:       30 * 24 * time.Hour,
		// Each request moves the expiry, at most once per tenth of the
		// idle timeout: that write also moves updated_at, "last seen".
		IdleTimeout:  7 * 24 * time.Hour,
		ErrorHandler: a.serverError,
		Logger:       log,
	})
	if err != nil {
		store.Close()
		return nil, err
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("POST /login", a.login)
	mux.HandleFunc("POST /logout", a.logout)
	mux.HandleFunc("POST /count", a.count)
	mux.HandleFunc("GET /devices", a.devices)
	mux.HandleFunc("POST /devices/logout", a.logoutDevice)
	mux.HandleFunc("POST /devices/logout-others", a.logoutOthers)

	// Static files need no session: serving them outside the Manager's
	// Handler saves a database round trip each.
	root := http.NewServeMux()
	root.HandleFunc("GET /style.css", serveCSS)
	root.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	root.Handle("/", a.m.Handler(mux))

	// Cross-origin POSTs are refused before the session is even loaded.
	cop := http.NewCrossOriginProtection()
	a.h = headers(cop.Handler(root))
	return a, nil
}

// CreateTable creates the session table with the owner, timestamp and
// user_agent columns, or adds them to an existing one.
func (a *App) CreateTable(ctx context.Context) error { return a.store.CreateTable(ctx) }

// Store returns the sqlsession Store the demo keeps its sessions in.
func (a *App) Store() *sqlsession.Store { return a.store }

// ServeHTTP serves the demo.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.h.ServeHTTP(w, r) }

// Close stops the Store's background cleanup. Stop the server first.
func (a *App) Close() error { return a.store.Close() }

// headers sets the security headers of every response.
func headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// page is what the templates get.
type page struct {
	User    string
	Flash   string
	Notice  string // why this device is signed out, when it was from elsewhere
	Error   string
	Count   int
	Devices []device
	About   string
	Secure  bool
	Now     time.Time
}

// device is one row of "Your devices".
type device struct {
	ID        string
	Name      string // browser and system, from the user agent
	UserAgent string
	Created   time.Time
	Updated   time.Time
	Expiry    time.Time
	Current   bool
}

func (a *App) page(r *http.Request) page {
	s := httpsession.From(r.Context())
	p := page{About: a.about, Secure: a.secure, Now: time.Now()}
	// A value that does not decode reads as missing: the session's keys
	// are the demo's own.
	s.Get(keyUser, &p.User)
	s.Get(keyCount, &p.Count)
	if found, _ := s.Get(keyFlash, &p.Flash); found {
		s.Delete(keyFlash) // shown once
	}
	return p
}

// signedIn returns the signed-in user of r's session, "" for none.
func signedIn(r *http.Request) string {
	var u string
	httpsession.From(r.Context()).Get(keyUser, &u)
	return u
}

// put sets key in r's session, answering 500 and returning false when the
// value does not encode.
func (a *App) put(w http.ResponseWriter, r *http.Request, key string, v any) bool {
	if err := httpsession.From(r.Context()).Put(key, v); err != nil {
		a.serverError(w, r, err)
		return false
	}
	return true
}

// revokedNotice tells a device whose session was deleted elsewhere why it
// is on the sign-in page.
const revokedNotice = "This device was signed out from another device (or by an administrator). Sign in again to continue."

func (a *App) home(w http.ResponseWriter, r *http.Request) {
	p := a.page(r)
	if p.User == "" && a.revoked(r) {
		p.Notice = revokedNotice
		// Once is enough: the next visit is an ordinary one. Destroy on
		// a session that is gone deletes nothing and expires the cookie.
		if err := httpsession.From(r.Context()).Destroy(); err != nil {
			a.serverError(w, r, err)
			return
		}
	}
	a.render(w, r, http.StatusOK, "home", p)
}

// revoked reports whether r carried a session cookie whose session is
// gone, so that the Manager started a new, empty one: it was revoked on the
// devices page of another device, or with "sqlsession revoke". Expiry does
// not count: the cookie expires with its session, and the browser stops
// sending it.
func (a *App) revoked(r *http.Request) bool {
	return a.m.Token(r) != "" && httpsession.From(r.Context()).Token() == ""
}

func (a *App) login(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	if msg := checkName(name); msg != "" {
		p := a.page(r)
		p.Error = msg
		a.render(w, r, http.StatusUnprocessableEntity, "home", p)
		return
	}
	// A new token at every sign-in: a token planted before it is worthless.
	if err := httpsession.From(r.Context()).Renew(); err != nil {
		a.serverError(w, r, err)
		return
	}
	if !a.put(w, r, keyUser, name) || !a.put(w, r, keyAgent, cleanAgent(r.UserAgent())) || !a.put(w, r, keyFlash, "Signed in as "+name+".") {
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// checkName returns what is wrong with a sign-in name, or "".
func checkName(name string) string {
	switch {
	case name == "":
		return "Type a name to sign in."
	case !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxNameRunes:
		return fmt.Sprintf("A name has at most %d characters.", maxNameRunes)
	case strings.ContainsFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }):
		return "A name holds letters, digits, spaces and punctuation only."
	}
	return ""
}

// cleanAgent keeps the printable ASCII of a User-Agent header, at most
// maxAgentLen bytes, which fits the column in any character set.
func cleanAgent(ua string) string {
	b := make([]byte, 0, min(len(ua), maxAgentLen))
	for i := 0; i < len(ua) && len(b) < maxAgentLen; i++ {
		if c := ua[i]; c >= ' ' && c <= '~' {
			b = append(b, c)
		}
	}
	return string(b)
}

func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	if err := httpsession.From(r.Context()).Destroy(); err != nil {
		a.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (a *App) count(w http.ResponseWriter, r *http.Request) {
	if signedIn(r) != "" {
		var n int
		httpsession.From(r.Context()).Get(keyCount, &n)
		if !a.put(w, r, keyCount, n+1) {
			return
		}
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (a *App) devices(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := a.page(r)
	if p.User == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	infos, err := a.store.ListByOwner(ctx, p.User)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	current := a.store.SessionID(httpsession.From(ctx).Token())
	for _, in := range infos {
		ua, _ := in.Columns["user_agent"].(string)
		p.Devices = append(p.Devices, device{
			ID: in.ID, Name: describeAgent(ua), UserAgent: ua,
			Created: in.Created, Updated: in.Updated, Expiry: in.Expiry,
			Current: in.ID == current,
		})
	}
	// This device first, then the most recently seen.
	slices.SortStableFunc(p.Devices, func(x, y device) int {
		if x.Current != y.Current {
			if x.Current {
				return -1
			}
			return 1
		}
		return y.Updated.Compare(x.Updated)
	})
	a.render(w, r, http.StatusOK, "devices", p)
}

func (a *App) logoutDevice(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	user := signedIn(r)
	if user == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	id := r.PostFormValue("id")
	if id == a.store.SessionID(httpsession.From(ctx).Token()) {
		a.logout(w, r)
		return
	}
	// The owner is the signed-in user, so an ID from the form can only
	// name one of their own sessions.
	ok, err := a.store.DeleteByID(ctx, user, id)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	flash := "That device was signed out already."
	if ok {
		flash = "Revoked 1 device: it is signed out."
	}
	if !a.put(w, r, keyFlash, flash) {
		return
	}
	http.Redirect(w, r, "/devices", http.StatusSeeOther)
}

func (a *App) logoutOthers(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	user := signedIn(r)
	if user == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	n, err := a.store.DeleteOthers(ctx, user, httpsession.From(ctx).Token())
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	flash := fmt.Sprintf("Revoked %d other devices: they are signed out.", n)
	if n == 1 {
		flash = "Revoked 1 other device: it is signed out."
	}
	if !a.put(w, r, keyFlash, flash) {
		return
	}
	http.Redirect(w, r, "/devices", http.StatusSeeOther)
}

// serverError logs err and answers 500; it is the Manager's ErrorHandler
// too. A
// request that the client gave up is not logged.
func (a *App) serverError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil && errors.Is(err, r.Context().Err()) {
		return
	}
	a.log.ErrorContext(r.Context(), "sqlsession demo", "method", r.Method, "path", r.URL.Path, "error", err)
	http.Error(w, "Something went wrong; the demo's log says what.", http.StatusInternalServerError)
}

//go:embed templates/*.html static/style.css
var files embed.FS

var templates = map[string]*template.Template{
	"home":    parse("templates/home.html"),
	"devices": parse("templates/devices.html"),
}

func parse(name string) *template.Template {
	funcs := template.FuncMap{"ago": relative, "stamp": stamp}
	return template.Must(template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html", name))
}

func (a *App) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	var buf bytes.Buffer
	if err := templates[name].Execute(&buf, p); err != nil {
		a.serverError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func serveCSS(w http.ResponseWriter, r *http.Request) {
	http.ServeFileFS(w, r, files, "static/style.css")
}
