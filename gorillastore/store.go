package gorillastore

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"runtime"
	"sync"
	"time"
	"weak"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/sqlsession/sqlsession"
)

var _ sessions.Store = (*Store)(nil)

// DefaultMaxAge is the Options.MaxAge of a [Store] made by [New]: sessions
// and their cookies last 30 days, as in gorilla/sessions.
const DefaultMaxAge = 86400 * 30

// DefaultTouchFraction is the [Store.TouchFraction] of a Store whose field is
// zero: an unchanged session is written again once a tenth of its lifetime
// has passed, as sqlsession's own sliding expiry does.
const DefaultTouchFraction = 0.1

// maxAgeLimit keeps now+MaxAge inside time.Duration's range.
const maxAgeLimit = math.MaxInt64 / int64(time.Second)

// Store is a [sessions.Store] that keeps session values in a
// [sqlsession.Store] and only a signed token in the cookie.
//
// Make one with [New]. Set its fields before serving requests and leave them
// alone afterwards; a Store is then safe for concurrent use by multiple
// goroutines. The zero Store has no database and fails every call with
// [ErrNoStore].
type Store struct {
	// Codecs sign (and, given a block key, encrypt) the session token in the
	// cookie. New fills it from its key pairs with
	// [securecookie.CodecsFromPairs]; the first codec signs, and all of them
	// are tried when reading, so keys can be rotated.
	Codecs []securecookie.Codec

	// Options are the cookie settings that each new or loaded session
	// starts with (a copy, which a handler may change for its session).
	// Options.MaxAge is also the session's lifetime in the database: a
	// positive MaxAge keeps it that many seconds, 0 keeps it for the
	// sqlsession Store's DefaultLifetime behind a browser-session cookie,
	// and a negative MaxAge deletes it on Save. New sets Path "/", MaxAge
	// [DefaultMaxAge], HttpOnly, Secure and SameSite Lax. Change MaxAge with
	// [Store.MaxAge], which also updates the Codecs.
	Options *sessions.Options

	// Serializer encodes session values for the database.
	// Default nil: [GobSerializer].
	Serializer Serializer

	// Logger receives the one event that has no caller to report to: a
	// stored session whose data no longer decodes (a type that is no longer
	// registered with gob, say), which is then replaced by a new session.
	// Default nil: [slog.Default] at the time of logging.
	Logger *slog.Logger

	// TouchFraction bounds the database writes of sessions that a request
	// reads and saves without changing (see "Writes" in the package
	// documentation): TouchFraction × lifetime is the slack that Save
	// gives [sqlsession.Plan]. Save skips the database when the values
	// encode to the bytes it loaded and the stored expiry is within
	// TouchFraction × lifetime of the expiry a write would give, and then
	// sets no cookie;
	// when only the expiry has drifted further, it moves the expiry,
	// rewriting the same values only if the row is still the version it
	// loaded ([sqlsession.Store.SaveIf]), and renews the cookie.
	// A session then lives between (1-TouchFraction) × MaxAge and MaxAge
	// after its last use, and is written at most once per TouchFraction ×
	// MaxAge while unchanged. Values above 1 count as 1.
	// Default 0: [DefaultTouchFraction]. Negative: write on every Save, as
	// gorilla's own stores do, except that an unchanged session loaded from
	// the table is written only if its row is still the one loaded (see
	// [Store.Save]).
	TouchFraction float64

	db        *sqlsession.Store
	versioned bool // db's table has a version column
	now       func() time.Time

	// loaded remembers, for each session this Store loaded or saved and
	// the garbage collector has not yet reclaimed, what the table holds
	// for it, so that Save can tell an unchanged session. An entry goes
	// when its session is collected (runtime.AddCleanup), so the map
	// holds no more than the sessions alive in memory.
	mu     sync.Mutex
	loaded map[weak.Pointer[sessions.Session]]stored
}

// stored is what the table holds for a session, as far as this Store knows:
// the token, the SHA-256 of the data, the expiry, and the row's version
// when the Store read it (versioned false after its own writes, whose
// version it does not learn, and for a table without a version column).
// gone marks a session whose token Save found deleted: the table holds
// nothing for it.
type stored struct {
	token     string
	sum       [sha256.Size]byte
	expiry    time.Time
	version   int64
	versioned bool
	gone      bool
}

// New returns a Store keeping sessions in db, with cookies signed by the
// given key pairs, as in [sessions.NewCookieStore]: an authentication key
// (32 or 64 random bytes) and an optional encryption key (16, 24 or 32
// bytes) per pair; older pairs follow the current one during a key
// rotation. New does no I/O and cannot fail: a nil db gives [ErrNoStore] and
// missing keys give [ErrNoCodecs] on first use.
func New(db *sqlsession.Store, keyPairs ...[]byte) *Store {
	s := &Store{
		Codecs: securecookie.CodecsFromPairs(keyPairs...),
		Options: &sessions.Options{
			Path:     "/",
			MaxAge:   DefaultMaxAge,
			HttpOnly: true,
			Secure:   true,
			SameSite: http.SameSiteLaxMode,
		},
		db: db,
	}
	if db != nil {
		s.versioned = db.Options().Layout.Version != sqlsession.NoColumn
	}
	s.MaxAge(s.Options.MaxAge)
	return s
}

// MaxAge sets Options.MaxAge, the lifetime of new sessions and their
// cookies in seconds, and the age limit of the signatures the Codecs accept
// (none for age <= 0), as [sessions.CookieStore.MaxAge] does.
func (s *Store) MaxAge(age int) {
	if s.Options == nil {
		s.Options = &sessions.Options{}
	}
	s.Options.MaxAge = age
	for _, c := range s.Codecs {
		if sc, ok := c.(*securecookie.SecureCookie); ok {
			sc.MaxAge(age)
		}
	}
}

// Get returns the session named name of request r, loading it on the first
// call of the request and returning the same session afterwards, through
// the request's [sessions.Registry]. See [Store.New] for what it returns.
func (s *Store) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

// New loads the session named name of request r, bypassing the registry
// (handlers use [Store.Get]). It reads the cookie, checks its signature and
// loads the session's values from the database under r's context.
//
// A missing, tampered, undecodable, expired or unknown cookie gives a new,
// empty session (IsNew true, ID "") and a nil error. So does stored data
// that no longer decodes, which is logged to [Store.Logger]. The error
// reports a failure of the database only; the session returned with it is
// new and empty too, and saving it starts a new session.
//
// A loaded session has IsNew false and the session token as its ID. The ID
// is the session's secret: never show or log it.
func (s *Store) New(r *http.Request, name string) (*sessions.Session, error) {
	session := sessions.NewSession(s, name)
	session.Options = s.options()
	session.IsNew = true
	if s.db == nil {
		return session, ErrNoStore
	}
	token, ok := s.token(r, name)
	if !ok {
		return session, nil
	}
	e, found, err := s.db.Lookup(r.Context(), token)
	if err != nil {
		return session, fmt.Errorf("gorillastore: load session %q: %w", name, err)
	}
	if !found {
		return session, nil
	}
	values, err := deserialize(s.serializer(), e.Data)
	if err != nil {
		s.logger().WarnContext(r.Context(), "gorillastore: stored session data does not decode; starting a new session",
			"session", name, "err", err)
		return session, nil
	}
	session.Values = values
	session.ID = token
	session.IsNew = false
	s.remember(session, stored{token: token, sum: sha256.Sum256(e.Data), expiry: e.Expiry,
		version: e.Version, versioned: s.versioned})
	return session, nil
}

// deserialize runs ser.Deserialize, turning a panic into an error: the data
// comes from a table, and a Serializer of the application's that breaks
// its contract on bad data must not take the request down.
func deserialize(ser Serializer, data []byte) (values map[any]any, err error) {
	defer func() {
		if r := recover(); r != nil {
			values, err = nil, fmt.Errorf("gorillastore: %T.Deserialize panicked: %v", ser, r)
		}
	}()
	return ser.Deserialize(data)
}

// token returns the valid session token signed in r's cookie name.
func (s *Store) token(r *http.Request, name string) (string, bool) {
	c, err := r.Cookie(name)
	if err != nil || len(s.Codecs) == 0 {
		return "", false
	}
	var token string
	if err := securecookie.DecodeMulti(name, c.Value, &token, s.Codecs...); err != nil {
		return "", false
	}
	return token, sqlsession.ValidToken(token)
}

// Save writes session to the database under r's context and sets its
// cookie on w; call it before writing the response body.
//
// A negative Options.MaxAge deletes the session from the database and its
// cookie from the browser (log-out). Otherwise the values are kept until
// now plus MaxAge seconds (MaxAge 0: the sqlsession Store's DefaultLifetime,
// with a browser-session cookie), and the cookie gets the signed token; a
// session without an ID gets a new token from [sqlsession.NewToken].
//
// What to write is decided by sqlsession's write rule, [sqlsession.Plan],
// the one every sqlsession frontend follows: a session this Store did not
// load under its token (a new one, or one given another ID) is written; so
// is a loaded session whose values changed; an unchanged one has only its
// expiry moved, once the stored expiry is more than [Store.TouchFraction]
// of the lifetime away from the one a write would give now; otherwise
// nothing is written.
//
// A session that is not written gets no cookie: the browser keeps the one
// sent with the write that stored those values, whose Max-Age and
// signature match the stored expiry. Above all, a request that only read a
// session never sends its token back, so it cannot undo a
// [Store.Regenerate] or a log-out that another request made while it ran.
// A due expiry is moved by rewriting the same values only if the row is
// still the version this Store loaded ([sqlsession.Store.SaveIf]), and the
// cookie renewed; a session deleted, renewed or changed by another request
// in the meantime is left as it is, with no write and no cookie. (On a
// table without a version column, [sqlsession.Layout] Version
// [sqlsession.NoColumn], the expiry is moved with [sqlsession.Store.Touch],
// which never brings back a deleted session, and the cookie renewed.)
//
// A changed session whose token was deleted while the request ran (a
// log-out, a revoke, or a renewal by another request) is not written
// either: the sqlsession Store refuses to bring the token back
// ([sqlsession.ErrDeleted]). Save then sets no cookie and returns nil; the
// session becomes new and empty (IsNew true, no ID, no values), as after a
// log-out, and later Saves of it in the same request do nothing until
// [Store.Regenerate] gives it a new token. Save sets no expired cookie
// either: the log-out that deleted the token expired the cookie already,
// and after a renewal the browser holds the new token's cookie under the
// same name, which an expired cookie would erase.
func (s *Store) Save(r *http.Request, w http.ResponseWriter, session *sessions.Session) error {
	if s.db == nil {
		return ErrNoStore
	}
	opts := session.Options
	if opts == nil {
		opts = s.options()
		session.Options = opts
	}
	name := session.Name()
	if opts.MaxAge < 0 {
		s.forget(weak.Make(session))
		if session.ID != "" {
			if err := s.db.Delete(r.Context(), session.ID); err != nil {
				return fmt.Errorf("gorillastore: delete session %q: %w", name, err)
			}
		}
		http.SetCookie(w, sessions.NewCookie(name, "", opts))
		return nil
	}
	if len(s.Codecs) == 0 {
		return ErrNoCodecs
	}
	have, loaded := s.recall(session)
	if loaded && have.gone {
		return nil // deleted while the request ran; see above
	}
	data, err := s.serializer().Serialize(session.Values)
	if err != nil {
		return err
	}
	token := session.ID
	if token == "" {
		token = sqlsession.NewToken()
	}
	lifetime := s.db.Options().DefaultLifetime
	if opts.MaxAge > 0 {
		lifetime = time.Duration(min(int64(opts.MaxAge), maxAgeLimit)) * time.Second
	}
	expiry := s.clock().Add(lifetime)
	next := stored{token: token, sum: sha256.Sum256(data), expiry: expiry}
	found := loaded && have.token == token
	changed := !found || have.sum != next.sum
	ctx := r.Context()
	switch sqlsession.Plan(found, changed, have.expiry, expiry, s.slack(lifetime)) {
	case sqlsession.ActionNone:
		// The table holds these values until about expiry, and the browser
		// the cookie of the write that stored them. This request may only
		// have read the session: its token may have been renewed since.
		return nil
	case sqlsession.ActionTouch:
		if !have.versioned {
			if err := s.db.Touch(ctx, token, expiry); err != nil {
				return fmt.Errorf("gorillastore: touch session %q: %w", name, err)
			}
			break
		}
		err := s.db.SaveIf(ctx, token, data, expiry, have.version)
		if errors.Is(err, sqlsession.ErrConflict) {
			// Deleted, renewed, expired or changed by another request since
			// it was loaded: what is there now, and the cookie the browser
			// got with it, stand.
			s.forget(weak.Make(session))
			return nil
		}
		if err != nil {
			return fmt.Errorf("gorillastore: touch session %q: %w", name, err)
		}
	default:
		err := s.db.Save(ctx, token, data, expiry)
		if errors.Is(err, sqlsession.ErrDeleted) {
			s.drop(session)
			return nil
		}
		if err != nil {
			return fmt.Errorf("gorillastore: save session %q: %w", name, err)
		}
	}
	cookie, err := securecookie.EncodeMulti(name, token, s.Codecs...)
	if err != nil {
		return fmt.Errorf("gorillastore: sign cookie %q: %w", name, err)
	}
	s.remember(session, next)
	session.ID = token
	http.SetCookie(w, sessions.NewCookie(name, cookie, opts))
	return nil
}

// slack is how far the stored expiry of an unchanged session may be from
// the one a write would give now before Save moves it: TouchFraction of the
// lifetime. A negative TouchFraction gives a negative slack, which no
// distance is within, so that every Save moves the expiry.
func (s *Store) slack(lifetime time.Duration) time.Duration {
	f := s.TouchFraction
	switch {
	case f == 0:
		f = DefaultTouchFraction
	case f < 0:
		return -1
	case f > 1:
		f = 1
	}
	return time.Duration(float64(lifetime) * f)
}

// recall returns what the Store knows the table holds for session.
func (s *Store) recall(session *sessions.Session) (stored, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	have, ok := s.loaded[weak.Make(session)]
	return have, ok
}

// drop turns session, whose token was deleted while the request ran, into
// a new, empty one that Save leaves alone until Regenerate.
func (s *Store) drop(session *sessions.Session) {
	s.remember(session, stored{gone: true})
	session.ID = ""
	session.IsNew = true
	session.Values = make(map[any]any)
}

// remember records what the table holds for session, until session is
// garbage collected.
func (s *Store) remember(session *sessions.Session, st stored) {
	p := weak.Make(session)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loaded == nil {
		s.loaded = make(map[weak.Pointer[sessions.Session]]stored)
	}
	if _, ok := s.loaded[p]; !ok {
		runtime.AddCleanup(session, s.forget, p)
	}
	s.loaded[p] = st
}

// forget drops what Store remembers of a session.
func (s *Store) forget(p weak.Pointer[sessions.Session]) {
	s.mu.Lock()
	delete(s.loaded, p)
	s.mu.Unlock()
}

// Regenerate moves session to a new token: it deletes the stored session
// under the old token, then saves the values under a new one and sets the
// new cookie, as [Store.Save] does. Call it when the user's privileges
// change, and above all at log-in, so that a token planted in the browser
// before log-in (session fixation) never names a logged-in session:
//
//	session, err := store.Get(r, "session")
//	...
//	session.Values["user"] = userID
//	if err := store.Regenerate(r, w, session); err != nil { ... }
//
// The session keeps its values and options.
func (s *Store) Regenerate(r *http.Request, w http.ResponseWriter, session *sessions.Session) error {
	if s.db == nil {
		return ErrNoStore
	}
	if session.ID != "" {
		if err := s.db.Delete(r.Context(), session.ID); err != nil {
			return fmt.Errorf("gorillastore: regenerate session %q: %w", session.Name(), err)
		}
		session.ID = ""
	}
	s.forget(weak.Make(session))
	return s.Save(r, w, session)
}

// options returns a copy of the Store's Options for one session.
func (s *Store) options() *sessions.Options {
	if s.Options == nil {
		return &sessions.Options{}
	}
	o := *s.Options
	return &o
}

func (s *Store) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

func (s *Store) serializer() Serializer {
	if s.Serializer != nil {
		return s.Serializer
	}
	return GobSerializer{}
}

func (s *Store) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}
