package agency_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/internal/testharness"
	"github.com/arangomesos/arangomesos/node/agency/agencytest"
	"github.com/arangomesos/arangomesos/node/cluster"
)

// The watching cache follows every write, across a leader change.
func TestCacheFollowsWritesAcrossFailover(t *testing.T) {
	c := agencytest.New(t, 3, agencytest.Options{})
	ctx, cancel := context.WithCancel(testharness.Context(t, 60*time.Second))
	defer cancel()
	cl := c.Client()
	cache := cluster.NewCache(cl, nil)
	cache.PollTimeout = time.Second
	go cache.Run(ctx)
	<-cache.Ready()
	var v int
	if ok, _ := cache.Get(cluster.PlanVersion, &v); !ok || v != 1 {
		t.Fatalf("Plan/Version in cache = %d %v", v, ok)
	}
	write := func(i int) {
		res, err := cl.Write(ctx, cluster.Transaction{Ops: map[string]cluster.Operation{
			fmt.Sprintf("/c/%d", i): cluster.Set(i), "/c/last": cluster.Set(i)}})
		if err != nil || !res.OK() {
			t.Fatal(res, err)
		}
		if err := cache.WaitIndex(ctx, res.Index()); err != nil {
			t.Fatal(err)
		}
		var last int
		if ok, err := cache.Get("/c/last", &last); !ok || err != nil || last != i {
			t.Fatalf("cache /c/last = %d after write %d", last, i)
		}
	}
	for i := 0; i < 20; i++ {
		write(i)
	}
	c.WaitLeader().Stop()
	c.WaitLeader()
	for i := 20; i < 40; i++ {
		write(i)
	}
	var all map[string]int
	cache.Get("/c", &all)
	if len(all) != 41 {
		t.Fatalf("cache holds %d keys under /c, want 41", len(all))
	}
}
