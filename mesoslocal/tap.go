package mesoslocal

import (
	"context"
	"fmt"
	"sync"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// TapKind says what a TapEvent records.
type TapKind string

// Kinds of TapEvent.
const (
	TapSchedulerEvent TapKind = "scheduler-event" // an event queued to a framework (Delivered false: no subscription)
	TapSchedulerCall  TapKind = "scheduler-call"  // a call accepted on /api/v1/scheduler
	TapExecutorEvent  TapKind = "executor-event"  // an event queued to an executor
	TapExecutorCall   TapKind = "executor-call"   // a call accepted on /api/v1/executor
)

// TapEvent is one observed protocol event or call.
type TapEvent struct {
	Seq         int64
	Time        time.Time
	Kind        TapKind
	Type        string // event or call type name, e.g. "UPDATE", "ACKNOWLEDGE"
	FrameworkID string
	AgentID     string
	ExecutorID  string
	TaskID      string
	State       string // task state of UPDATE events and calls
	Reason      string // reason of UPDATE events and calls
	HasUUID     bool   // the update carries a uuid (a reliable update)
	UUID        []byte
	Delivered   bool   // for scheduler events: a subscription took it
	Message     string // ERROR event message
}

// tap records every event and call for tests (kept: the newest 200000).
type tap struct {
	mu      sync.Mutex
	events  []TapEvent
	seq     int64
	changed chan struct{}
}

const tapLimit = 200000

func newTap() *tap { return &tap{changed: make(chan struct{})} }

func (t *tap) add(e TapEvent) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seq++
	e.Seq = t.seq
	e.Time = time.Now()
	t.events = append(t.events, e)
	if len(t.events) > tapLimit {
		t.events = append([]TapEvent(nil), t.events[len(t.events)-tapLimit/2:]...)
	}
	close(t.changed)
	t.changed = make(chan struct{})
}

func statusFields(e *TapEvent, st *mesos.TaskStatus) {
	e.TaskID = st.TaskID.Value
	e.State = st.GetState().String()
	if st.Reason != nil {
		e.Reason = st.GetReason().String()
	}
	e.HasUUID = len(st.UUID) > 0
	e.UUID = append([]byte(nil), st.UUID...)
	e.AgentID = st.GetAgentID().GetValue()
	e.ExecutorID = st.GetExecutorID().GetValue()
}

func (t *tap) schedulerEvent(fid string, ev *scheduler.Event, delivered bool) {
	e := TapEvent{Kind: TapSchedulerEvent, Type: ev.Type.String(), FrameworkID: fid, Delivered: delivered}
	switch ev.Type {
	case scheduler.Event_UPDATE:
		statusFields(&e, &ev.Update.Status)
	case scheduler.Event_FAILURE:
		e.AgentID = ev.Failure.GetAgentID().GetValue()
		e.ExecutorID = ev.Failure.GetExecutorID().GetValue()
	case scheduler.Event_ERROR:
		e.Message = ev.Error.Message
	case scheduler.Event_MESSAGE:
		e.AgentID, e.ExecutorID = ev.Message.AgentID.Value, ev.Message.ExecutorID.Value
	}
	t.add(e)
}

func (t *tap) schedulerCall(c *scheduler.Call) {
	e := TapEvent{Kind: TapSchedulerCall, Type: c.Type.String(), FrameworkID: c.GetFrameworkID().GetValue()}
	if c.Type == scheduler.Call_ACKNOWLEDGE && c.Acknowledge != nil {
		e.TaskID, e.AgentID = c.Acknowledge.TaskID.Value, c.Acknowledge.AgentID.Value
		e.UUID, e.HasUUID = c.Acknowledge.UUID, true
	}
	if c.Type == scheduler.Call_KILL && c.Kill != nil {
		e.TaskID = c.Kill.TaskID.Value
	}
	t.add(e)
}

func (t *tap) executorEvent(fid, aid, eid string, ev *executor.Event) {
	e := TapEvent{Kind: TapExecutorEvent, Type: ev.Type.String(), FrameworkID: fid, AgentID: aid, ExecutorID: eid, Delivered: true}
	switch ev.Type {
	case executor.Event_LAUNCH:
		e.TaskID = ev.Launch.Task.TaskID.Value
	case executor.Event_KILL:
		e.TaskID = ev.Kill.TaskID.Value
	case executor.Event_ACKNOWLEDGED:
		e.TaskID = ev.Acknowledged.TaskID.Value
		e.UUID, e.HasUUID = ev.Acknowledged.UUID, true
	}
	t.add(e)
}

func (t *tap) executorCall(aid string, c *executor.Call) {
	e := TapEvent{Kind: TapExecutorCall, Type: c.Type.String(), FrameworkID: c.FrameworkID.Value, AgentID: aid, ExecutorID: c.ExecutorID.Value}
	if c.Type == executor.Call_UPDATE && c.Update != nil {
		statusFields(&e, &c.Update.Status)
		e.AgentID = aid
		e.ExecutorID = c.ExecutorID.Value
	}
	t.add(e)
}

// snapshot returns the recorded events with Seq > after.
func (t *tap) snapshot(after int64) ([]TapEvent, chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := len(t.events)
	for i > 0 && t.events[i-1].Seq > after {
		i--
	}
	return append([]TapEvent(nil), t.events[i:]...), t.changed
}

// waitFor blocks until an event with Seq > after satisfies pred.
func (t *tap) waitFor(ctx context.Context, after int64, pred func(TapEvent) bool) (TapEvent, error) {
	for {
		evs, ch := t.snapshot(after)
		for _, e := range evs {
			if pred(e) {
				return e, nil
			}
			after = e.Seq
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return TapEvent{}, fmt.Errorf("waiting for event: %w", ctx.Err())
		}
	}
}
