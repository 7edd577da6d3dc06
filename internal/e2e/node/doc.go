// Package nodee2e tests that a Go application and a Node.js application
// serve the same signed-in users from one session table and one cookie, as
// they do while an Express or Koa application moves to Go route by route.
//
// The Node.js applications are in nodeapp/ (one server.js, its packages
// pinned by package-lock.json): express + express-session with
// connect-session-sequelize or connect-pg-simple, and koa +
// koa-generic-session with koa-generic-session-sequelize or koa-pg-session.
// Install them with
//
//	npm ci --prefix internal/e2e/node/nodeapp
//
// The tests start each one with node on a free loopback port, beside a Go
// application made of httpsession, a nodesession preset and a Node cookie
// codec, over PostgreSQL and, where the store supports it, MariaDB. Without
// node, the packages or a database, they skip; with SQLSESSION_TEST_STRICT=1
// (as in CI) they fail instead. The mixed traffic runs for 10 seconds per
// store and database; SQLSESSION_TEST_NODE_MIXED=2s (a Go duration) shortens
// it locally. It has no API; see its tests.
package nodee2e
