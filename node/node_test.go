package node

import (
	"testing"

	"github.com/arangomesos/arangomesos/node/cluster"
)

func TestMaxProcs(t *testing.T) {
	for _, tc := range []struct {
		role   cluster.Role
		flag   int
		envSet bool
		want   int
	}{
		{cluster.RoleAgent, 0, false, 1},       // agents default to one thread
		{cluster.RoleAgent, 0, true, 0},        // unless GOMAXPROCS says otherwise
		{cluster.RoleAgent, 3, true, 3},        // the flag wins over both
		{cluster.RoleDBServer, 0, false, 0},    // Go's default
		{cluster.RoleCoordinator, 0, true, 0},  // GOMAXPROCS from the environment
		{cluster.RoleCoordinator, 2, false, 2}, // the scheduler's rounded-up CPUs
		{cluster.RoleDBServer, 1, true, 1},
	} {
		if got := maxProcs(tc.role, tc.flag, tc.envSet); got != tc.want {
			t.Errorf("maxProcs(%s, %d, env set %v) = %d, want %d", tc.role, tc.flag, tc.envSet, got, tc.want)
		}
	}
}
