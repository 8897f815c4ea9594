package mesoslocal

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gogo/protobuf/proto"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// T-7: KILL before and after the executor subscribed, and of an unknown
// task.
func TestKillPaths(t *testing.T) {
	c := startCluster(t, Config{AgentCount: 1})
	s := subscribe(t, c, frameworkInfo("kill", mesos.FrameworkInfo_Capability_PARTITION_AWARE), mediaJSON)
	o := s.waitOffers(0)[0]
	m := s.mark()
	silent := execInfo(t, "silent", "TESTEXECUTOR_NO_SUBSCRIBE", "1")
	talker := execInfo(t, "talker")
	accept(s, o, opLaunch(taskInfo("queued", o, silent, spec{}), taskInfo("delivered", o, talker, spec{})))
	s.waitUpdate(m, "delivered", mesos.TASK_STARTING, true)
	s.waitUpdate(m, "delivered", mesos.TASK_RUNNING, true)
	agent := c.Agents()[0]
	eventually(t, 10*time.Second, "two executor processes", func() bool { return len(agent.ExecutorPIDs()) == 2 })
	s.mustCall(killCall("queued"))
	st := s.waitUpdate(m, "queued", mesos.TASK_KILLED, true)
	if st.GetReason() != mesos.REASON_TASK_KILLED_DURING_LAUNCH || st.GetSource() != mesos.SOURCE_AGENT || len(st.UUID) != 16 {
		t.Fatalf("kill during launch: %v", st)
	}
	grace := int64(200 * time.Millisecond)
	s.mustCall(&scheduler.Call{Type: scheduler.Call_KILL, Kill: &scheduler.Call_Kill{TaskID: mesos.TaskID{Value: "delivered"},
		KillPolicy: &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: grace}}}})
	if st := s.waitUpdate(m, "delivered", mesos.TASK_KILLED, true); st.GetSource() != mesos.SOURCE_EXECUTOR {
		t.Fatalf("kill: %v", st)
	}
	if _, err := c.WaitForEvent(testCtx(t, 5*time.Second), 0, func(e TapEvent) bool {
		return e.Kind == TapExecutorEvent && e.Type == "KILL" && e.TaskID == "delivered"
	}); err != nil {
		t.Fatal(err)
	}
	s.mustCall(killCall("never-launched"))
	if st := s.waitUpdate(m, "never-launched", mesos.TASK_UNKNOWN, false); st.GetReason() != mesos.REASON_RECONCILIATION {
		t.Fatalf("kill unknown: %v", st)
	}
}

// An executor that never subscribes is destroyed after the registration
// timeout and its task fails with REASON_EXECUTOR_REGISTRATION_TIMEOUT.
func TestExecutorRegistrationTimeout(t *testing.T) {
	cfg := Config{AgentCount: 1, Timers: fastTimers()}
	cfg.Timers.ExecutorRegistrationTimeout = 300 * time.Millisecond
	c := startCluster(t, cfg)
	s := subscribe(t, c, frameworkInfo("regtimeout"), mediaProtobuf)
	o := s.waitOffers(0)[0]
	m := s.mark()
	launch(s, o, taskInfo("regtimeout", o, execInfo(t, "silent", "TESTEXECUTOR_NO_SUBSCRIBE", "1"), spec{}))
	if st := s.waitUpdate(m, "regtimeout", mesos.TASK_FAILED, true); st.GetReason() != mesos.REASON_EXECUTOR_REGISTRATION_TIMEOUT ||
		st.GetSource() != mesos.SOURCE_AGENT {
		t.Fatalf("registration timeout: %v", st)
	}
	s.waitFrom(m, 10*time.Second, func(e *scheduler.Event) bool {
		return e.Type == scheduler.Event_FAILURE && e.Failure.GetExecutorID().GetValue() == "silent"
	})
}

// Executors that exit, fail to fetch, or ignore SHUTDOWN.
func TestExecutorLifecycle(t *testing.T) {
	c := startCluster(t, Config{AgentCount: 1})
	s := subscribe(t, c, frameworkInfo("lifecycle"), mediaProtobuf)
	o := s.waitOffers(0)[0]
	m := s.mark()
	exiter := execInfo(t, "exiter")
	badFetch := execInfo(t, "badfetch")
	badFetch.Command.URIs = []mesos.CommandInfo_URI{{Value: "file:///no/such/file"}}
	stubborn := execInfo(t, "stubborn", "TESTEXECUTOR_IGNORE_SHUTDOWN", "1")
	stubborn.ShutdownGracePeriod = &mesos.DurationInfo{Nanoseconds: int64(200 * time.Millisecond)}
	small := []mesos.Resource{scalar("cpus", 0.1), scalar("mem", 32)}
	accept(s, o, opLaunch(
		taskInfo("exits", o, exiter, spec{Action: "exit", Code: 3}, small...),
		taskInfo("nofetch", o, badFetch, spec{}, small...),
		taskInfo("stubborn", o, stubborn, spec{}, small...)))
	s.waitUpdate(m, "exits", mesos.TASK_STARTING, true)
	s.waitUpdate(m, "exits", mesos.TASK_RUNNING, true)
	if st := s.waitUpdate(m, "exits", mesos.TASK_FAILED, true); st.GetReason() != mesos.REASON_EXECUTOR_TERMINATED || st.GetSource() != mesos.SOURCE_AGENT {
		t.Fatalf("executor exit: %v", st)
	}
	f := s.waitFrom(m, 10*time.Second, func(e *scheduler.Event) bool {
		return e.Type == scheduler.Event_FAILURE && e.Failure.GetExecutorID().GetValue() == "exiter"
	}).Failure
	if f.GetStatus() != 3<<8 || f.AgentID == nil {
		t.Fatalf("FAILURE %v", f)
	}
	if st := s.waitUpdate(m, "nofetch", mesos.TASK_FAILED, true); st.GetReason() != mesos.REASON_CONTAINER_LAUNCH_FAILED {
		t.Fatalf("fetch failure: %v", st)
	}
	s.waitUpdate(m, "stubborn", mesos.TASK_STARTING, true)
	s.waitUpdate(m, "stubborn", mesos.TASK_RUNNING, true)
	s.mustCall(&scheduler.Call{Type: scheduler.Call_SHUTDOWN, Shutdown: &scheduler.Call_Shutdown{ExecutorID: stubborn.ExecutorID, AgentID: o.AgentID}})
	if st := s.waitUpdate(m, "stubborn", mesos.TASK_FAILED, true); st.GetReason() != mesos.REASON_EXECUTOR_TERMINATED {
		t.Fatalf("shutdown: %v", st)
	}
	f = s.waitFrom(m, 10*time.Second, func(e *scheduler.Event) bool {
		return e.Type == scheduler.Event_FAILURE && e.Failure.GetExecutorID().GetValue() == "stubborn"
	}).Failure
	if f.GetStatus() != 9 { // raw wait status of SIGKILL
		t.Fatalf("stubborn FAILURE status %d", f.GetStatus())
	}
	if _, err := c.WaitUntil(testCtx(t, 10*time.Second), func(st State) bool { return len(st.Frameworks[0].Executors) == 0 }); err != nil {
		t.Fatal("executors left in the master's books")
	}
}

// One executor per id and agent; MESSAGE both ways; the executor
// environment (config.FromEnv succeeded in both checkpoint modes, since
// the executor ran).
func TestExecutorReuseMessagesAndEnv(t *testing.T) {
	for _, checkpoint := range []bool{true, false} {
		t.Run(map[bool]string{true: "checkpoint", false: "no-checkpoint"}[checkpoint], func(t *testing.T) {
			c := startCluster(t, Config{AgentCount: 1})
			fi := frameworkInfo("reuse")
			fi.Checkpoint = proto.Bool(checkpoint)
			s := subscribe(t, c, fi, mediaJSON)
			o := s.waitOffers(0)[0]
			m := s.mark()
			ei := execInfo(t, "shared")
			ei.Command.Environment.Variables = append(ei.Command.Environment.Variables,
				mesos.Environment_Variable{Name: "MY_VAR", Value: proto.String("mine")})
			accept(s, o, opLaunch(taskInfo("a", o, ei, spec{}), taskInfo("b", o, ei, spec{})))
			for _, tid := range []string{"a", "b"} {
				s.waitUpdate(m, tid, mesos.TASK_STARTING, true)
				s.waitUpdate(m, tid, mesos.TASK_RUNNING, true)
			}
			agent := c.Agents()[0]
			if pids := agent.ExecutorPIDs(); len(pids) != 1 {
				t.Fatalf("want one executor process, got %v", pids)
			}
			launches := 0
			for _, e := range c.Events(0) {
				if e.Kind == TapExecutorEvent && e.Type == "LAUNCH" {
					launches++
				}
			}
			if launches != 2 {
				t.Fatalf("LAUNCH events %d", launches)
			}
			s.mustCall(&scheduler.Call{Type: scheduler.Call_MESSAGE, Message: &scheduler.Call_Message{AgentID: o.AgentID,
				ExecutorID: ei.ExecutorID, Data: []byte("ping")}})
			ev := s.waitFrom(m, 10*time.Second, func(e *scheduler.Event) bool { return e.Type == scheduler.Event_MESSAGE })
			if string(ev.Message.Data) != "echo:ping" {
				t.Fatalf("MESSAGE %q", ev.Message.Data)
			}
			sandbox := agent.Sandbox(s.fid, "shared")
			wantDir := filepath.Join(agent.WorkDir(), "slaves", agent.ID(), "frameworks", s.fid, "executors", "shared", "runs")
			if filepath.Dir(sandbox) != wantDir {
				t.Fatalf("sandbox %s not under %s", sandbox, wantDir)
			}
			if l, err := os.Readlink(filepath.Join(wantDir, "latest")); err != nil || l != filepath.Base(sandbox) {
				t.Fatalf("latest symlink %q %v", l, err)
			}
			if b, err := os.ReadFile(filepath.Join(sandbox, "stderr")); err != nil || !strings.Contains(string(b), "SUBSCRIBED") {
				t.Fatalf("stderr: %q %v", b, err)
			}
			var env []string
			b, err := os.ReadFile(filepath.Join(sandbox, "env.json"))
			if err != nil {
				t.Fatal(err)
			}
			_ = json.Unmarshal(b, &env)
			got := map[string]string{}
			for _, kv := range env {
				k, v, _ := strings.Cut(kv, "=")
				got[k] = v
			}
			want := map[string]string{
				"MESOS_FRAMEWORK_ID": s.fid, "MESOS_EXECUTOR_ID": "shared", "MESOS_DIRECTORY": sandbox, "MESOS_SANDBOX": sandbox,
				"MESOS_AGENT_ENDPOINT": agent.Endpoint(), "MESOS_SLAVE_ID": agent.ID(), "MESOS_SLAVE_PID": "slave(1)@" + agent.Endpoint(),
				"MESOS_HTTP_COMMAND_EXECUTOR": "0", "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD": "1secs", "LIBPROCESS_PORT": "0", "MY_VAR": "mine",
			}
			if checkpoint {
				want["MESOS_CHECKPOINT"], want["MESOS_RECOVERY_TIMEOUT"], want["MESOS_SUBSCRIPTION_BACKOFF_MAX"] = "1", "30secs", "2secs"
			} else {
				want["MESOS_CHECKPOINT"] = "0"
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s=%q, want %q", k, got[k], v)
				}
			}
			if !checkpoint {
				if _, ok := got["MESOS_RECOVERY_TIMEOUT"]; ok {
					t.Error("MESOS_RECOVERY_TIMEOUT set without checkpointing")
				}
			}
		})
	}
}

// Master-side validation: invalid offers and invalid tasks.
func TestAcceptValidation(t *testing.T) {
	c := startCluster(t, Config{AgentCount: 2})
	s := subscribe(t, c, frameworkInfo("validation"), mediaJSON)
	offers := s.waitOffers(0)
	o, o2 := offers[0], offers[1]
	ei := execInfo(t, "e1")
	m := s.mark()
	// Offers of two agents in one ACCEPT: TASK_LOST, REASON_INVALID_OFFERS.
	s.use(o2.ID.Value)
	s.mustCall(&scheduler.Call{Type: scheduler.Call_ACCEPT, Accept: &scheduler.Call_Accept{OfferIDs: []mesos.OfferID{o.ID, o2.ID},
		Operations: []mesos.Offer_Operation{opLaunch(taskInfo("two-agents", o, ei, spec{}))}}})
	st := s.waitUpdate(m, "two-agents", mesos.TASK_LOST, false)
	if st.GetReason() != mesos.REASON_INVALID_OFFERS || len(st.UUID) != 0 || st.GetSource() != mesos.SOURCE_MASTER {
		t.Fatalf("invalid offers: %v", st)
	}
	// The same offer again (it was discarded): invalid too.
	accept(s, o, opLaunch(taskInfo("reused", o, ei, spec{})))
	if st := s.waitUpdate(m, "reused", mesos.TASK_LOST, false); !strings.Contains(st.GetMessage(), "no longer valid") {
		t.Fatalf("reused offer: %v", st)
	}
	o = waitOfferWith(s, 0, func(mesos.Offer) bool { return true })
	both := taskInfo("both", o, ei, spec{})
	both.Command = &mesos.CommandInfo{Value: proto.String("true")}
	noRes := taskInfo("nores", o, ei, spec{})
	noRes.Resources = nil
	tooBig := taskInfo("toobig", o, ei, spec{}, scalar("cpus", 1000), scalar("mem", 64))
	badID := taskInfo("a/b", o, ei, spec{})
	wrongAgent := taskInfo("wrongagent", mesos.Offer{AgentID: mesos.AgentID{Value: "elsewhere"}}, ei, spec{})
	ok := taskInfo("ok", o, ei, spec{Action: "finish"})
	dup := taskInfo("ok", o, ei, spec{})
	accept(s, o, opLaunch(both, noRes, tooBig, badID, wrongAgent, ok, dup))
	for _, tid := range []string{"both", "nores", "toobig", "a/b", "wrongagent"} {
		st := s.waitUpdate(m, tid, mesos.TASK_ERROR, false)
		if st.GetReason() != mesos.REASON_TASK_INVALID || len(st.UUID) != 0 {
			t.Fatalf("%s: %v", tid, st)
		}
	}
	s.waitUpdate(m, "ok", mesos.TASK_ERROR, false) // the duplicate
	s.waitUpdate(m, "ok", mesos.TASK_STARTING, true)
	s.waitUpdate(m, "ok", mesos.TASK_RUNNING, true)
	s.waitUpdate(m, "ok", mesos.TASK_FINISHED, true)
}

// DECLINE filters, SUPPRESS and REVIVE.
func TestDeclineSuppressRevive(t *testing.T) {
	c := startCluster(t, Config{AgentCount: 1})
	s := subscribe(t, c, frameworkInfo("filters"), mediaJSON)
	o := s.waitOffers(0)[0]
	m := s.mark()
	s.use(o.ID.Value)
	s.mustCall(&scheduler.Call{Type: scheduler.Call_DECLINE, Decline: &scheduler.Call_Decline{OfferIDs: []mesos.OfferID{o.ID},
		Filters: &mesos.Filters{RefuseSeconds: proto.Float64(3600)}}})
	if _, err := c.WaitUntil(testCtx(t, 5*time.Second), func(st State) bool { return len(st.Frameworks[0].Offers) == 0 }); err != nil {
		t.Fatal(err)
	}
	// REVIVE clears the filter: an offer comes within a cycle.
	s.mustCall(&scheduler.Call{Type: scheduler.Call_REVIVE})
	o = s.waitOffers(m)[0]
	// SUPPRESS: after declining, no offer comes back, even with a short filter.
	s.mustCall(&scheduler.Call{Type: scheduler.Call_SUPPRESS})
	s.use(o.ID.Value)
	s.mustCall(&scheduler.Call{Type: scheduler.Call_DECLINE, Decline: &scheduler.Call_Decline{OfferIDs: []mesos.OfferID{o.ID},
		Filters: &mesos.Filters{RefuseSeconds: proto.Float64(0)}}})
	m = s.mark()
	// Several allocation cycles pass (the master's heartbeats mark time).
	s.waitFrom(m, 10*time.Second, func(e *scheduler.Event) bool { return e.Type == scheduler.Event_HEARTBEAT })
	for _, e := range s.eventsSince(m) {
		if e.Type == scheduler.Event_OFFERS {
			t.Fatalf("offer while suppressed")
		}
	}
	s.mustCall(&scheduler.Call{Type: scheduler.Call_REVIVE})
	s.waitOffers(m)
	// Unknown offer ids in DECLINE are ignored (202).
	s.mustCall(&scheduler.Call{Type: scheduler.Call_DECLINE, Decline: &scheduler.Call_Decline{OfferIDs: []mesos.OfferID{{Value: "nope"}}}})
}

// S-3.6: LAUNCH_GROUP delivers the group in one event to one executor.
func TestLaunchGroup(t *testing.T) {
	c := startCluster(t, Config{AgentCount: 1})
	s := subscribe(t, c, frameworkInfo("groups"), mediaProtobuf)
	o := s.waitOffers(0)[0]
	ei := execInfo(t, "grouped")
	a, b := taskInfo("g1", o, nil, spec{}), taskInfo("g2", o, nil, spec{})
	m := s.mark()
	accept(s, o, mesos.Offer_Operation{Type: mesos.Offer_Operation_LAUNCH_GROUP, LaunchGroup: &mesos.Offer_Operation_LaunchGroup{
		Executor: *ei, TaskGroup: mesos.TaskGroupInfo{Tasks: []mesos.TaskInfo{a, b}}}})
	for _, tid := range []string{"g1", "g2"} {
		s.waitUpdate(m, tid, mesos.TASK_STARTING, true)
		s.waitUpdate(m, tid, mesos.TASK_RUNNING, true)
	}
	groups := 0
	for _, e := range c.Events(0) {
		if e.Kind == TapExecutorEvent && e.Type == "LAUNCH_GROUP" {
			groups++
		}
	}
	if groups != 1 || len(c.Agents()[0].ExecutorPIDs()) != 1 {
		t.Fatalf("LAUNCH_GROUP events %d, executors %v", groups, c.Agents()[0].ExecutorPIDs())
	}
	// An invalid group (no executor type) fails as a whole.
	o = waitOfferWith(s, 0, func(mesos.Offer) bool { return true })
	bad := *execInfo(t, "untyped")
	bad.Type = mesos.ExecutorInfo_UNKNOWN
	accept(s, o, mesos.Offer_Operation{Type: mesos.Offer_Operation_LAUNCH_GROUP, LaunchGroup: &mesos.Offer_Operation_LaunchGroup{
		Executor: bad, TaskGroup: mesos.TaskGroupInfo{Tasks: []mesos.TaskInfo{taskInfo("x1", o, nil, spec{}), taskInfo("x2", o, nil, spec{})}}}})
	for _, tid := range []string{"x1", "x2"} {
		if st := s.waitUpdate(m, tid, mesos.TASK_ERROR, false); st.GetReason() != mesos.REASON_TASK_GROUP_INVALID {
			t.Fatalf("%s: %v", tid, st)
		}
	}
}

// S-7.2/1.12: a kill issued while the agent is disconnected is sent when it
// reregisters.
func TestKillWhileAgentDisconnected(t *testing.T) {
	cfg := Config{AgentCount: 1, Timers: fastTimers()}
	cfg.Timers.AgentReregisterTimeout = time.Minute
	cfg.Timers.ExecutorReregistrationTimeout = 3 * time.Second
	c := startCluster(t, cfg)
	s := subscribe(t, c, frameworkInfo("kill-later"), mediaJSON)
	runTask(t, s, "t1", execInfo(t, "e1"))
	agent := c.Agents()[0]
	if err := agent.Restart(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitUntil(testCtx(t, 10*time.Second), func(st State) bool { return !st.Agents[0].Connected }); err != nil {
		t.Fatal(err)
	}
	m := s.mark()
	s.mustCall(killCall("t1"))
	s.waitUpdate(m, "t1", mesos.TASK_KILLED, true)
}
