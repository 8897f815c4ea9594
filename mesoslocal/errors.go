package mesoslocal

import "errors"

// Sentinel errors of the package. Functions wrap them with context; test
// with errors.Is.
var (
	// ErrClosed is returned by operations on a cluster that was closed.
	ErrClosed = errors.New("mesoslocal: cluster closed")
	// ErrUnknownAgent is returned when an agent name or id is not known.
	ErrUnknownAgent = errors.New("mesoslocal: unknown agent")
	// ErrUnknownFramework is returned when a framework id is not known.
	ErrUnknownFramework = errors.New("mesoslocal: unknown framework")
	// ErrAgentState is returned when a fault cannot be applied in the
	// agent's current state (e.g. healing an agent that is not partitioned).
	ErrAgentState = errors.New("mesoslocal: operation not possible in the agent's state")
	// ErrBadResources is returned for a resource or attribute string that
	// does not parse.
	ErrBadResources = errors.New("mesoslocal: bad resources")
	// ErrBadConfig is returned by Start for an unusable configuration.
	ErrBadConfig = errors.New("mesoslocal: bad configuration")
	// ErrFetch is returned when the fetcher cannot bring a URI into a sandbox.
	ErrFetch = errors.New("mesoslocal: fetch failed")
)
