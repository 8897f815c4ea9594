package dbserver_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/internal/testharness"
	"github.com/arangomesos/arangomesos/node/shardapi"
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

// TestLeaderHungFailover: the leader hangs (SIGSTOP) under a running
// writer; supervision fails over to the in-sync follower and the writer
// goes on. When the old leader wakes up it holds no lease and no longer
// names itself leader, so it serves no stale read of the shard, and it
// returns as a follower.
func TestLeaderHungFailover(t *testing.T) {
	c := testharness.StartCluster(t, testharness.ClusterOptions{DBServers: 2, Coordinators: 1})
	col, shard := oneShardRF2(t, c, "h")
	leader, follower := c.DBServer(shard.Planned[0]), shard.Planned[1]
	w := startWriter(col)
	defer w.stopIfRunning()
	w.waitProgress(t, 200, time.Minute)
	leader.Pause()
	w.waitProgress(t, 200, 2*time.Minute)
	waitShard(t, c, "h", time.Minute, func(s testharness.ShardInfo) error {
		if s.Planned[0] != follower {
			return fmt.Errorf("no failover yet: %v", s.Planned)
		}
		return nil
	})
	// A document the old leader has never seen.
	if code, err := c.CoordinatorJSON(0, "POST", "/_api/document/h", map[string]any{"_key": "after"}, nil); err != nil || code != 202 {
		t.Fatalf("insert after failover: %d %v", code, err)
	}
	leader.Resume()
	for i := 0; i < 100; i++ {
		var out shardapi.ReadResponse
		code, err := c.ServerJSON(leader, "POST", shardapi.Path(shardapi.PathRead, shard.Name), shardapi.ReadRequest{Keys: []string{"after"}}, &out)
		if err == nil && code == 200 && (len(out.Docs) != 1 || out.Docs[0] == nil || string(out.Docs[0]) == "null") {
			t.Fatalf("the old leader served a stale read (attempt %d)", i)
		}
	}
	if code, err := c.CoordinatorJSON(0, "DELETE", "/_api/document/h/after", nil, nil); err != nil || code != 202 {
		t.Fatalf("remove: %d %v", code, err)
	}
	waitShard(t, c, "h", 2*time.Minute, inCurrent(leader.ID, true))
	w.waitProgress(t, 100, time.Minute)
	checkNoLoss(t, c, col, w)
}
