package sqlsession

import (
	"bytes"
	"time"
)

// An Action is what a frontend writes at the end of a request, as
// [Store.Decide] and [Plan] decide it.
type Action int

// The actions, from cheapest to dearest.
const (
	// ActionNone: the table already holds the session, or it is an empty new
	// one that needs no row.
	ActionNone Action = iota
	// ActionTouch: only the expiry moves ([Store.Touch]).
	ActionTouch
	// ActionWrite: the data changed ([Store.Save] or [Store.SaveIf]).
	ActionWrite
)

// String returns "none", "touch" or "write".
func (a Action) String() string {
	switch a {
	case ActionNone:
		return "none"
	case ActionTouch:
		return "touch"
	case ActionWrite:
		return "write"
	}
	return "Action(?)"
}

// Plan is the write rule that every frontend follows, for frontends that
// keep a digest of the data they loaded rather than the data itself:
//
//   - a session that was not loaded (found false) is written if it holds
//     data (changed), and otherwise needs nothing: an empty new session
//     makes no row, so bots do not fill the table;
//   - a loaded session whose data changed is written;
//   - an unchanged one has its expiry moved only when the stored expiry is
//     more than slack away from the one a write would give now, want;
//   - otherwise nothing is written.
//
// [Store.Decide] applies it to the data itself.
func Plan(found, changed bool, stored, want time.Time, slack time.Duration) Action {
	switch {
	case !found && !changed:
		return ActionNone
	case !found || changed:
		return ActionWrite
	case stored.Before(want.Add(-slack)) || stored.After(want.Add(slack)):
		return ActionTouch
	}
	return ActionNone
}

// Decide returns what to write at the end of a request that loaded the
// session loaded (found reports whether a live one was loaded) and now
// holds data, which a write would store until expiry. It applies [Plan]
// with a slack of a tenth of [Options.IdleTimeout] when that is set, and
// otherwise a tenth of the time from now until expiry. A new session
// changed when it holds any data.
func (s *Store) Decide(loaded Entry, found bool, data []byte, expiry time.Time) Action {
	now := s.now()
	if expiry.IsZero() {
		expiry = now.Add(s.opts.DefaultLifetime)
	}
	slack := s.opts.IdleTimeout / 10
	if slack <= 0 {
		slack = expiry.Sub(now) / 10
	}
	changed := len(data) > 0
	if found {
		changed = !bytes.Equal(loaded.Data, data)
	}
	return Plan(found, changed, loaded.Expiry, expiry, slack)
}
