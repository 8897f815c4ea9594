package mesoslocal

import (
	"bytes"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
)

// updateStream is the agent status update manager's stream of one task: a
// FIFO of updates of which only the head is forwarded, retried with
// exponential backoff until the scheduler acknowledges it.
type updateStream struct {
	pending []mesos.TaskStatus
	seen    map[string]bool // every uuid received (acked or pending)
	latest  mesos.TaskState
	timer   *time.Timer
	backoff time.Duration
}

func (s *updateStream) stopTimer() {
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
}

// statusUpdateLocked stores an update in its task's stream (duplicates are
// ignored) and forwards it when it is the head. It reports whether the
// update was new.
func (a *agent) statusUpdateLocked(fid string, st mesos.TaskStatus) bool {
	tid := st.TaskID.Value
	if a.updates[fid] == nil {
		a.updates[fid] = map[string]*updateStream{}
	}
	s := a.updates[fid][tid]
	if s == nil {
		s = &updateStream{seen: map[string]bool{}}
		a.updates[fid][tid] = s
	}
	key := string(st.UUID)
	if s.seen[key] {
		return false
	}
	s.seen[key] = true
	s.pending = append(s.pending, st)
	s.latest = st.GetState()
	if fw := a.frameworks[fid]; fw != nil {
		for _, e := range fw.executors {
			if t := e.tasks[tid]; t != nil {
				t.state = st.GetState()
			}
		}
	}
	if len(s.pending) == 1 {
		s.backoff = a.c.cfg.Timers.StatusUpdateRetryMin
		a.forwardLocked(fid, s)
	}
	return true
}

// forwardLocked sends the head update to the master (with latest_state) and
// arms the retry timer.
func (a *agent) forwardLocked(fid string, s *updateStream) {
	if len(s.pending) == 0 {
		return
	}
	head := s.pending[0]
	if head.AgentID == nil && a.id != "" {
		head.AgentID = &mesos.AgentID{Value: a.id}
		s.pending[0] = head
	}
	if a.registered && a.link != nil && a.run == agentRunning {
		a.link.sendToMaster(msgStatusUpdate{fid: fid, status: head, latestState: s.latest})
	}
	s.stopTimer()
	epoch, uuid, d := a.epoch, head.UUID, s.backoff
	s.timer = time.AfterFunc(d, func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.epoch != epoch || len(s.pending) == 0 || !bytes.Equal(s.pending[0].UUID, uuid) || a.updates[fid] == nil {
			return
		}
		s.backoff *= 2
		if max := a.c.cfg.Timers.StatusUpdateRetryMax; s.backoff > max {
			s.backoff = max
		}
		a.forwardLocked(fid, s)
	})
}

// ackUpdateLocked pops the head of a stream when the scheduler acknowledged
// it, then forwards the next update; a stream whose terminal update is
// acknowledged ends, and so does the agent's book of the task.
func (a *agent) ackUpdateLocked(fid, tid string, uuid []byte) {
	s := a.updates[fid][tid]
	if s == nil || len(s.pending) == 0 || !bytes.Equal(s.pending[0].UUID, uuid) {
		return
	}
	acked := s.pending[0]
	s.pending = s.pending[1:]
	s.stopTimer()
	if len(s.pending) > 0 {
		s.backoff = a.c.cfg.Timers.StatusUpdateRetryMin
		a.forwardLocked(fid, s)
		return
	}
	if isTerminal(acked.GetState()) {
		delete(a.updates[fid], tid)
		if len(a.updates[fid]) == 0 {
			delete(a.updates, fid)
		}
		if fw := a.frameworks[fid]; fw != nil {
			for _, e := range fw.executors {
				if t := e.tasks[tid]; t != nil && isTerminal(t.state) {
					delete(e.tasks, tid)
				}
			}
		}
	}
}

// flushUpdatesLocked resends the head of every stream of a framework (all
// frameworks for "") at once, with the retry backoff reset.
func (a *agent) flushUpdatesLocked(fid string) {
	for f, ss := range a.updates {
		if fid != "" && f != fid {
			continue
		}
		for _, tid := range sortedIDs(ss) {
			s := ss[tid]
			if len(s.pending) > 0 {
				s.backoff = a.c.cfg.Timers.StatusUpdateRetryMin
				a.forwardLocked(f, s)
			}
		}
	}
}

// executorUpdateLocked handles an executor's UPDATE call: the update is
// stamped, stored, and the executor gets ACKNOWLEDGED (the agent has it).
func (a *agent) executorUpdateLocked(e *executorRun, st mesos.TaskStatus) {
	if st.AgentID == nil && a.id != "" {
		st.AgentID = &mesos.AgentID{Value: a.id}
	}
	st.ExecutorID = &mesos.ExecutorID{Value: e.id}
	st.Source = mesos.SOURCE_EXECUTOR.Enum()
	if st.Timestamp == nil {
		ts := nowSeconds()
		st.Timestamp = &ts
	}
	if t := e.tasks[st.TaskID.Value]; t != nil {
		t.delivered = true
	}
	a.statusUpdateLocked(e.fid, st)
	a.sendExecutorLocked(e, &executor.Event{Type: executor.Event_ACKNOWLEDGED,
		Acknowledged: &executor.Event_Acknowledged{TaskID: st.TaskID, UUID: st.UUID}})
}
