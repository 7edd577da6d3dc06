package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	waderstore "github.com/wader/gormstore/v2"

	"github.com/sqlsession/sqlsession"
)

// impl is one session store under measurement, seen through the four
// operations every cell uses. Find reports whether the session was there.
type impl interface {
	find(ctx context.Context, token string) (bool, error)
	save(ctx context.Context, token string, data []byte, expiry time.Time) error
	// touch moves a session's expiry; errNoTouch when the store has no
	// such operation.
	touch(ctx context.Context, token string, expiry time.Time) error
	del(ctx context.Context, token string) error
}

// errNoTouch is touch's answer from a store whose API has no touch.
var errNoTouch = errors.New("bench: store has no touch operation")

// floorSQL is the SQL text a session store needs and nothing else: the same
// statements the sqlsession core sends for its default options, on a table
// of the same shape, with the token as the key.
type floorSQL struct {
	find, save, touch, del string
}

func floorQueries(dialect string) floorSQL {
	switch dialect {
	case "postgres":
		return floorSQL{
			find:  `SELECT data FROM sessions WHERE token = $1 AND expires_at > $2`,
			save:  `INSERT INTO sessions (token, data, expires_at) VALUES ($1, $2, $3) ON CONFLICT (token) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at`,
			touch: `UPDATE sessions SET expires_at = $1 WHERE token = $2 AND expires_at > $3`,
			del:   `DELETE FROM sessions WHERE token = $1`,
		}
	case "mysql":
		return floorSQL{
			find:  "SELECT data FROM sessions WHERE token = ? AND expires_at > ?",
			save:  "INSERT INTO sessions (token, data, expires_at) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE data = VALUES(data), expires_at = VALUES(expires_at)",
			touch: "UPDATE sessions SET expires_at = ? WHERE token = ? AND expires_at > ?",
			del:   "DELETE FROM sessions WHERE token = ?",
		}
	default: // sqlite
		return floorSQL{
			find:  "SELECT data FROM sessions WHERE token = ? AND expires_at > ?",
			save:  "INSERT INTO sessions (token, data, expires_at) VALUES (?, ?, ?) ON CONFLICT (token) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at",
			touch: "UPDATE sessions SET expires_at = ? WHERE token = ? AND expires_at > ?",
			del:   "DELETE FROM sessions WHERE token = ?",
		}
	}
}

// pgxFloor is the floor on a pgx pool: one pool call per operation.
type pgxFloor struct {
	p *pgxpool.Pool
	q floorSQL
}

func (f *pgxFloor) find(ctx context.Context, token string) (bool, error) {
	var data []byte
	err := f.p.QueryRow(ctx, f.q.find, token, time.Now().UnixMilli()).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

func (f *pgxFloor) save(ctx context.Context, token string, data []byte, expiry time.Time) error {
	_, err := f.p.Exec(ctx, f.q.save, token, data, expiry.UnixMilli())
	return err
}

func (f *pgxFloor) touch(ctx context.Context, token string, expiry time.Time) error {
	_, err := f.p.Exec(ctx, f.q.touch, expiry.UnixMilli(), token, time.Now().UnixMilli())
	return err
}

func (f *pgxFloor) del(ctx context.Context, token string) error {
	_, err := f.p.Exec(ctx, f.q.del, token)
	return err
}

// sqlFloor is the floor on database/sql: one *sql.DB call per operation,
// or, prepared, one call of a *sql.Stmt prepared once.
type sqlFloor struct {
	db                         *sql.DB
	q                          floorSQL
	find1, save1, touch1, del1 *sql.Stmt // set when prepared
}

func newSQLFloor(ctx context.Context, db *sql.DB, dialect string, prepared bool) (*sqlFloor, error) {
	f := &sqlFloor{db: db, q: floorQueries(dialect)}
	if !prepared {
		return f, nil
	}
	for _, p := range []struct {
		dst **sql.Stmt
		q   string
	}{{&f.find1, f.q.find}, {&f.save1, f.q.save}, {&f.touch1, f.q.touch}, {&f.del1, f.q.del}} {
		st, err := db.PrepareContext(ctx, p.q)
		if err != nil {
			return nil, fmt.Errorf("prepare %q: %w", p.q, err)
		}
		*p.dst = st
	}
	return f, nil
}

func (f *sqlFloor) find(ctx context.Context, token string) (bool, error) {
	var data []byte
	var row *sql.Row
	if f.find1 != nil {
		row = f.find1.QueryRowContext(ctx, token, time.Now().UnixMilli())
	} else {
		row = f.db.QueryRowContext(ctx, f.q.find, token, time.Now().UnixMilli())
	}
	err := row.Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

func (f *sqlFloor) exec(ctx context.Context, st *sql.Stmt, q string, args ...any) error {
	var err error
	if st != nil {
		_, err = st.ExecContext(ctx, args...)
	} else {
		_, err = f.db.ExecContext(ctx, q, args...)
	}
	return err
}

func (f *sqlFloor) save(ctx context.Context, token string, data []byte, expiry time.Time) error {
	return f.exec(ctx, f.save1, f.q.save, token, data, expiry.UnixMilli())
}

func (f *sqlFloor) touch(ctx context.Context, token string, expiry time.Time) error {
	return f.exec(ctx, f.touch1, f.q.touch, expiry.UnixMilli(), token, time.Now().UnixMilli())
}

func (f *sqlFloor) del(ctx context.Context, token string) error {
	return f.exec(ctx, f.del1, f.q.del, token)
}

func (f *sqlFloor) close() {
	for _, st := range []*sql.Stmt{f.find1, f.save1, f.touch1, f.del1} {
		if st != nil {
			st.Close()
		}
	}
}

// coreImpl is a sqlsession.Store, whatever its backend.
type coreImpl struct{ s *sqlsession.Store }

func (c coreImpl) find(ctx context.Context, token string) (bool, error) {
	_, found, err := c.s.Find(ctx, token)
	return found, err
}

func (c coreImpl) save(ctx context.Context, token string, data []byte, expiry time.Time) error {
	return c.s.Save(ctx, token, data, expiry)
}

func (c coreImpl) touch(ctx context.Context, token string, expiry time.Time) error {
	return c.s.Touch(ctx, token, expiry)
}

func (c coreImpl) del(ctx context.Context, token string) error {
	return c.s.Delete(ctx, token)
}

// storedKey is the key the core keeps for token with its default options
// (hashed tokens): base64url(SHA-256(token)). Bulk seeding writes it
// directly; a Find after seeding proves it still matches.
func storedKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// scsStore is the interface shared by alexedwards/scs's stores: they take
// no context.
type scsStore interface {
	Find(token string) ([]byte, bool, error)
	Commit(token string, b []byte, expiry time.Time) error
	Delete(token string) error
}

// scsImpl is one of scs's own stores. scs has no touch: it commits.
type scsImpl struct{ s scsStore }

func (p scsImpl) find(_ context.Context, token string) (bool, error) {
	_, found, err := p.s.Find(token)
	return found, err
}

func (p scsImpl) save(_ context.Context, token string, data []byte, expiry time.Time) error {
	return p.s.Commit(token, data, expiry)
}

func (scsImpl) touch(context.Context, string, time.Time) error { return errNoTouch }

func (p scsImpl) del(_ context.Context, token string) error { return p.s.Delete(token) }

// waderImpl is wader/gormstore, a gorilla sessions.Store, driven through
// its own API as directly as it allows: Find is Store.New on a request that
// carries the session's signed cookie (cookie check, one SELECT, decoding
// of the values); Save is Store.Save of a session with one value holding
// the data (one SELECT for the cookie's row, then GORM's Save, an UPDATE);
// Delete is Store.Save with MaxAge -1 (one SELECT, one DELETE). Each
// session's request is built once, before the measurement.
type waderImpl struct {
	st   *waderstore.Store
	name string
	reqs map[string]*http.Request // by session id
}

// waderName is the cookie name of the sessions of wader/gormstore.
const waderName = "bench"

func (w *waderImpl) req(token string) (*http.Request, error) {
	r, ok := w.reqs[token]
	if !ok {
		return nil, fmt.Errorf("bench: no request for session %q", token)
	}
	return r, nil
}

func (w *waderImpl) find(_ context.Context, token string) (bool, error) {
	r, err := w.req(token)
	if err != nil {
		return false, err
	}
	s, err := w.st.New(r, w.name)
	if err != nil {
		return false, err
	}
	return !s.IsNew, nil
}

// discard is a ResponseWriter whose headers are dropped after each use.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

func (w *waderImpl) write(token string, data []byte, maxAge int) error {
	r, err := w.req(token)
	if err != nil {
		return err
	}
	s := sessions.NewSession(w.st, w.name)
	opts := *w.st.SessionOpts
	opts.MaxAge = maxAge
	s.Options = &opts
	if data != nil {
		s.Values["data"] = data
	}
	return w.st.Save(r, &discard{h: http.Header{}}, s)
}

func (w *waderImpl) save(_ context.Context, token string, data []byte, expiry time.Time) error {
	return w.write(token, data, int(time.Until(expiry)/time.Second))
}

func (*waderImpl) touch(context.Context, string, time.Time) error { return errNoTouch }

func (w *waderImpl) del(_ context.Context, token string) error {
	return w.write(token, nil, -1)
}

// addRequests builds the request that carries each session's cookie.
func (w *waderImpl) addRequests(tokens []string) error {
	for _, t := range tokens {
		if _, ok := w.reqs[t]; ok {
			continue
		}
		v, err := securecookie.EncodeMulti(w.name, t, w.st.Codecs...)
		if err != nil {
			return err
		}
		r, err := http.NewRequest("GET", "http://bench.invalid/", nil)
		if err != nil {
			return err
		}
		r.AddCookie(&http.Cookie{Name: w.name, Value: v})
		w.reqs[t] = r
	}
	return nil
}

// encodedValues returns the column value wader/gormstore keeps for a
// session whose one value is data.
func (w *waderImpl) encodedValues(data []byte) (string, error) {
	vals := map[any]any{"data": data}
	return securecookie.EncodeMulti(w.name, vals, w.st.Codecs...)
}
