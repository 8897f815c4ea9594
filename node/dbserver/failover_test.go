package dbserver_test

import (
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/internal/testharness"
)

// TestLeaderKilledFailover: with a writer running, kill -9 the leader of a
// replicationFactor 2 shard. Supervision promotes the in-sync follower; the
// coordinator retries against it, so the writer's current write stalls and
// then goes on, and no acknowledged write is lost. The old leader comes back
// as a follower and catches up.
func TestLeaderKilledFailover(t *testing.T) {
	c := testharness.StartCluster(t, testharness.ClusterOptions{DBServers: 2, Coordinators: 1})
	col, shard := oneShardRF2(t, c, "f")
	leader, follower := c.DBServer(shard.Planned[0]), shard.Planned[1]
	w := startWriter(col)
	defer w.stopIfRunning()
	w.waitProgress(t, 200, time.Minute)
	leader.Kill()
	w.waitProgress(t, 200, 2*time.Minute)
	t.Logf("longest write across the failover: %v", time.Duration(w.maxStall.Load()))
	if s := c.Shards("_system", "f")[0]; s.Planned[0] != follower || s.Current.Servers[0] != follower {
		t.Fatalf("the follower should lead now: %+v", s)
	}
	leader.Restart()
	waitShard(t, c, "f", 2*time.Minute, inCurrent(leader.ID, true))
	w.waitProgress(t, 100, time.Minute)
	checkNoLoss(t, c, col, w)
}
