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

func TestLostHostsMembersAreReplacedElsewhere(t *testing.T) {
	d := deploy(t, deployOptions{MesosAgents: 4, Args: []string{"--replace-timeout", "10s"}})
	testharness.Eventually(t, time.Minute, func() error { return allServing(d.state()) })
	col := d.collection("lost", 6)
	keys := d.writeDocs(col, "k", 200)

	// The host of dbserver-1 dies; it also runs one of the Agency's agents.
	victim := d.member("dbserver-1")
	host := d.agentOf(victim.AgentID)
	var lost []MemberView
	for _, m := range d.state().Members {
		if m.AgentID == victim.AgentID {
			lost = append(lost, m)
		}
	}
	if err := host.Kill(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	testharness.Eventually(t, 4*time.Minute, func() error {
		st := d.state()
		for _, old := range lost {
			var now MemberView
			for _, m := range st.Members {
				if m.Name == old.Name {
					now = m
				}
			}
			if now.ServerID == old.ServerID || now.AgentID == victim.AgentID {
				return fmt.Errorf("%s not replaced yet (%s on %s, %s)", old.Name, now.ServerID, now.AgentID, now.Waiting)
			}
		}
		return allServing(st)
	})
	t.Logf("host death to every member replaced and serving: %v", time.Since(start).Round(time.Millisecond))
	d.checkDocs(col, keys)

	// The old servers leave the cluster; every shard has two in-sync copies
	// again; the Agency has three good agents, none of them the lost one.
	testharness.Eventually(t, 2*time.Minute, func() error {
		health, err := d.clusterHealth()
		if err != nil {
			return err
		}
		agents := 0
		for id, h := range health {
			if h.Role == "Agent" {
				agents++
				if h.Status != cluster.StatusGood {
					return fmt.Errorf("agent %s is %s", id, h.Status)
				}
			}
		}
		if agents != 3 {
			return fmt.Errorf("%d agents in the Agency's pool", agents)
		}
		for _, old := range lost {
			if _, still := health[old.ServerID]; still {
				return fmt.Errorf("%s (%s) is still in the cluster: %+v", old.Name, old.ServerID, health[old.ServerID])
			}
		}
		return d.shardsInSync("lost", 2)
	})
	d.waitHealthy(time.Minute)
}
