package mesoslocal

import (
	"fmt"

	"github.com/google/uuid"
)

// newUUID returns a random RFC 4122 UUID string: master ids, container ids
// and stream ids use this form.
func newUUID() string { return uuid.NewString() }

// newUUIDBytes returns 16 random bytes: the uuid of a reliable status update.
func newUUIDBytes() []byte {
	u := uuid.New()
	return u[:]
}

// frameworkIDFor formats the n-th framework id of master mid.
func frameworkIDFor(mid string, n int) string { return fmt.Sprintf("%s-%04d", mid, n) }

// agentIDFor formats the n-th agent id of master mid.
func agentIDFor(mid string, n int) string { return fmt.Sprintf("%s-S%d", mid, n) }

// offerIDFor formats the n-th offer id of master mid.
func offerIDFor(mid string, n int) string { return fmt.Sprintf("%s-O%d", mid, n) }

// validateID applies Mesos's rules for framework-chosen ids (task and
// executor ids, persistence ids): non-empty, at most 255 characters, not
// "." or "..", no '/', '\' or control characters.
func validateID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("ID must not be empty")
	case len(id) > 255:
		return fmt.Errorf("ID must not be greater than 255 characters")
	case id == "." || id == "..":
		return fmt.Errorf("'%s' is disallowed", id)
	}
	for _, r := range id {
		if r == '/' || r == '\\' {
			return fmt.Errorf("'%c' is disallowed", r)
		}
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("ID must not contain control characters")
		}
	}
	return nil
}
