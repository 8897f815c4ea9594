package mesoslocal

import (
	"net/http"

	"github.com/gogo/protobuf/proto"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
)

// serveExecutor is the agent's /api/v1/executor, with the checks of
// Mesos's agent Http::executor.
func (a *agent) serveExecutor(w http.ResponseWriter, r *http.Request) {
	body, ok := readCall(w, r)
	if !ok {
		return
	}
	ct := r.Header.Get("Content-Type")
	var call executor.Call
	if derr := decodeCall(ct, body, &call); derr != nil {
		plainError(w, derr.status, derr.msg)
		return
	}
	typePresent := hasTopField(ct, body, "type", 3)
	if msg := validateExecutorCall(&call, typePresent); msg != "" {
		plainError(w, http.StatusBadRequest, "Failed to validate Executor::Call: "+msg)
		return
	}
	if call.Type == executor.Call_SUBSCRIBE {
		mt := negotiate(r.Header)
		if mt == "" {
			plainError(w, http.StatusNotAcceptable, "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'")
			return
		}
		a.subscribeExecutorHTTP(w, r, &call, mt)
		return
	}
	if call.Type == executor.Call_HEARTBEAT {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	a.mu.Lock()
	status, msg := a.executorCallLocked(&call)
	a.mu.Unlock()
	if status != http.StatusAccepted {
		plainError(w, status, msg)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// validateExecutorCall is Mesos's validation::executor::call::validate.
func validateExecutorCall(c *executor.Call, typePresent bool) string {
	if c.ExecutorID.Value == "" {
		return "Not initialized: executor_id"
	}
	if c.FrameworkID.Value == "" {
		return "Not initialized: framework_id"
	}
	if !typePresent {
		return "Expecting 'type' to be present"
	}
	switch c.Type {
	case executor.Call_SUBSCRIBE:
		if c.Subscribe == nil {
			return "Expecting 'subscribe' to be present"
		}
	case executor.Call_UPDATE:
		if c.Update == nil {
			return "Expecting 'update' to be present"
		}
		st := &c.Update.Status
		if len(st.UUID) == 0 {
			return "Expecting 'uuid' to be present"
		}
		if len(st.UUID) != 16 {
			return "Not a valid UUID"
		}
		if st.ExecutorID != nil && st.ExecutorID.Value != c.ExecutorID.Value {
			return "ExecutorID in Call: " + c.ExecutorID.Value + " does not match ExecutorID in TaskStatus: " + st.ExecutorID.Value
		}
		if st.GetSource() != mesos.SOURCE_EXECUTOR {
			return "Received Call from executor " + c.ExecutorID.Value + " of framework " + c.FrameworkID.Value +
				" with invalid source, expecting 'SOURCE_EXECUTOR'"
		}
		if st.GetState() == mesos.TASK_STAGING {
			return "Received TASK_STAGING from executor " + c.ExecutorID.Value + " of framework " + c.FrameworkID.Value +
				" which is not allowed"
		}
	case executor.Call_MESSAGE:
		if c.Message == nil {
			return "Expecting 'message' to be present"
		}
	case executor.Call_HEARTBEAT:
	default:
		return "Unknown call type"
	}
	return ""
}

// executorCallLocked runs UPDATE and MESSAGE calls; it returns 202 or the
// error answer.
func (a *agent) executorCallLocked(c *executor.Call) (int, string) {
	if a.run == agentRecovering {
		return http.StatusServiceUnavailable, "Agent has not finished recovery"
	}
	if a.run == agentDead {
		return http.StatusServiceUnavailable, "Agent is shutting down"
	}
	fw := a.frameworks[c.FrameworkID.Value]
	if fw == nil {
		return http.StatusBadRequest, "Framework cannot be found"
	}
	e := fw.executors[c.ExecutorID.Value]
	if e == nil {
		return http.StatusBadRequest, "Executor cannot be found"
	}
	if e.state == execLaunching || e.state == execRegistering {
		return http.StatusForbidden, "Executor is not subscribed"
	}
	a.c.tap.executorCall(a.id, c)
	switch c.Type {
	case executor.Call_UPDATE:
		a.executorUpdateLocked(e, c.Update.Status)
	case executor.Call_MESSAGE:
		if a.link != nil {
			a.link.sendToMaster(msgExecutorMessage{fid: e.fid, eid: e.id, data: c.Message.Data})
		}
	}
	a.notifyLocked()
	return http.StatusAccepted, ""
}

// subscribeExecutorHTTP runs an executor SUBSCRIBE: the stream gets
// SUBSCRIBED, acknowledgements of resent updates, then queued tasks.
func (a *agent) subscribeExecutorHTTP(w http.ResponseWriter, r *http.Request, c *executor.Call, mediaType string) {
	s := newEventStream(newUUID(), mediaType)
	a.mu.Lock()
	if a.run == agentDead {
		a.mu.Unlock()
		plainError(w, http.StatusServiceUnavailable, "Agent is shutting down")
		return
	}
	fw := a.frameworks[c.FrameworkID.Value]
	if fw == nil {
		a.mu.Unlock()
		plainError(w, http.StatusBadRequest, "Framework cannot be found")
		return
	}
	e := fw.executors[c.ExecutorID.Value]
	if e == nil {
		a.mu.Unlock()
		plainError(w, http.StatusBadRequest, "Executor cannot be found")
		return
	}
	a.c.tap.executorCall(a.id, c)
	if fw.removing || e.state >= execTerminating {
		ev := &executor.Event{Type: executor.Event_SHUTDOWN}
		s.send(ev)
		a.c.tap.executorEvent(e.fid, a.id, e.id, ev)
		s.close()
		a.mu.Unlock()
		s.serve(w, r, nil, nil, 0)
		return
	}
	a.subscribeExecutorLocked(fw, e, c.Subscribe, s)
	a.notifyLocked()
	a.mu.Unlock()
	gone := s.serve(w, r, nil, func() wireMessage { return &executor.Event{Type: executor.Event_HEARTBEAT} },
		a.c.cfg.Timers.ExecutorHeartbeat)
	if gone {
		a.mu.Lock()
		if e.stream == s {
			e.stream = nil
		}
		a.notifyLocked()
		a.mu.Unlock()
	}
}

func (a *agent) subscribeExecutorLocked(fw *agentFramework, e *executorRun, sub *executor.Call_Subscribe, s *eventStream) {
	if e.stream != nil {
		e.stream.close()
	}
	e.stream = s
	e.state = execRunning
	if e.regTimer != nil {
		e.regTimer.Stop()
	}
	info := mesos.AgentInfo{Hostname: a.spec.Hostname, Port: proto.Int32(int32(a.port)), Resources: a.total.Clone(),
		Attributes: a.attrs, ID: &mesos.AgentID{Value: a.id}}
	a.sendExecutorLocked(e, &executor.Event{Type: executor.Event_SUBSCRIBED, Subscribed: &executor.Event_Subscribed{
		ExecutorInfo: e.info, FrameworkInfo: fw.info, AgentInfo: info, ContainerID: &mesos.ContainerID{Value: e.containerID}}})
	unackedTasks := map[string]bool{}
	for _, ti := range sub.UnacknowledgedTasks {
		unackedTasks[ti.TaskID.Value] = true
	}
	for _, u := range sub.UnacknowledgedUpdates {
		a.executorUpdateLocked(e, u.Status)
	}
	pa := false
	for _, c := range fw.info.Capabilities {
		if c.Type == mesos.FrameworkInfo_Capability_PARTITION_AWARE {
			pa = true
		}
	}
	delivered := false
	for _, tid := range sortedIDs(e.tasks) {
		t := e.tasks[tid]
		if !t.delivered {
			continue
		}
		delivered = true
		if t.state == mesos.TASK_STAGING && !unackedTasks[tid] {
			state := mesos.TASK_LOST
			if pa {
				state = mesos.TASK_DROPPED
			}
			t.state = state
			a.agentUpdateLocked(e.fid, tid, e.id, state, mesos.REASON_AGENT_RESTARTED, "Task was not reported by the executor after the agent restarted")
		}
	}
	queued := false
	for _, q := range e.queued {
		if len(q.tasks) > 0 {
			queued = true
		}
	}
	if !delivered && !queued && !e.launchedAny {
		a.shutdownExecutorLocked(e)
		return
	}
	a.deliverQueuedLocked(e)
	for _, tid := range sortedIDs(e.pendingKills) {
		if t := e.tasks[tid]; t != nil && !isTerminal(t.state) {
			a.sendExecutorLocked(e, &executor.Event{Type: executor.Event_KILL,
				Kill: &executor.Event_Kill{TaskID: mesos.TaskID{Value: tid}, KillPolicy: e.pendingKills[tid]}})
		}
	}
	e.pendingKills = map[string]*mesos.KillPolicy{}
}
