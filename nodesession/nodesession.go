// Package nodesession lets a Go service share the session table of a
// Node.js app: each function returns the [sqlsession.Options] of the table
// that one Node.js session store makes, so that a [sqlsession.Store] reads
// and writes the very rows the Node.js app does. Pair it with the cookie of
// the app's session middleware, httpsession.ExpressCookie or
// httpsession.KoaCookie, and both apps serve the same signed-in user from
// one table and one cookie while routes move from Node.js to Go.
//
//	opts := nodesession.ConnectPgSimple()
//	store, err := sqlsession.New(db, sqlsession.Postgres, opts)
//	...
//	sessions, err := httpsession.New(store, httpsession.Config{
//		Cookie: httpsession.ExpressCookie{Secrets: []string{"keyboard cat"}},
//	})
//
// Every preset keeps the Node.js store's table name, column names and time
// encoding, stores the data as JSON text, and stores the session id as
// given ([sqlsession.Options.PlainTokens]), since the Node.js side looks rows
// up by the raw id. Change the Table (and Schema) of the result when the
// app configured another table.
//
// Two things differ from the Node.js store's table:
//
//   - The table gets one more column, "version" (an integer, 0 by default),
//     which [sqlsession.Store.CreateTable] adds to the existing table. The
//     Go side writes with compare-and-swap on it; the Node.js stores never
//     read it, and their inserts get the default. Run CreateTable after the
//     Node.js store made its table (or make the table with the store's own
//     statement first): CreateTable on a missing table makes one with the
//     same columns, but with sqlsession's types, not byte-identical DDL.
//   - Deletes remove rows at once ([sqlsession.Options.DeleteGrace] -1), as
//     the Node.js stores do: a deleted row kept as a tombstone would be an
//     empty string that connect-session-sequelize fails to parse.
//
// Tokens are stored in plain text: anyone who can read the table can use the
// sessions in it, exactly as with the Node.js store. After the move, switch
// to the default layout (hashed tokens): see docs/migrating-from-node.md.
package nodesession

import (
	"crypto/rand"
	"encoding/base64"

	"github.com/sqlsession/sqlsession"
)

// KoaPrefix is the key prefix of koa-generic-session: its stores keep the
// session with id sid under "koa:sess:" + sid.
const KoaPrefix = "koa:sess:"

// node returns the options every preset shares.
func node(table string, l sqlsession.Layout) sqlsession.Options {
	l.JSON = true
	return sqlsession.Options{
		Table:       table,
		Layout:      l,
		PlainTokens: true,
		DeleteGrace: -1,
	}
}

// ConnectPgSimple returns the options of connect-pg-simple's table (version
// 10, for express-session): "session" (sid, sess json, expire timestamp(6)).
// connect-pg-simple writes expire through to_timestamp, in the connection's
// TimeZone: run both apps' connections in UTC (see [sqlsession.Timestamp]).
func ConnectPgSimple() sqlsession.Options {
	return node("session", sqlsession.Layout{
		Key: "sid", Data: "sess", Expiry: "expire", Time: sqlsession.Timestamp,
	})
}

// ConnectSessionSequelize returns the options of connect-session-sequelize's
// table (versions 7 and 8, for express-session): "Sessions" (sid, data,
// expires, and the createdAt and updatedAt columns that Sequelize keeps,
// which the Store sets too).
func ConnectSessionSequelize() sqlsession.Options {
	return node("Sessions", sqlsession.Layout{
		Key: "sid", Data: "data", Expiry: "expires",
		Created: "createdAt", Updated: "updatedAt", Time: sqlsession.Timestamp,
	})
}

// SequelizeSessionStore returns the options of sequelize-session-store's
// default table (version 0.1, for express-session): "express_session"
// (sid, sess, expire timestamp).
func SequelizeSessionStore() sqlsession.Options {
	return node("express_session", sqlsession.Layout{
		Key: "sid", Data: "sess", Expiry: "expire", Time: sqlsession.Timestamp,
	})
}

// KoaGenericSessionSequelize returns the options of
// koa-generic-session-sequelize's table (version 2, for
// koa-generic-session): "Sessions" (id = "koa:sess:" + sid, data, expires
// in Unix seconds). With its timestamps option on, the table also has
// createdAt and updatedAt, which Sequelize fills and the Store leaves alone.
func KoaGenericSessionSequelize() sqlsession.Options {
	return node("Sessions", sqlsession.Layout{
		Key: "id", Data: "data", Expiry: "expires", Time: sqlsession.UnixSeconds, KeyPrefix: KoaPrefix,
	})
}

// KoaGenericSessionKnex returns the options of koa-generic-session-knex's
// table (version 1, for koa-generic-session): "Sessions" (id = "koa:sess:"
// + sid, data, expires in Unix seconds).
func KoaGenericSessionKnex() sqlsession.Options {
	return node("Sessions", sqlsession.Layout{
		Key: "id", Data: "data", Expiry: "expires", Time: sqlsession.UnixSeconds, KeyPrefix: KoaPrefix,
	})
}

// KoaPgSession returns the options of koa-pg-session's table (versions 1
// and 2, for koa-generic-session; PostgreSQL only): "session" (id =
// "koa:sess:" + sid, session json, expiry timestamp) in the connection's
// current schema; set Schema to "public" when that differs. koa-pg-session
// writes expiry as now() plus the time to live, in the connection's
// TimeZone: run both apps' connections in UTC.
func KoaPgSession() sqlsession.Options {
	return node("session", sqlsession.Layout{
		Key: "id", Data: "session", Expiry: "expiry", Time: sqlsession.Timestamp, KeyPrefix: KoaPrefix,
	})
}

// NewSID returns a new session id as express-session and
// koa-generic-session make them (uid-safe with 24 bytes): 24 random bytes
// from crypto/rand, URL-safe base64 without padding, 32 characters. It is
// a valid token for every [sqlsession.Store] method, and fits the
// VARCHAR(36) key of connect-session-sequelize, which [sqlsession.NewToken]'s
// 43 characters do not.
func NewSID() string {
	var b [24]byte
	rand.Read(b[:]) // never fails: see [rand.Read]
	return base64.RawURLEncoding.EncodeToString(b[:])
}
