package supervision

import "errors"

// Errors of the supervision package.
var (
	// ErrNoLayout: the Agency holds no /arango tree yet.
	ErrNoLayout = errors.New("supervision: no cluster layout")
	// ErrNotLeader: the supervision's agent does not lead the Agency.
	ErrNotLeader = errors.New("supervision: not the agency leader")
)
