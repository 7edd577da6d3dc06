package nodee2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/httpsession"
	"github.com/sqlsession/sqlsession/nodesession"
)

// presets are the Go side of each pair: the nodesession preset that shares
// the store's table.
var presets = map[string]func() sqlsession.Options{
	"express-sequelize": nodesession.ConnectSessionSequelize,
	"express-pg":        nodesession.ConnectPgSimple,
	"koa-sequelize":     nodesession.KoaGenericSessionSequelize,
	"koa-pg":            nodesession.KoaPgSession,
}

// goApp is the Go application: httpsession with the pair's preset and the
// framework's cookie codec, with the Node application's routes.
type goApp struct {
	url   string
	store *sqlsession.Store
	m     *httpsession.Manager
}

// startGo starts the Go application on e's table, which the Node
// application has made. change, if not nil, adjusts its Config.
func (e *env) startGo(t *testing.T, change func(*httpsession.Config)) *goApp {
	t.Helper()
	opts := presets[e.p.name]()
	// The preset must name the columns the store really made.
	l, want := opts.Layout, e.p.layout
	if l.Key != want.Key || l.Data != want.Data || l.Expiry != want.Expiry || l.Time != want.Time || l.JSON != want.JSON || l.KeyPrefix != want.KeyPrefix {
		t.Errorf("preset for %s: Layout = %+v, want the store's columns %+v", e.p.name, l, want)
	}
	opts.Table, opts.Schema = e.tb.name, e.tb.schema
	store, err := sqlsession.New(e.tb.db, e.tg.Dialect, opts)
	if err != nil {
		t.Fatalf("sqlsession.New(%s preset) = %v", e.p.name, err)
	}
	t.Cleanup(func() { store.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := store.CreateTable(ctx); err != nil {
		t.Fatalf("CreateTable() on the table %s made = %v", e.p.name, err)
	}
	cfg := httpsession.Config{
		InsecureCookie: true, // plain HTTP, as the Node apps
		// The error in the response, for the test's failure message.
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "go app: "+err.Error(), http.StatusInternalServerError)
		},
	}
	if e.p.koa {
		cfg.Cookie = httpsession.KoaCookie{Keys: secrets}
	} else {
		cfg.Cookie = httpsession.ExpressCookie{Secrets: secrets}
	}
	if change != nil {
		change(&cfg)
	}
	m, err := httpsession.New(store, cfg)
	if err != nil {
		t.Fatalf("httpsession.New() = %v", err)
	}
	srv := httptest.NewServer(m.Handler(goRoutes()))
	t.Cleanup(srv.Close)
	return &goApp{url: srv.URL, store: store, m: m}
}

// goRoutes are nodeapp/server.js's routes, on httpsession.
func goRoutes() http.Handler {
	mux := http.NewServeMux()
	fail := func(w http.ResponseWriter, err error) { http.Error(w, err.Error(), 500) }
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.From(r.Context())
		if err := s.Renew(); err != nil {
			fail(w, err)
			return
		}
		if err := s.Put("user", r.FormValue("user")); err != nil {
			fail(w, err)
			return
		}
		if err := s.Put("go", 1); err != nil {
			fail(w, err)
			return
		}
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		var user string
		if _, err := httpsession.From(r.Context()).Get("user", &user); err != nil {
			fail(w, err)
			return
		}
		fmt.Fprintf(w, "user=%s", user)
	})
	mux.HandleFunc("GET /get", func(w http.ResponseWriter, r *http.Request) {
		var v any
		found, err := httpsession.From(r.Context()).Get(r.FormValue("k"), &v)
		if err != nil {
			fail(w, err)
			return
		}
		if found {
			b, _ := json.Marshal(v)
			w.Write(b)
		}
	})
	mux.HandleFunc("POST /set", func(w http.ResponseWriter, r *http.Request) {
		if err := httpsession.From(r.Context()).Put(r.FormValue("k"), r.FormValue("v")); err != nil {
			fail(w, err)
			return
		}
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		keys := slices.DeleteFunc(httpsession.From(r.Context()).Keys(), func(k string) bool { return k == "cookie" })
		slices.Sort(keys)
		io.WriteString(w, strings.Join(keys, ","))
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := httpsession.From(r.Context()).Destroy(); err != nil {
			fail(w, err)
			return
		}
		io.WriteString(w, "ok")
	})
	return mux
}
