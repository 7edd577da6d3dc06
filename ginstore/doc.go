// Package ginstore runs gin-contrib/sessions on sqlsession: session values
// live in a SQL table through a [gorillastore.Store], and the cookie carries
// only a signed token.
//
// # Quick start
//
//	sqlStore, err := sqlsession.New(db, sqlsession.Postgres, sqlsession.Options{})
//	if err != nil { ... }
//	store := ginstore.New(gorillastore.New(sqlStore, hashKey))
//
//	r := gin.New()
//	r.Use(sessions.Sessions("session", store))
//	r.GET("/", func(c *gin.Context) {
//		session := sessions.Default(c)
//		session.Set("visits", 1)
//		if err := session.Save(); err != nil { ... }
//	})
//
// # Errors
//
// gin-contrib/sessions logs a failure to load a session and goes on with a
// new one. To tell a database failure from a new session, call Get on the
// store first; it returns the session and error that sessions.Default uses:
//
//	if _, err := store.Get(c.Request, "session"); err != nil {
//		c.AbortWithStatus(http.StatusServiceUnavailable)
//		return
//	}
//
// # Log-in
//
// Move the session to a new token at log-in against session fixation, with
// the session gin-contrib/sessions holds for the request:
//
//	sessions.Default(c).Set("user", userID)
//	gs, err := store.Get(c.Request, "session")
//	if err == nil {
//		err = store.Regenerate(c.Request, c.Writer, gs)
//	}
package ginstore
