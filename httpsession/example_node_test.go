package httpsession_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"strings"
	"time"

	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/httpsession"
	"github.com/sqlsession/sqlsession/nodesession"
)

// A Go service that shares the sessions of an Express app using
// express-session and connect-pg-simple: the same table, the same cookie.
func ExampleExpressCookie() {
	opts := nodesession.ConnectPgSimple() // table "session": sid, sess, expire
	store, err := sqlsession.New(db, sqlsession.Postgres, opts)
	if err != nil {
		log.Fatal(err)
	}
	// Adds the version column to the Node.js app's table, nothing else.
	if err := store.CreateTable(context.Background()); err != nil {
		log.Fatal(err)
	}
	sessions, err := httpsession.New(store, httpsession.Config{
		// express-session's secret option: the first signs, all verify.
		Cookie: httpsession.ExpressCookie{Secrets: []string{"keyboard cat"}},
		// express-session's cookie.maxAge, for the sessions Go creates.
		Lifetime: 24 * time.Hour,
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /account", func(w http.ResponseWriter, r *http.Request) {
		var user string // what the Express app's handlers put in req.session.user
		if ok, _ := httpsession.From(r.Context()).Get("user", &user); !ok {
			http.Redirect(w, r, "/login", http.StatusSeeOther) // still served by Node.js
			return
		}
		fmt.Fprintf(w, "signed in as %s\n", user)
	})
	log.Fatal(http.ListenAndServe(":8080", sessions.Handler(mux)))
}

// The cookie of a session id, as express-session signs it, and the id
// read back from a request's Cookie header.
func ExampleExpressCookie_Cookies() {
	codec := httpsession.ExpressCookie{Secrets: []string{"keyboard cat"}}
	sid := "Xq3DtaXg0PJ4-nVQmN3Lk7oRZ0a1HjFc"
	c := codec.Cookies(&http.Cookie{Name: "connect.sid", Value: sid, Path: "/", HttpOnly: true})[0]
	fmt.Println(c)
	header := c.Name + "=" + c.Value
	fmt.Println(codec.Token([]string{header}, "connect.sid"))
	fmt.Printf("%q\n", codec.Token([]string{strings.Replace(header, "Xq3D", "Xq3E", 1)}, "connect.sid"))
	// Output:
	// connect.sid=s%3AXq3DtaXg0PJ4-nVQmN3Lk7oRZ0a1HjFc.Vx5egabVj5aw4UmBx9FQVuWctS8qHFL7XOSQabypF1s; Path=/; HttpOnly
	// Xq3DtaXg0PJ4-nVQmN3Lk7oRZ0a1HjFc
	// ""
}

// Koa signs its session cookie with a second cookie, koa.sid.sig.
func ExampleKoaCookie() {
	codec := httpsession.KoaCookie{Keys: []string{"key one", "key two"}} // app.keys
	sid := "Xq3DtaXg0PJ4-nVQmN3Lk7oRZ0a1HjFc"
	var pairs []string
	for _, c := range codec.Cookies(&http.Cookie{Name: "koa.sid", Value: sid}) {
		pairs = append(pairs, c.Name+"="+c.Value)
	}
	fmt.Println(strings.Join(pairs, "; "))
	fmt.Println(codec.Token([]string{strings.Join(pairs, "; ")}, "koa.sid"))
	// Output:
	// koa.sid=Xq3DtaXg0PJ4-nVQmN3Lk7oRZ0a1HjFc; koa.sid.sig=5k_yM0Ruf-UdafrlqgUF-OS2B_4
	// Xq3DtaXg0PJ4-nVQmN3Lk7oRZ0a1HjFc
}
