package scheduler

import (
	"fmt"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/internal/testharness"
	"github.com/arangomesos/arangomesos/node/cluster"
)

// allServing checks that every member runs, is healthy for Mesos and GOOD
// for the Supervision.
func allServing(st StateView) error {
	for _, m := range st.Members {
		if m.TaskState != "TASK_RUNNING" || m.Healthy == nil || !*m.Healthy || m.Health != cluster.StatusGood {
			return fmt.Errorf("%s: %s healthy=%v supervision=%s %s", m.Name, m.TaskState, m.Healthy, m.Health, m.Waiting)
		}
	}
	return nil
}

func TestDeployServesAndRelaunchesAKilledDBServerInPlace(t *testing.T) {
	d := deploy(t, deployOptions{})
	testharness.Eventually(t, time.Minute, func() error { return allServing(d.state()) })
	st := d.state()
	if len(st.Members) != 8 {
		t.Fatalf("members: %d, want 3 agents, 3 DBServers and 2 coordinators", len(st.Members))
	}
	col := d.collection("heal", 6)
	keys := d.writeDocs(col, "k", 200)

	before := d.member("dbserver-1")
	start := time.Now()
	d.killNode(before.ServerID)
	testharness.Eventually(t, 2*time.Minute, func() error {
		m := d.member("dbserver-1")
		if m.TaskID == before.TaskID || m.TaskState != "TASK_RUNNING" || m.Healthy == nil || !*m.Healthy {
			return fmt.Errorf("dbserver-1: %s %s healthy=%v", m.TaskID, m.TaskState, m.Healthy)
		}
		return nil
	})
	t.Logf("kill -9 of %s to its relaunch running healthy: %v", before.ServerID, time.Since(start).Round(time.Millisecond))
	after := d.member("dbserver-1")
	if after.AgentID != before.AgentID || after.ServerID != before.ServerID || after.Port != before.Port ||
		after.Volume != before.Volume || after.Restarts != before.Restarts+1 {
		t.Errorf("relaunch moved: before %+v\nafter %+v", before, after)
	}
	d.checkDocs(col, keys)
	testharness.Eventually(t, time.Minute, func() error { return allServing(d.state()) })
}
