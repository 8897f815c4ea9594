package mesoslocal

import (
	"testing"
	"time"

	"github.com/gogo/protobuf/proto"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// T-5: partition and heal, for PARTITION_AWARE and plain frameworks.
func TestAgentPartitionAndHeal(t *testing.T) {
	for _, pa := range []bool{true, false} {
		name := "plain"
		var caps []mesos.FrameworkInfo_Capability_Type
		want := mesos.TASK_LOST
		if pa {
			name, caps, want = "partition-aware", []mesos.FrameworkInfo_Capability_Type{mesos.FrameworkInfo_Capability_PARTITION_AWARE}, mesos.TASK_UNREACHABLE
		}
		t.Run(name, func(t *testing.T) {
			c := startCluster(t, Config{AgentCount: 1, Timers: detectionTimers()})
			s := subscribe(t, c, frameworkInfo("partition", caps...), mediaJSON)
			o := s.waitOffers(0)[0]
			m := s.mark()
			launch(s, o, taskInfo("t1", o, execInfo(t, "e1"), spec{}))
			s.waitUpdate(m, "t1", mesos.TASK_STARTING, true)
			// RUNNING stays unacknowledged: it must come again after the heal.
			running := s.waitUpdate(m, "t1", mesos.TASK_RUNNING, false)
			agent := c.Agents()[0]
			pids := agent.ExecutorPIDs()
			m = s.mark()
			if err := agent.Partition(); err != nil {
				t.Fatal(err)
			}
			lost := s.waitFrom(m, 10*time.Second, isUpdateOf("t1", want)).Update.Status
			if lost.GetReason() != mesos.REASON_AGENT_REMOVED || len(lost.UUID) != 0 || lost.UnreachableTime == nil ||
				lost.GetSource() != mesos.SOURCE_MASTER || lost.AgentID.GetValue() != o.AgentID.Value {
				t.Fatalf("unreachable update %v", lost)
			}
			f := s.waitFrom(m, 10*time.Second, func(e *scheduler.Event) bool { return e.Type == scheduler.Event_FAILURE })
			if f.Failure.AgentID.GetValue() != o.AgentID.Value || f.Failure.ExecutorID != nil {
				t.Fatalf("FAILURE %v", f.Failure)
			}
			st := c.State()
			if len(st.UnreachableAgents) != 1 || len(st.Frameworks[0].UnreachableTasks) != 1 {
				t.Fatalf("state while partitioned: %+v", st)
			}
			m = s.mark()
			if err := agent.Heal(); err != nil {
				t.Fatal(err)
			}
			back := s.waitFrom(m, 10*time.Second, isUpdateOf("t1", mesos.TASK_RUNNING)).Update.Status
			if back.GetReason() != mesos.REASON_AGENT_REREGISTERED || len(back.UUID) != 0 {
				t.Fatalf("reregistered update %v", back)
			}
			// Then the queued update arrives with its uuid.
			queued := s.waitFrom(m, 10*time.Second, func(e *scheduler.Event) bool {
				return isUpdateOf("t1", mesos.TASK_RUNNING)(e) && len(e.Update.Status.UUID) == 16
			}).Update.Status
			if string(queued.UUID) != string(running.UUID) {
				t.Fatal("queued update has another uuid")
			}
			s.ack(queued)
			if err := c.WaitForTaskState(testCtx(t, 10*time.Second), "t1", mesos.TASK_RUNNING); err != nil {
				t.Fatal(err)
			}
			if got := agent.ExecutorPIDs(); len(got) != 1 || got[0] != pids[0] {
				t.Fatalf("executor was replaced: %v → %v", pids, got)
			}
			if id := agent.ID(); id != o.AgentID.Value {
				t.Fatalf("agent id changed: %s", id)
			}
		})
	}
}

// T-5: the agent's host dies.
func TestAgentKill(t *testing.T) {
	c := startCluster(t, Config{AgentCount: 1, Timers: detectionTimers()})
	paFI := frameworkInfo("pa", mesos.FrameworkInfo_Capability_PARTITION_AWARE)
	pa := subscribe(t, c, paFI, mediaJSON)
	plainFI := frameworkInfo("plain")
	plainFI.Checkpoint = proto.Bool(false)
	plain := subscribe(t, c, plainFI, mediaProtobuf)
	o := pa.waitOffers(0)[0]
	m := pa.mark()
	launch(pa, o, taskInfo("pa1", o, execInfo(t, "e1"), spec{}, scalar("cpus", 1), scalar("mem", 64)))
	pa.waitUpdate(m, "pa1", mesos.TASK_STARTING, true)
	pa.waitUpdate(m, "pa1", mesos.TASK_RUNNING, true)
	off := plain.waitOffers(0)[0]
	pm := plain.mark()
	launch(plain, off, taskInfo("p1", off, execInfo(t, "e2"), spec{}, scalar("cpus", 1), scalar("mem", 64)))
	plain.waitUpdate(pm, "p1", mesos.TASK_STARTING, true)
	plain.waitUpdate(pm, "p1", mesos.TASK_RUNNING, true)
	agent := c.Agents()[0]
	pids := agent.ExecutorPIDs()
	if len(pids) != 2 {
		t.Fatalf("executors %v", pids)
	}
	m, pm = pa.mark(), plain.mark()
	if err := agent.Kill(); err != nil {
		t.Fatal(err)
	}
	// Non-checkpointing framework: TASK_LOST at once.
	lost := plain.waitFrom(pm, 10*time.Second, isUpdateOf("p1", mesos.TASK_LOST)).Update.Status
	if lost.GetReason() != mesos.REASON_AGENT_DISCONNECTED || len(lost.UUID) != 0 {
		t.Fatalf("plain update %v", lost)
	}
	// Checkpointing PA framework: unreachable after the reregister timeout.
	un := pa.waitFrom(m, 10*time.Second, isUpdateOf("pa1", mesos.TASK_UNREACHABLE)).Update.Status
	if un.GetReason() != mesos.REASON_AGENT_REMOVED || un.UnreachableTime == nil {
		t.Fatalf("pa update %v", un)
	}
	pa.waitFrom(m, 10*time.Second, func(e *scheduler.Event) bool {
		return e.Type == scheduler.Event_FAILURE && e.Failure.AgentID.GetValue() == o.AgentID.Value
	})
	for _, pid := range pids {
		if live := liveGroupMembers(pid); len(live) > 0 {
			t.Fatalf("executor group %d alive after kill: %v", pid, live)
		}
	}
	if err := agent.Kill(); err == nil {
		t.Fatal("killing a dead agent succeeded")
	}
	// A restart after the crash brings the agent back under its id; the
	// dead executor's task fails.
	m = pa.mark()
	if err := agent.Restart(); err != nil {
		t.Fatal(err)
	}
	if id, err := agent.WaitRegistered(testCtx(t, 20*time.Second)); err != nil || id != o.AgentID.Value {
		t.Fatalf("reregistered as %q: %v", id, err)
	}
	failed := pa.waitUpdate(m, "pa1", mesos.TASK_FAILED, true)
	if failed.GetReason() != mesos.REASON_EXECUTOR_TERMINATED || failed.GetSource() != mesos.SOURCE_AGENT {
		t.Fatalf("after restart: %v", failed)
	}
}

// T-5: agent process restart, with and without checkpointing.
func TestAgentRestart(t *testing.T) {
	cfg := Config{AgentCount: 1, Timers: fastTimers()}
	cfg.Timers.ExecutorReregistrationTimeout = 3 * time.Second
	cfg.Timers.AgentReregisterTimeout = time.Minute
	c := startCluster(t, cfg)
	agent := c.Agents()[0]
	cp := subscribe(t, c, frameworkInfo("checkpointing", mesos.FrameworkInfo_Capability_PARTITION_AWARE), mediaJSON)
	o := cp.waitOffers(0)[0]
	m := cp.mark()
	launch(cp, o, taskInfo("c1", o, execInfo(t, "e1"), spec{}, scalar("cpus", 1), scalar("mem", 64)))
	cp.waitUpdate(m, "c1", mesos.TASK_STARTING, true)
	cp.waitUpdate(m, "c1", mesos.TASK_RUNNING, true)
	plainFI := frameworkInfo("plain")
	plainFI.Checkpoint = proto.Bool(false)
	plain := subscribe(t, c, plainFI, mediaJSON)
	off := plain.waitOffers(0)[0]
	pm := plain.mark()
	launch(plain, off, taskInfo("p1", off, execInfo(t, "e2"), spec{}, scalar("cpus", 1), scalar("mem", 64)))
	plain.waitUpdate(pm, "p1", mesos.TASK_STARTING, true)
	plain.waitUpdate(pm, "p1", mesos.TASK_RUNNING, true)
	before := agent.ExecutorPIDs()
	m, pm = cp.mark(), plain.mark()
	seq := c.Events(0)
	after := seq[len(seq)-1].Seq
	if err := agent.Restart(); err != nil {
		t.Fatal(err)
	}
	lost := plain.waitFrom(pm, 10*time.Second, isUpdateOf("p1", mesos.TASK_LOST)).Update.Status
	if lost.GetReason() != mesos.REASON_AGENT_DISCONNECTED {
		t.Fatalf("plain task %v", lost)
	}
	if id, err := agent.WaitRegistered(testCtx(t, 20*time.Second)); err != nil || id != o.AgentID.Value {
		t.Fatalf("reregistered as %q: %v", id, err)
	}
	// The checkpointing executor resubscribed and was adopted.
	if _, err := c.WaitForEvent(testCtx(t, 10*time.Second), after, func(e TapEvent) bool {
		return e.Kind == TapExecutorCall && e.Type == "SUBSCRIBE" && e.ExecutorID == "e1"
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitForTaskState(testCtx(t, 10*time.Second), "c1", mesos.TASK_RUNNING); err != nil {
		t.Fatal(err)
	}
	// The non-checkpointing executor is gone; the other one is the same process.
	if _, err := c.WaitUntil(testCtx(t, 10*time.Second), func(State) bool { return len(agent.ExecutorPIDs()) == 1 }); err != nil {
		t.Fatalf("executors after restart: %v (before %v)", agent.ExecutorPIDs(), before)
	}
	for _, e := range cp.eventsSince(m) {
		if e.Type == scheduler.Event_UPDATE && e.Update.Status.TaskID.Value == "c1" && e.Update.Status.GetState() != mesos.TASK_RUNNING {
			t.Fatalf("checkpointing task changed: %v", e.Update.Status)
		}
	}
	// The adopted executor still works: kill its task.
	m = cp.mark()
	cp.mustCall(killCall("c1"))
	cp.waitUpdate(m, "c1", mesos.TASK_KILLED, true)
}

// T-5: host reboot: new agent id, old tasks unreachable.
func TestAgentReboot(t *testing.T) {
	c := startCluster(t, Config{AgentCount: 1, Timers: detectionTimers()})
	s := subscribe(t, c, frameworkInfo("reboot", mesos.FrameworkInfo_Capability_PARTITION_AWARE), mediaJSON)
	old := runTask(t, s, "t1", execInfo(t, "e1"))
	agent := c.Agents()[0]
	pids := agent.ExecutorPIDs()
	m := s.mark()
	if err := agent.Reboot(); err != nil {
		t.Fatal(err)
	}
	id, err := agent.WaitRegistered(testCtx(t, 20*time.Second))
	if err != nil || id == old {
		t.Fatalf("after reboot id %q (old %q): %v", id, old, err)
	}
	s.waitFrom(m, 10*time.Second, isUpdateOf("t1", mesos.TASK_UNREACHABLE))
	for _, pid := range pids {
		if live := liveGroupMembers(pid); len(live) > 0 {
			t.Fatalf("executor group %d alive after reboot", pid)
		}
	}
	ev := s.waitFrom(m, 10*time.Second, func(e *scheduler.Event) bool {
		return e.Type == scheduler.Event_OFFERS && e.Offers.Offers[0].AgentID.Value == id
	})
	if ev.Offers.Offers[0].Hostname != agent.Hostname() {
		t.Fatalf("offer hostname %q", ev.Offers.Offers[0].Hostname)
	}
}

// An agent the master marked unreachable while its link stayed up (its
// pongs came late, e.g. on a loaded machine) gets no more pings; like a
// Mesos agent it then registers again with its id, and its task comes back
// RUNNING without being killed.
func TestAgentForgottenByTheMasterRegistersAgain(t *testing.T) {
	c := startCluster(t, Config{AgentCount: 1, Timers: detectionTimers()})
	s := subscribe(t, c, frameworkInfo("forgotten", mesos.FrameworkInfo_Capability_PARTITION_AWARE), mediaJSON)
	o := s.waitOffers(0)[0]
	m := s.mark()
	launch(s, o, taskInfo("t1", o, execInfo(t, "e1"), spec{}))
	s.waitUpdate(m, "t1", mesos.TASK_STARTING, true)
	s.waitUpdate(m, "t1", mesos.TASK_RUNNING, true)
	agent := c.Agents()[0]
	pids := agent.ExecutorPIDs()

	m = s.mark()
	c.master.mu.Lock()
	c.master.markUnreachableLocked(c.master.agents[o.AgentID.Value], "health check timed out")
	c.master.notifyLocked()
	c.master.mu.Unlock()
	s.waitFrom(m, 10*time.Second, isUpdateOf("t1", mesos.TASK_UNREACHABLE))
	back := s.waitFrom(m, 10*time.Second, isUpdateOf("t1", mesos.TASK_RUNNING)).Update.Status
	if back.GetReason() != mesos.REASON_AGENT_REREGISTERED {
		t.Fatalf("update after the agent came back: %v", back)
	}
	if st := c.State(); len(st.UnreachableAgents) != 0 || len(st.Agents) != 1 {
		t.Fatalf("state after the agent came back: %d unreachable, %d agents", len(st.UnreachableAgents), len(st.Agents))
	}
	if got := agent.ExecutorPIDs(); len(got) != 1 || got[0] != pids[0] || agent.ID() != o.AgentID.Value {
		t.Fatalf("executor %v → %v, agent id %s → %s", pids, got, o.AgentID.Value, agent.ID())
	}
}
