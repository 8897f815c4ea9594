package scheduler

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// taskIDs maps member names to their task ids.
func taskIDs(st StateView) map[string]string {
	out := map[string]string{}
	for _, m := range st.Members {
		out[m.Name] = m.TaskID
	}
	return out
}

func TestSchedulerKilledAndRestartedTakesOverItsTasks(t *testing.T) {
	// The state lives in ZooKeeper, as when Marathon restarts the scheduler
	// on another host.
	zk := testharness.StartZooKeeper(t)
	d := deploy(t, deployOptions{Args: []string{"--zk", "zk://" + zk + "/e2e-failover"}})
	testharness.Eventually(t, time.Minute, func() error { return allServing(d.state()) })
	before := d.state()

	d.sched.Kill()
	d.sched.Restart()
	d.waitHealthy(2 * time.Minute)
	after := d.state()
	if after.FrameworkID != before.FrameworkID {
		t.Fatalf("framework id %s after the restart, was %s", after.FrameworkID, before.FrameworkID)
	}
	if got, want := taskIDs(after), taskIDs(before); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("tasks changed across the restart:\nbefore %v\nafter  %v", want, got)
	}
	ms := d.mc.State()
	var frameworks, tasks int
	for _, f := range ms.Frameworks {
		frameworks++
		tasks += len(f.Tasks) + len(f.CompletedTasks) + len(f.UnreachableTasks)
		if f.ID != before.FrameworkID || !f.Connected {
			t.Errorf("framework %s connected=%v", f.ID, f.Connected)
		}
	}
	if frameworks != 1 || tasks != len(before.Members) {
		t.Errorf("Mesos has %d frameworks and %d tasks, want 1 and %d: nothing may be launched twice", frameworks, tasks, len(before.Members))
	}

	// Healing works under the restarted scheduler.
	crdn := d.member("coordinator-2")
	d.killNode(crdn.ServerID)
	testharness.Eventually(t, 2*time.Minute, func() error {
		m := d.member("coordinator-2")
		if m.TaskID == crdn.TaskID || m.TaskState != "TASK_RUNNING" {
			return fmt.Errorf("coordinator-2: %s %s", m.TaskID, m.TaskState)
		}
		return nil
	})
	d.waitHealthy(time.Minute)
}

func TestCrashLoopingMemberBacksOff(t *testing.T) {
	d := deploy(t, deployOptions{})
	m := d.member("dbserver-2")
	// The DBServer cannot start while its volume holds a file where its
	// data directory belongs: every launch exits at once.
	volume := filepath.Join(d.agentOf(m.AgentID).WorkDir(), "volumes", "roles", "e2e", m.Volume)
	dbDir := filepath.Join(volume, "dbserver")
	moved := dbDir + ".away"
	if err := os.Rename(dbDir, moved); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dbDir, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	d.killNode(m.ServerID)
	start := time.Now()
	// In 20 s a storm would launch it dozens of times; the backoff (1s,
	// 2s, 4s, 8s…) allows about four.
	testharness.Eventually(t, time.Minute, func() error {
		if time.Since(start) < 20*time.Second {
			return fmt.Errorf("watching")
		}
		return nil
	})
	looped := d.member("dbserver-2")
	launches := looped.Restarts - m.Restarts
	if launches < 2 || launches > 6 {
		t.Errorf("%d relaunches in 20s of crash loop, want a few with growing pauses", launches)
	}
	if !strings.Contains(looped.Message, "dbserver") && !strings.Contains(looped.Message, "exited") {
		t.Errorf("the member's last message does not say why it fails: %q", looped.Message)
	}
	// Repaired, it comes back by itself.
	if err := os.Remove(dbDir); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(moved, dbDir); err != nil {
		t.Fatal(err)
	}
	d.waitHealthy(2 * time.Minute)
}

func TestEveryHostRebootedClusterFormsAgainFromItsVolumes(t *testing.T) {
	d := deploy(t, deployOptions{})
	testharness.Eventually(t, time.Minute, func() error { return allServing(d.state()) })
	col := d.collection("reboot", 4)
	keys := d.writeDocs(col, "k", 100)
	before := d.state()
	for _, a := range d.mc.Agents() {
		if err := a.Reboot(); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	old := taskIDs(before)
	testharness.Eventually(t, 3*time.Minute, func() error {
		st := d.state()
		for _, m := range st.Members {
			if m.TaskID == old[m.Name] || m.TaskState != "TASK_RUNNING" {
				return fmt.Errorf("%s: %s %s %s", m.Name, m.TaskID, m.TaskState, m.Waiting)
			}
		}
		return allServing(st)
	})
	t.Logf("every host rebooted to the cluster serving again: %v", time.Since(start).Round(time.Millisecond))
	after := d.state()
	for i, m := range after.Members {
		b := before.Members[i]
		if m.ServerID != b.ServerID {
			t.Errorf("%s came back as %s, was %s", m.Name, m.ServerID, b.ServerID)
		}
		if m.Volume == "" { // a coordinator may come back on any host
			continue
		}
		if m.Volume != b.Volume || m.Port != b.Port || m.Host != b.Host {
			t.Errorf("%s came back as %s on %s:%d (%s), was %s on %s:%d (%s)", m.Name, m.ServerID, m.Host, m.Port, m.Volume,
				b.ServerID, b.Host, b.Port, b.Volume)
		}
	}
	d.checkDocs(col, keys)
	d.waitHealthy(time.Minute)
}
