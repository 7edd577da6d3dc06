package httpsession

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
)

// contextKey is the type of the context key of the session; used as a
// pointer, it fits in an interface without allocating.
type contextKey struct{ name string }

var sessionKey = &contextKey{"httpsession"}

// From returns the session of the request whose context is ctx. Inside
// [Manager.Handler] it is never nil; for a context without a session it is
// nil, whose methods return [ErrNoSession].
func From(ctx context.Context) *Session {
	s, _ := ctx.Value(sessionKey).(*Session)
	return s
}

// NewContext returns a copy of ctx that carries s, for [From]. Handler does
// this itself; frameworks that call [Manager.Load] need it.
func NewContext(ctx context.Context, s *Session) context.Context {
	return context.WithValue(ctx, sessionKey, s)
}

// request is what Handler allocates per request: the session, the context
// that carries it and the response writer that commits it, in one
// allocation.
type request struct {
	s   Session
	ctx sessionContext
	w   writer
}

// sessionContext is the request's context with its session, what
// [context.WithValue] would return, held in request to save an allocation.
// Done, Err and Deadline are the parent's, so contexts derived from it
// are cancelled with the parent without a goroutine of their own, as
// under a context.WithValue.
type sessionContext struct {
	context.Context
	s *Session
}

// Value returns the session for the session key and asks the parent for
// any other key.
func (c *sessionContext) Value(key any) any {
	if key == sessionKey {
		return c.s
	}
	return c.Context.Value(key)
}

// Handler is the middleware: it loads the request's session before next
// runs (one read of the Store, no decoding) and commits it before the
// response's headers go out, on next's first WriteHeader, Write, Flush,
// ReadFrom or Hijack, or when next returns without writing. Handlers find
// the session with [From]. A failure of the Store, at load or at commit,
// goes to [Config.ErrorHandler] instead of next's response. When next
// panics nothing is committed and the panic goes on.
//
// The ResponseWriter that next receives implements Unwrap, so that
// [http.NewResponseController] reaches the server's (deadlines, full
// duplex); its Flush and Hijack commit first.
func (m *Manager) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := &request{}
		s := &q.s
		s.m, s.ctx = m, r.Context()
		if err := m.load(r.Context(), s, m.Token(r)); err != nil {
			m.fail(w, r, err)
			return
		}
		q.ctx = sessionContext{Context: r.Context(), s: s}
		r = r.WithContext(&q.ctx)
		q.w = writer{ResponseWriter: w, m: m, s: s, r: r}
		panicked := true
		defer func() {
			if panicked {
				s.mu.Lock()
				if s.state == open {
					s.state = aborted
				}
				s.mu.Unlock()
			}
		}()
		next.ServeHTTP(&q.w, r)
		panicked = false
		q.w.commit()
	})
}

// writer commits the session before the response's headers go out.
type writer struct {
	http.ResponseWriter
	m *Manager
	s *Session
	r *http.Request

	done   bool // commit ran
	failed bool // commit failed: the error response went out instead
}

// commit commits the session once, setting the cookie or answering with
// the ErrorHandler; it reports whether the handler's response may go on.
func (w *writer) commit() bool {
	if w.done {
		return !w.failed
	}
	w.done = true
	c, err := w.m.Commit(w.r.Context(), w.s)
	if err != nil {
		w.failed = true
		w.m.fail(w.ResponseWriter, w.r, err)
		return false
	}
	w.m.SetCookie(w.ResponseWriter.Header(), c)
	return true
}

// WriteHeader commits the session, then writes the header. Informational
// (1xx) headers other than 101 Switching Protocols pass without a commit.
func (w *writer) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		if !w.done {
			w.ResponseWriter.WriteHeader(code)
		}
		return
	}
	if w.commit() {
		w.ResponseWriter.WriteHeader(code)
	}
}

// Write commits the session, then writes b. After a failed commit it
// writes nothing and returns [ErrCommitFailed]: the ErrorHandler's
// response went out instead.
func (w *writer) Write(b []byte) (int, error) {
	if !w.commit() {
		return 0, ErrCommitFailed
	}
	return w.ResponseWriter.Write(b)
}

// ReadFrom commits the session, then copies from src, with the server's
// ReadFrom (sendfile) when it has one.
func (w *writer) ReadFrom(src io.Reader) (int64, error) {
	if !w.commit() {
		return 0, ErrCommitFailed
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(writerOnly{w.ResponseWriter}, src)
}

// writerOnly hides every method but Write, so that io.Copy does not call
// ReadFrom again.
type writerOnly struct{ io.Writer }

// Flush commits the session, then flushes the response.
func (w *writer) Flush() { w.FlushError() }

// FlushError commits the session, then flushes the response, returning
// the server's error ([http.ResponseController] calls it).
func (w *writer) FlushError() error {
	if !w.commit() {
		return ErrCommitFailed
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack commits the session, then hands over the connection. The cookie
// set at commit is in the headers that the hijacker may or may not send.
func (w *writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !w.commit() {
		return nil, nil, ErrCommitFailed
	}
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap returns the server's ResponseWriter, for
// [http.NewResponseController].
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }
