package mesoslocal

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/gogo/protobuf/proto"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

func isUpdateOf(tid string, state mesos.TaskState) func(*scheduler.Event) bool {
	return func(e *scheduler.Event) bool {
		return e.Type == scheduler.Event_UPDATE && e.Update.Status.TaskID.Value == tid && e.Update.Status.GetState() == state
	}
}

// runTask launches a task that runs until killed on the first offer of a
// fresh framework and acks its way to RUNNING; it returns the agent id.
func runTask(t *testing.T, s *sched, tid string, ei *mesos.ExecutorInfo) string {
	t.Helper()
	o := s.waitOffers(0)[0]
	m := s.mark()
	launch(s, o, taskInfo(tid, o, ei, spec{}))
	s.waitUpdate(m, tid, mesos.TASK_STARTING, true)
	s.waitUpdate(m, tid, mesos.TASK_RUNNING, true)
	return o.AgentID.Value
}

// T-4: scheduler failover within failover_timeout.
func TestSchedulerFailover(t *testing.T) {
	c := startCluster(t, Config{AgentCount: 1})
	fi := frameworkInfo("failover")
	s := subscribe(t, c, fi, mediaJSON)
	o := s.waitOffers(0)[0]
	m := s.mark()
	launch(s, o, taskInfo("t1", o, execInfo(t, "e1"), spec{}))
	s.waitUpdate(m, "t1", mesos.TASK_STARTING, true)
	// RUNNING stays unacknowledged across the failover.
	running := s.waitUpdate(m, "t1", mesos.TASK_RUNNING, false)
	oldStream := s.streamID
	s.close()
	if _, err := c.WaitUntil(testCtx(t, 10*time.Second), func(st State) bool {
		fw, ok := st.Framework(s.fid)
		return ok && !fw.Connected
	}); err != nil {
		t.Fatal(err)
	}
	// Calls of a disconnected framework get 403.
	s2 := &sched{t: t, url: s.url, media: s.media, fid: s.fid, streamID: oldStream}
	if code, body := s2.call(&scheduler.Call{Type: scheduler.Call_REVIVE}); code != http.StatusForbidden || body != "Framework is not subscribed" {
		t.Fatalf("call while disconnected: %d %q", code, body)
	}
	// Updates are dropped while disconnected; the agent keeps retrying.
	seq := c.Events(0)
	after := seq[len(seq)-1].Seq
	if _, err := c.WaitForEvent(testCtx(t, 10*time.Second), after, func(e TapEvent) bool {
		return e.Kind == TapSchedulerEvent && e.Type == "UPDATE" && e.TaskID == "t1" && !e.Delivered
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitForTaskState(testCtx(t, 5*time.Second), "t1", mesos.TASK_RUNNING); err != nil {
		t.Fatal(err)
	}
	// Resubscribe with the same id: same framework, new stream, the pending
	// update is flushed at once.
	fi.ID = &mesos.FrameworkID{Value: s.fid}
	r := subscribe(t, c, fi, mediaProtobuf)
	if r.fid != s.fid || r.streamID == oldStream {
		t.Fatalf("resubscribe: id %s (want %s), stream %s (old %s)", r.fid, s.fid, r.streamID, oldStream)
	}
	again := r.waitUpdate(0, "t1", mesos.TASK_RUNNING, false)
	if !bytes.Equal(again.UUID, running.UUID) {
		t.Fatal("flushed update has another uuid")
	}
	r.ack(again)
	m = r.mark()
	r.mustCall(&scheduler.Call{Type: scheduler.Call_RECONCILE, Reconcile: &scheduler.Call_Reconcile{
		Tasks: []scheduler.Call_Reconcile_Task{{TaskID: mesos.TaskID{Value: "t1"}}}}})
	if st := r.waitUpdate(m, "t1", mesos.TASK_RUNNING, false); st.GetReason() != mesos.REASON_RECONCILIATION {
		t.Fatalf("reconcile %v", st)
	}
	// A second subscription with the same id fails the first over.
	r2 := subscribe(t, c, fi, mediaJSON)
	ev := r.waitFor(10*time.Second, func(e *scheduler.Event) bool { return e.Type == scheduler.Event_ERROR })
	if ev.Error.Message != "Framework failed over" || !r.streamEnded(10*time.Second) {
		t.Fatalf("old stream: %v", ev)
	}
	// TEARDOWN: 202, stream closed, task killed in the master's books.
	r2.mustCall(&scheduler.Call{Type: scheduler.Call_TEARDOWN})
	if !r2.streamEnded(10 * time.Second) {
		t.Fatal("stream not closed after TEARDOWN")
	}
	st, err := c.WaitUntil(testCtx(t, 10*time.Second), func(st State) bool { return len(st.Frameworks) == 0 && len(st.CompletedFrameworks) == 1 })
	if err != nil {
		t.Fatal(err)
	}
	if ts := st.CompletedFrameworks[0].CompletedTasks; len(ts) != 1 || ts[0].State != mesos.TASK_KILLED {
		t.Fatalf("completed tasks %v", ts)
	}
	if _, err := c.WaitUntil(testCtx(t, 10*time.Second), func(State) bool { return len(c.Agents()[0].ExecutorPIDs()) == 0 }); err != nil {
		t.Fatal("executor still running after TEARDOWN")
	}
}

// T-4: the failover timeout expires.
func TestFailoverTimeoutRemovesFramework(t *testing.T) {
	c := startCluster(t, Config{AgentCount: 1})
	fi := frameworkInfo("short-lived")
	fi.FailoverTimeout = proto.Float64(0.3)
	s := subscribe(t, c, fi, mediaJSON)
	runTask(t, s, "t1", execInfo(t, "e1"))
	s.close()
	st, err := c.WaitUntil(testCtx(t, 10*time.Second), func(st State) bool { return len(st.CompletedFrameworks) == 1 })
	if err != nil {
		t.Fatal(err)
	}
	if ts := st.CompletedFrameworks[0].CompletedTasks; len(ts) != 1 || ts[0].State != mesos.TASK_KILLED {
		t.Fatalf("completed tasks %v", ts)
	}
	if _, err := c.WaitForEvent(testCtx(t, 10*time.Second), 0, func(e TapEvent) bool {
		return e.Kind == TapExecutorEvent && e.Type == "SHUTDOWN" && e.ExecutorID == "e1"
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitUntil(testCtx(t, 10*time.Second), func(State) bool { return len(c.Agents()[0].ExecutorPIDs()) == 0 }); err != nil {
		t.Fatal("executor still running")
	}
	fi.ID = &mesos.FrameworkID{Value: s.fid}
	again, err := trySubscribe(c, fi, mediaJSON)
	if err != nil {
		t.Fatal(err)
	}
	again.t = t
	defer again.close()
	ev := again.waitFor(10*time.Second, func(e *scheduler.Event) bool { return true })
	if ev.Type != scheduler.Event_ERROR || ev.Error.Message != "Framework has been removed" || !again.streamEnded(10*time.Second) {
		t.Fatalf("resubscribe after removal: %v", ev)
	}
	again.fid = s.fid
	if code, body := again.call(&scheduler.Call{Type: scheduler.Call_REVIVE}); code != 400 || body != "Framework cannot be found" {
		t.Fatalf("call after removal: %d %q", code, body)
	}
	// A zero failover timeout removes the framework at the first disconnect.
	fi0 := frameworkInfo("zero")
	fi0.FailoverTimeout = proto.Float64(0)
	z := subscribe(t, c, fi0, mediaJSON)
	z.close()
	if _, err := c.WaitUntil(testCtx(t, 10*time.Second), func(st State) bool { return len(st.CompletedFrameworks) == 2 }); err != nil {
		t.Fatal(err)
	}
}

// A refused FrameworkInfo gets 200, one ERROR event, and a closed stream.
func TestSubscribeRefused(t *testing.T) {
	c := startCluster(t, Config{AgentCount: 1})
	for name, mod := range map[string]func(*mesos.FrameworkInfo){
		"bad role":      func(fi *mesos.FrameworkInfo) { fi.Role = proto.String("a b") },
		"roles without": func(fi *mesos.FrameworkInfo) { fi.Roles = []string{"x"} },
		"bad failover":  func(fi *mesos.FrameworkInfo) { fi.FailoverTimeout = proto.Float64(-1) },
		"role and multi": func(fi *mesos.FrameworkInfo) {
			fi.Capabilities = append(fi.Capabilities, mesos.FrameworkInfo_Capability{Type: mesos.FrameworkInfo_Capability_MULTI_ROLE})
		},
	} {
		t.Run(name, func(t *testing.T) {
			fi := frameworkInfo("refused")
			mod(&fi)
			s, err := trySubscribe(c, fi, mediaJSON)
			if err != nil {
				t.Fatal(err)
			}
			s.t = t
			defer s.close()
			if ev := s.waitFor(10*time.Second, func(*scheduler.Event) bool { return true }); ev.Type != scheduler.Event_ERROR || !s.streamEnded(10*time.Second) {
				t.Fatalf("got %v", ev)
			}
		})
	}
}
