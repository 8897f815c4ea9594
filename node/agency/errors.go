package agency

import "errors"

// Errors of the agency package. The HTTP layer (http.go) maps them to
// ArangoDB's answers: ErrNotLeader to 307 (or 503 without a known leader),
// the others to 503.
var (
	// ErrNotLeader: the request needs the leader and this agent is not it.
	ErrNotLeader = errors.New("agency: not the leader")
	// ErrNoLeader: no leader is known, or the leader is not ready yet.
	ErrNoLeader = errors.New("agency: no leader")
	// ErrOutcomeUnknown: leadership was lost while a write was in flight; it
	// may or may not have been committed. Writers that set a client id can
	// ask /_api/agency/inquire.
	ErrOutcomeUnknown = errors.New("agency: leadership lost during the write; its outcome is unknown")
	// ErrMembership: a membership change was refused or did not complete.
	ErrMembership = errors.New("agency: membership change failed")
	// ErrClosed: the agent is shutting down.
	ErrClosed = errors.New("agency: agent closed")
)
