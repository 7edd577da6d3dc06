'use strict';
// One small Node.js application whose sessions a Go application shares in
// the end-to-end tests. Configured by environment variables:
//
//   APP     express-sequelize  express + express-session + connect-session-sequelize
//           koa-sequelize      koa + koa-generic-session + koa-generic-session-sequelize
//           koa-pg             koa + koa-generic-session + koa-pg-session (PostgreSQL only)
//           express-pg         express + express-session + connect-pg-simple (PostgreSQL only)
//   DSN     postgres://user:pass@host:port/db or mysql://user:pass@host:port/db
//   TABLE   the session table (made by the store when missing)
//   SCHEMA  its PostgreSQL schema (default: the connection's)
//   SECRET  the cookie secrets (express) or keys (koa), comma-separated; the first signs
//   PORT    the port on 127.0.0.1 (0: any free port)
//   MAX_AGE the cookie's maxAge in ms (default: the package's default)
//   CLEANUP_MS how often the store deletes expired rows, in ms, where it
//           does that on a timer (connect-session-sequelize, koa-pg-session;
//           default: never during a test)
//
// Once the table is there and the server listens, it prints one line
// "listening PORT" on stdout. It stops on SIGTERM or SIGINT, or when its
// stdin closes (the test that started it is gone).
//
// Routes (the Go application of the tests has the same ones):
//   POST /login?user=X    a new session (the old one destroyed), user=X and node=1;
//                         &maxAge=MS sets this session's cookie maxAge
//   GET  /whoami          "user=X" ("user=" when signed out)
//   GET  /get?k=K         the value of K, as JSON ("" when missing)
//   POST /set?k=K&v=V     sets K to the string V
//   GET  /keys            the session's keys but cookie, sorted, comma-separated
//   POST /logout          destroys the session
//   GET  /session         the whole session as JSON

const http = require('http');

const app = process.env.APP;
const dsn = process.env.DSN;
const table = process.env.TABLE || undefined;
const schema = process.env.SCHEMA || undefined;
const secrets = (process.env.SECRET || 'keyboard cat').split(',');
const port = Number(process.env.PORT || 0);
const maxAge = process.env.MAX_AGE ? Number(process.env.MAX_AGE) : undefined;
const cleanupMs = process.env.CLEANUP_MS ? Number(process.env.CLEANUP_MS) : 0;

function fail(err) {
  console.error('nodeapp:', err && err.stack ? err.stack : err);
  process.exit(1);
}
process.on('unhandledRejection', fail);

function sequelizeOf(dsn) {
  const { Sequelize } = require('sequelize');
  const u = new URL(dsn);
  const dialect = u.protocol === 'mysql:' ? 'mysql' : 'postgres';
  return new Sequelize(dsn.replace(/^mysql:/, 'mysql:').split('?')[0], {
    dialect,
    logging: false,
    pool: { max: 4 }, // a few connections: the tests run many apps on one server
    // DATE columns in UTC on every database
    timezone: '+00:00',
    define: schema ? { schema } : {},
  });
}

function keysOf(sess) {
  return Object.keys(sess || {}).filter((k) => k !== 'cookie').sort().join(',');
}

function listen(handler, close) {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 60000;
  server.listen(port, '127.0.0.1', () => {
    process.stdout.write('listening ' + server.address().port + '\n');
  });
  const stop = () => {
    server.close();
    Promise.resolve(close && close()).finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.resume();
}

async function express() {
  const express = require('express');
  const session = require('express-session');
  let store, close;
  if (app === 'express-sequelize') {
    const SequelizeStore = require('connect-session-sequelize')(session.Store);
    const db = sequelizeOf(dsn);
    store = new SequelizeStore({ db, tableName: table, checkExpirationInterval: cleanupMs });
    await store.sync();
    close = () => db.close();
  } else {
    const pg = require('pg');
    const pgSession = require('connect-pg-simple')(session);
    const pool = new pg.Pool({ connectionString: dsn, max: 4 });
    store = new pgSession({ pool, schemaName: schema, tableName: table, createTableIfMissing: true, pruneSessionInterval: false });
    // the table is made on the first query: make it now
    await new Promise((resolve, reject) => store.get("-", (err) => (err ? reject(err) : resolve())));
    close = () => pool.end();
  }
  const a = express();
  a.use(session({
    store,
    secret: secrets,
    resave: false,
    saveUninitialized: false,
    cookie: maxAge ? { maxAge } : {},
  }));
  const done = (res) => (err) => (err ? res.status(500).send(String(err)) : res.send('ok'));
  a.post('/login', (req, res) => {
    req.session.regenerate((err) => {
      if (err) return res.status(500).send(String(err));
      if (req.query.maxAge) req.session.cookie.maxAge = Number(req.query.maxAge);
      req.session.user = req.query.user;
      req.session.node = 1;
      req.session.save(done(res));
    });
  });
  a.get('/whoami', (req, res) => res.send('user=' + (req.session.user || '')));
  a.get('/get', (req, res) => {
    const v = req.session[req.query.k];
    res.send(v === undefined ? '' : JSON.stringify(v));
  });
  a.post('/set', (req, res) => {
    req.session[req.query.k] = req.query.v;
    req.session.save(done(res));
  });
  a.get('/keys', (req, res) => res.send(keysOf(req.session)));
  a.post('/logout', (req, res) => req.session.destroy(done(res)));
  a.get('/session', (req, res) => res.type('json').send(JSON.stringify(req.session)));
  a.use((err, req, res, next) => res.status(500).send(String(err)));
  listen(a, close);
}

async function koa() {
  const Koa = require('koa');
  const session = require('koa-generic-session');
  let store, close;
  if (app === 'koa-sequelize') {
    const SequelizeStore = require('koa-generic-session-sequelize');
    const db = sequelizeOf(dsn);
    store = new SequelizeStore(db, { tableName: table, gcFrequency: 0, syncTimeout: 30000 });
    await store.waitForSync();
    close = () => db.close();
  } else {
    // koa-pg-session's methods are generator functions (Koa 1); koa-generic-session 2
    // awaits promises, so they run through co, as a Koa 2 app does.
    const co = require('co');
    const PgStore = require('koa-pg-session');
    // Its own pg (4.x) cannot sign in to a server that asks for SCRAM, so it
    // gets a pool of today's pg through its {client, done} connection form.
    const pg = require('pg');
    const pool = new pg.Pool({ connectionString: dsn, max: 4 });
    const conn = { client: { queryPromise: (sql, params) => pool.query(sql, params) }, done: () => {} };
    const pgs = new PgStore(conn, { schema: schema || 'public', table, create: false, cleanupTime: cleanupMs || 24 * 3600 * 1000 });
    await co(pgs.query(pgs.createSql));
    store = {
      get: (sid) => co(pgs.get(sid)),
      set: (sid, sess, ttl) => co(pgs.set(sid, sess, ttl)),
      destroy: (sid) => co(pgs.destroy(sid)),
    };
    close = () => pool.end();
  }
  const a = new Koa();
  a.keys = secrets;
  a.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      // the reason in the response, for the test's failure message
      ctx.status = 500;
      ctx.body = String(err);
    }
  });
  a.use(session({ store, cookie: maxAge ? { maxAge } : {} }));
  a.use(async (ctx) => {
    const q = ctx.query;
    const route = ctx.method + ' ' + ctx.path;
    switch (route) {
      case 'POST /login':
        await ctx.regenerateSession();
        if (q.maxAge) ctx.session.cookie.maxAge = Number(q.maxAge);
        ctx.session.user = q.user;
        ctx.session.node = 1;
        ctx.body = 'ok';
        return;
      case 'GET /whoami':
        ctx.body = 'user=' + (ctx.session.user || '');
        return;
      case 'GET /get': {
        const v = ctx.session[q.k];
        ctx.body = v === undefined ? '' : JSON.stringify(v);
        return;
      }
      case 'POST /set':
        ctx.session[q.k] = q.v;
        ctx.body = 'ok';
        return;
      case 'GET /keys':
        ctx.body = keysOf(ctx.session);
        return;
      case 'POST /logout':
        ctx.session = null;
        ctx.body = 'ok';
        return;
      case 'GET /session':
        ctx.type = 'json';
        ctx.body = JSON.stringify(ctx.session);
        return;
      default:
        ctx.status = 404;
    }
  });
  listen(a.callback(), close);
}

if (!dsn) fail('DSN is not set');
({ 'express-sequelize': express, 'express-pg': express, 'koa-sequelize': koa, 'koa-pg': koa }[app] ||
  (() => fail('unknown APP ' + app)))().catch(fail);
