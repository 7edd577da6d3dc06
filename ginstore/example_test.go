package ginstore_test

import (
	"database/sql"
	"net/http"

	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
	"github.com/sqlsession/sqlsession"
	"github.com/sqlsession/sqlsession/ginstore"
	"github.com/sqlsession/sqlsession/gorillastore"
)

var (
	db      *sql.DB
	hashKey []byte // 32 or 64 random bytes, kept secret and stable across restarts
)

func Example() {
	sqlStore, err := sqlsession.New(db, sqlsession.Postgres, sqlsession.Options{})
	if err != nil {
		panic(err)
	}
	gs := gorillastore.New(sqlStore, hashKey)
	store := ginstore.New(gs)

	r := gin.New()
	r.Use(sessions.Sessions("session", store))
	r.GET("/", func(c *gin.Context) {
		session := sessions.Default(c)
		n, _ := session.Get("visits").(int)
		session.Set("visits", n+1)
		if err := session.Save(); err != nil {
			c.AbortWithStatus(http.StatusServiceUnavailable)
			return
		}
		c.String(http.StatusOK, "visit %d", n+1)
	})
	r.POST("/login", func(c *gin.Context) {
		// ... check the credentials ...
		sessions.Default(c).Set("user_id", "42")
		gsession, err := store.Get(c.Request, "session")
		if err == nil {
			err = store.Regenerate(c.Request, c.Writer, gsession)
		}
		if err != nil {
			c.AbortWithStatus(http.StatusServiceUnavailable)
			return
		}
		c.Redirect(http.StatusSeeOther, "/")
	})
}
