package httpsession

import "errors"

// httpsession errors. Callers branch on these with [errors.Is]. Errors of the
// [Store] come back wrapped, with the operation that failed.
var (
	// ErrInvalidConfig is returned by [New] for a nil Store or a [Config]
	// field out of range; the message names the field.
	ErrInvalidConfig = errors.New("httpsession: invalid config")

	// ErrCommitted is returned by [Session.Put], [Session.Renew],
	// [Session.Destroy] and [Session.SetPersistent] once the session was
	// committed: inside [Manager.Handler] that happens when the response's
	// headers are written, so change the session before writing the
	// response.
	ErrCommitted = errors.New("httpsession: session already committed")

	// ErrCommitFailed is returned by the Write, ReadFrom, Flush and Hijack
	// methods of the ResponseWriter that [Manager.Handler] passes on, once
	// the session's commit failed: the [Config.ErrorHandler]'s response
	// went out instead of the handler's.
	ErrCommitFailed = errors.New("httpsession: the session was not saved; the error response was sent instead")

	// ErrInvalidKey is returned by [Session.Put] and [Session.Get] for the
	// reserved key [MetaKey] and for keys that are not valid UTF-8.
	ErrInvalidKey = errors.New("httpsession: invalid key")

	// ErrNoSession is returned by the methods of a nil [*Session], which
	// [From] returns for a context that [Manager.Handler] did not make.
	ErrNoSession = errors.New("httpsession: no session in the context")
)
