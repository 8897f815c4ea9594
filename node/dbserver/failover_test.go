package dbserver_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/arangodb/go-driver/v2/arangodb"

	"github.com/arangomesos/arangomesos/internal/testharness"
)

// TestLeaderKilledFailover: with a writer running, kill -9 the leader of a
// replicationFactor 2 shard. Supervision promotes the in-sync follower; the
// coordinator retries against it, so the writer's current write stalls and
// then goes on, and no acknowledged write is lost. The old leader comes back
// as a follower and catches up.
func TestLeaderKilledFailover(t *testing.T) {
	c := testharness.StartCluster(t, testharness.ClusterOptions{DBServers: 2, Coordinators: 1})
	ctx := testharness.Context(t, 4*time.Minute)
	db, err := c.Client(0).GetDatabase(ctx, "_system", nil)
	if err != nil {
		t.Fatal(err)
	}
	col, err := db.CreateCollectionV2(ctx, "f", &arangodb.CreateCollectionPropertiesV2{
		NumberOfShards: ptr(1), ReplicationFactor: ptr(arangodb.ReplicationFactor(2))})
	if err != nil {
		t.Fatal(err)
	}
	shard := c.Shards("_system", "f")[0]
	leader, follower := c.DBServer(shard.Planned[0]), shard.Planned[1]
	w := startWriter(col)
	defer func() {
		select {
		case <-w.done:
		default:
			w.halt()
		}
	}()
	w.waitProgress(t, 200, time.Minute)
	leader.Kill()
	w.waitProgress(t, 200, 2*time.Minute)
	t.Logf("longest write across the failover: %v", time.Duration(w.maxStall.Load()))
	if s := c.Shards("_system", "f")[0]; s.Planned[0] != follower || s.Current.Servers[0] != follower {
		t.Fatalf("the follower should lead now: %+v", s)
	}
	leader.Restart()
	testharness.Eventually(t, 2*time.Minute, func() error {
		s := c.Shards("_system", "f")[0]
		if len(s.Current.Servers) < 2 {
			return fmt.Errorf("old leader not back in sync: %v", s.Current.Servers)
		}
		return nil
	})
	w.waitProgress(t, 100, time.Minute)
	w.halt()
	c.WaitInSync("_system", "f", time.Minute)
	n, err := col.Count(ctx)
	if err != nil || n != w.acked.Load() {
		t.Fatalf("count %d (%v), acknowledged %d: a write was lost or doubled", n, err, w.acked.Load())
	}
}
