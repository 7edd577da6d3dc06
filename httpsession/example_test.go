package httpsession_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/httpsession"
)

var (
	// store stands for a *sqlsession.Store, from sqlsession.New or
	// pgxstore.New; the runnable examples keep their sessions in memory.
	store httpsession.Store = newMemStore()

	db *sql.DB
)

// get sends a GET with the client's cookie jar and prints the body.
func get(client *http.Client, url string) {
	res, err := client.Get(url)
	if err != nil {
		log.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	fmt.Print(string(body))
}

// newClient returns a client of srv with a cookie jar, as a browser.
func newClient(srv *httptest.Server) *http.Client {
	jar, _ := cookiejar.New(nil)
	c := srv.Client()
	c.Jar = jar
	return c
}

// A visit counter: the session is loaded before the handler runs and saved
// before the response's headers go out.
func Example() {
	m, err := httpsession.New(store, httpsession.Config{})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.From(r.Context())
		var count int
		if _, err := s.Get("count", &count); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		count++
		if err := s.Put("count", count); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "count=%d\n", count)
	})

	srv := httptest.NewTLSServer(m.Handler(mux))
	defer srv.Close()
	browser := newClient(srv)
	get(browser, srv.URL)
	get(browser, srv.URL)
	get(browser, srv.URL)
	// Output:
	// count=1
	// count=2
	// count=3
}

// Log-in moves the session to a new token, so that a token planted in the
// browser before (session fixation) is worthless; log-out destroys it.
func Example_login() {
	m, err := httpsession.New(store, httpsession.Config{})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// (Check the credentials first.)
		s := httpsession.From(r.Context())
		if err := s.Renew(); err != nil {
			http.Error(w, "try again", http.StatusInternalServerError)
			return
		}
		if err := s.Put("user", r.FormValue("user")); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "signed in")
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := httpsession.From(r.Context()).Destroy(); err != nil {
			http.Error(w, "try again", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "signed out")
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		user := "nobody"
		if _, err := httpsession.From(r.Context()).Get("user", &user); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "hello, %s\n", user)
	})

	srv := httptest.NewTLSServer(m.Handler(mux))
	defer srv.Close()
	browser := newClient(srv)
	post := func(path string) {
		res, err := browser.PostForm(srv.URL+path, map[string][]string{"user": {"ada"}})
		if err != nil {
			log.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		fmt.Println(path, res.Status, "cookies:", len(res.Cookies()))
	}
	get(browser, srv.URL)
	post("/login")
	get(browser, srv.URL)
	post("/logout")
	get(browser, srv.URL)
	// Output:
	// hello, nobody
	// /login 200 OK cookies: 1
	// hello, ada
	// /logout 200 OK cookies: 1
	// hello, nobody
}

// "Remember me": with BrowserSession, cookies end when the browser closes,
// except for the sessions that opt in.
func ExampleSession_SetPersistent() {
	m, err := httpsession.New(store, httpsession.Config{
		BrowserSession: true,
		Lifetime:       30 * 24 * time.Hour,
		IdleTimeout:    7 * 24 * time.Hour,
	})
	if err != nil {
		log.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.From(r.Context())
		s.Put("user", "ada")
		s.SetPersistent(r.FormValue("remember") == "on")
	}))
	for _, url := range []string{"/login", "/login?remember=on"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", url, nil))
		c := rec.Result().Cookies()[0]
		fmt.Printf("%s: persistent %v, Max-Age %v\n", url, c.MaxAge > 0, time.Duration(c.MaxAge)*time.Second)
	}
	// Output:
	// /login: persistent false, Max-Age 0s
	// /login?remember=on: persistent true, Max-Age 720h0m0s
}

// Load and Commit are the two halves of Handler, for frameworks that do not
// pass an http.ResponseWriter around.
func ExampleManager_Load() {
	m, err := httpsession.New(store, httpsession.Config{})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	s, err := m.Load(ctx, "") // the token of the request's cookie; "" for none
	if err != nil {
		log.Fatal(err) // the store failed: answer with an error
	}
	s.Put("user", "ada")
	cookie, err := m.Commit(ctx, s)
	if err != nil {
		log.Fatal(err) // the store failed: answer with an error
	}
	fmt.Println("cookie:", cookie.Name, cookie.Value == s.Token(), cookie.HttpOnly, cookie.Secure)

	s, _ = m.Load(ctx, cookie.Value)
	var user string
	s.Get("user", &user)
	cookie, _ = m.Commit(ctx, s)
	fmt.Println("user:", user, "new cookie:", cookie != nil)
	// Output:
	// cookie: session true true true
	// user: ada new cookie: false
}

// With an owner hook, the Store knows whose session each row is: "log out
// everywhere" is one call.
func ExampleOwnerKey() {
	store, err := sqlsession.New(db, sqlsession.Postgres, sqlsession.Options{
		Owner: httpsession.OwnerKey("user_id"),
	})
	if err != nil {
		log.Fatal(err)
	}
	m, err := httpsession.New(store, httpsession.Config{})
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("POST /logout-everywhere", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var userID int64
		if found, err := httpsession.From(r.Context()).Get("user_id", &userID); !found || err != nil {
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		n, err := store.DeleteByOwner(r.Context(), fmt.Sprint(userID))
		if err != nil {
			http.Error(w, "try again", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%d sessions ended\n", n)
	})))
}
