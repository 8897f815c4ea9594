package mesoslocal

import (
	"bytes"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// T-3: reliable status updates.
func TestStatusUpdateReliability(t *testing.T) {
	c := startCluster(t, Config{AgentCount: 1})
	s := subscribe(t, c, frameworkInfo("reliable"), mediaProtobuf)
	o := s.waitOffers(0)[0]
	m := s.mark()
	launch(s, o, taskInfo("t1", o, execInfo(t, "e1"), spec{}))
	isUpdate := func(state mesos.TaskState) func(*scheduler.Event) bool {
		return func(e *scheduler.Event) bool {
			return e.Type == scheduler.Event_UPDATE && e.Update.Status.TaskID.Value == "t1" && e.Update.Status.GetState() == state
		}
	}
	first := s.waitFrom(m, 20*time.Second, isUpdate(mesos.TASK_STARTING)).Update.Status
	if len(first.UUID) != 16 || first.AgentID == nil || first.ExecutorID == nil || first.Timestamp == nil {
		t.Fatalf("reliable update lacks fields: %v", first)
	}
	// Withheld ack: the same uuid comes again after the retry interval.
	again := s.waitFrom(s.mark(), 10*time.Second, isUpdate(mesos.TASK_STARTING)).Update.Status
	if !bytes.Equal(first.UUID, again.UUID) {
		t.Fatalf("redelivered uuid differs")
	}
	// The executor got ACKNOWLEDGED for both of its updates although the
	// scheduler acknowledged nothing yet.
	acked := 0
	for _, e := range c.Events(0) {
		if e.Kind == TapExecutorEvent && e.Type == "ACKNOWLEDGED" && e.TaskID == "t1" {
			acked++
		}
	}
	if acked < 2 {
		t.Fatalf("executor got %d ACKNOWLEDGED, want 2", acked)
	}
	// FIFO: RUNNING was not forwarded while STARTING is unacknowledged.
	for _, e := range s.eventsSince(m) {
		if isUpdate(mesos.TASK_RUNNING)(e) {
			t.Fatalf("RUNNING forwarded before STARTING was acknowledged")
		}
	}
	m2 := s.mark()
	s.ack(first)
	running := s.waitFrom(m2, 10*time.Second, isUpdate(mesos.TASK_RUNNING)).Update.Status
	s.ack(running)
	if err := c.WaitForTaskState(testCtx(t, 10*time.Second), "t1", mesos.TASK_RUNNING); err != nil {
		t.Fatal(err)
	}
	// Master-generated updates carry no uuid and are never retried.
	m3 := s.mark()
	s.mustCall(&scheduler.Call{Type: scheduler.Call_RECONCILE, Reconcile: &scheduler.Call_Reconcile{}})
	rec := s.waitFrom(m3, 10*time.Second, isUpdate(mesos.TASK_RUNNING)).Update.Status
	if len(rec.UUID) != 0 || rec.GetReason() != mesos.REASON_RECONCILIATION || rec.GetSource() != mesos.SOURCE_MASTER {
		t.Fatalf("reconciliation update %v", rec)
	}
	// Wait for several retry intervals: a marker event (a second reconcile)
	// bounds the window without sleeping.
	deadline := time.Now().Add(4 * c.cfg.Timers.StatusUpdateRetryMin)
	for time.Now().Before(deadline) {
		s.waitFrom(s.mark(), 5*time.Second, func(e *scheduler.Event) bool {
			return e.Type == scheduler.Event_HEARTBEAT || e.Type == scheduler.Event_OFFERS
		})
	}
	n := 0
	for _, e := range s.eventsSince(m3) {
		if isUpdate(mesos.TASK_RUNNING)(e) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("uuid-less update seen %d times, want once", n)
	}
}
