package nodesession_test

import (
	"fmt"

	"github.com/sqlsession/sqlsession/nodesession"
)

// The options of koa-generic-session-sequelize's table, changed to the
// table name the Koa app configured.
func ExampleKoaGenericSessionSequelize() {
	opts := nodesession.KoaGenericSessionSequelize()
	opts.Table = "koa_sessions" // the store's tableName option
	l := opts.Layout
	fmt.Println(opts.Table, l.Key, l.Data, l.Expiry, l.Time, l.JSON, l.KeyPrefix, opts.PlainTokens)
	// Output:
	// koa_sessions id data expires UnixSeconds true koa:sess: true
}

// Session ids in the format of express-session and koa-generic-session.
func ExampleNewSID() {
	fmt.Println(len(nodesession.NewSID()))
	// Output:
	// 32
}
