package storage

import "errors"

// Errors of the shard store.
var (
	// ErrUniqueViolated: a write would give two documents the same values in
	// a unique index.
	ErrUniqueViolated = errors.New("storage: unique constraint violated")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("storage: store is closed")
	// ErrCorrupt: a stored value cannot be decoded.
	ErrCorrupt = errors.New("storage: corrupt value")
)

// UniqueError says which index and key a unique violation conflicts with.
type UniqueError struct {
	Index       string // index name
	Fields      []string
	ConflictKey string
}

func (e *UniqueError) Error() string {
	return "unique constraint violated - in index " + e.Index + " of type persistent; conflicting key: " + e.ConflictKey
}

// Unwrap makes errors.Is(err, ErrUniqueViolated) true.
func (e *UniqueError) Unwrap() error { return ErrUniqueViolated }
