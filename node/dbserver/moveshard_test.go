package dbserver_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/internal/testharness"
)

// TestMoveShardUnderWrites moves a follower and then the leader of a
// replicationFactor 2 shard to other DBServers (POST
// /_admin/cluster/moveShard, carried out by supervision) while a writer
// writes: the new copy synchronizes, the leader resigns ("_" protocol) and
// hands over, and no acknowledged write is lost.
func TestMoveShardUnderWrites(t *testing.T) {
	c := testharness.StartCluster(t, testharness.ClusterOptions{DBServers: 3, Coordinators: 1})
	col, _ := oneShardRF2(t, c, "m")
	w := startWriter(col)
	defer w.stopIfRunning()
	w.waitProgress(t, 200, time.Minute)
	move := func(from, to string) {
		t.Helper()
		s := c.Shards("_system", "m")[0]
		var out map[string]any
		code, err := c.CoordinatorJSON(0, "POST", "/_admin/cluster/moveShard",
			map[string]any{"database": "_system", "collection": "m", "shard": s.Name, "fromServer": from, "toServer": to}, &out)
		if err != nil || code != 202 {
			t.Fatalf("moveShard %s → %s: %d %v %v", from, to, code, err, out)
		}
		waitShard(t, c, "m", 2*time.Minute, func(s testharness.ShardInfo) error {
			if slices.Contains(s.Planned, from) || !slices.Contains(s.Current.Servers, to) || len(s.Current.Servers) != 2 {
				return fmt.Errorf("move %s → %s not done: Plan %v, Current %v", from, to, s.Planned, s.Current.Servers)
			}
			return nil
		})
		w.waitProgress(t, 100, time.Minute)
	}
	spare := func(s testharness.ShardInfo) string {
		for _, n := range c.DBServers {
			if !slices.Contains(s.Planned, n.ID) {
				return n.ID
			}
		}
		t.Fatal("no spare DBServer")
		return ""
	}
	s := c.Shards("_system", "m")[0]
	move(s.Planned[1], spare(s))
	s = c.Shards("_system", "m")[0]
	move(s.Planned[0], spare(s))
	if s2 := c.Shards("_system", "m")[0]; s2.Current.Servers[0] == s.Planned[0] {
		t.Fatalf("the leader did not move: %v", s2.Current.Servers)
	}
	checkNoLoss(t, c, col, w)
}
