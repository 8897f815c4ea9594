package mesoslocal

import (
	"sort"
	"time"

	"github.com/gogo/protobuf/proto"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// Agents joining and leaving the master: registration and reregistration,
// disconnection, unreachability (missed pings), and the operator's mark
// gone.

// registerAgentLocked handles a registration or reregistration.
func (m *master) registerAgentLocked(r msgRegister) {
	if r.agentID != "" && m.gone[r.agentID] {
		r.link.sendToAgent(msgShutdownAgent{})
		return
	}
	now := time.Now()
	if r.agentID == "" {
		id := agentIDFor(m.id, m.nextAgent)
		m.nextAgent++
		a := m.newAgentEntryLocked(id, r, now)
		m.agents[id] = a
		m.log.Info("agent registered", "agent", r.name, "id", id, "hostname", r.info.Hostname)
		r.link.sendToAgent(msgRegistered{agentID: id})
		m.requestAllocationLocked()
		return
	}
	if a, ok := m.agents[r.agentID]; ok {
		// A known agent (disconnected or restarted) comes back.
		if a.discTimer != nil {
			a.discTimer.Stop()
			a.discTimer = nil
		}
		if a.link != r.link {
			m.rescindAgentOffersLocked(a)
			if a.link.getMode() != linkSevered {
				a.link.sever()
			}
		}
		a.link, a.connected, a.rereg, a.lastPong = r.link, true, now, now
		a.info.Resources, a.info.Attributes = r.info.Resources, r.info.Attributes
		a.total = sumResources(r.info.Resources...)
		m.reconcileKnownAgentLocked(a, r)
		m.log.Info("agent reregistered", "agent", r.name, "id", a.id)
	} else {
		// Unreachable (or unknown) agent: re-add it and its tasks.
		delete(m.unreachable, r.agentID)
		a := m.newAgentEntryLocked(r.agentID, r, now)
		a.rereg = now
		m.agents[r.agentID] = a
		m.readdTasksLocked(a, r)
		m.log.Info("unreachable agent reregistered", "agent", r.name, "id", a.id)
	}
	a := m.agents[r.agentID]
	r.link.sendToAgent(msgRegistered{agentID: a.id})
	for _, info := range r.frameworks {
		fid := info.GetID().GetValue()
		if m.removed[fid] {
			r.link.sendToAgent(msgShutdownFramework{fid: fid})
		} else if fw := m.frameworks[fid]; fw != nil {
			r.link.sendToAgent(msgUpdateFramework{info: fw.info})
		}
	}
	for fid, kills := range a.kills {
		for tid, kp := range kills {
			r.link.sendToAgent(msgKillTask{fid: fid, tid: tid, killPolicy: kp})
		}
	}
	a.kills = map[string]map[string]*mesos.KillPolicy{}
	m.requestAllocationLocked()
}

func (m *master) newAgentEntryLocked(id string, r msgRegister, now time.Time) *agentEntry {
	info := r.info
	info.ID = &mesos.AgentID{Value: id}
	return &agentEntry{
		id: id, name: r.name, ip: r.ip, info: info, total: sumResources(r.info.Resources...), link: r.link,
		connected: true, registered: now, lastPong: now,
		executors: map[string]map[string]mesos.ExecutorInfo{}, tasks: map[string]map[string]*task{},
		kills: map[string]map[string]*mesos.KillPolicy{},
	}
}

// reconcileKnownAgentLocked brings the books of a reregistering known agent
// in line with its report.
func (m *master) reconcileKnownAgentLocked(a *agentEntry, r msgRegister) {
	reported := map[string]map[string]reportedTask{}
	for _, t := range r.tasks {
		if reported[t.fid] == nil {
			reported[t.fid] = map[string]reportedTask{}
		}
		reported[t.fid][t.info.TaskID.Value] = t
	}
	for fid, ts := range a.tasks {
		var missing []string
		for tid := range ts {
			if _, ok := reported[fid][tid]; !ok {
				missing = append(missing, tid)
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			pa := m.frameworks[fid] != nil && m.frameworks[fid].partitionAware()
			r.link.sendToAgent(msgReconcileTasks{fid: fid, tids: missing, partitionAware: pa})
		}
	}
	for _, rt := range r.tasks {
		fw := m.frameworks[rt.fid]
		if fw == nil || a.tasks[rt.fid][rt.info.TaskID.Value] != nil {
			continue
		}
		m.addReportedTaskLocked(a, fw, rt)
	}
	a.executors = map[string]map[string]mesos.ExecutorInfo{}
	for _, e := range r.executors {
		if m.frameworks[e.fid] != nil {
			m.addExecutorLocked(a, e.fid, e.info)
		}
	}
}

// readdTasksLocked re-adds the tasks of an agent coming back from
// unreachable and tells their frameworks (REASON_AGENT_REREGISTERED).
func (m *master) readdTasksLocked(a *agentEntry, r msgRegister) {
	for _, e := range r.executors {
		if m.frameworks[e.fid] != nil {
			m.addExecutorLocked(a, e.fid, e.info)
		}
	}
	for _, rt := range r.tasks {
		fw := m.frameworks[rt.fid]
		if fw == nil {
			continue
		}
		t := m.addReportedTaskLocked(a, fw, rt)
		st := m.masterStatus(t, t.state, mesos.REASON_AGENT_REREGISTERED, "Agent reregistered")
		m.sendUpdateLocked(fw, st)
	}
}

func (m *master) addReportedTaskLocked(a *agentEntry, fw *framework, rt reportedTask) *task {
	tid := rt.info.TaskID.Value
	t := fw.unreachableTasks[tid]
	delete(fw.unreachableTasks, tid)
	if t == nil {
		t = &task{info: rt.info, fid: fw.id, agentID: a.id, executorID: rt.executorID,
			resources: toInternalAll(rt.info.Resources), role: fw.primaryRole()}
	}
	t.state = rt.state
	t.released = isTerminal(rt.state)
	t.unreachableTime = nil
	t.agentID = a.id
	t.statuses = append(t.statuses, mesos.TaskStatus{TaskID: t.info.TaskID, State: rt.state.Enum(), Timestamp: proto.Float64(nowSeconds())})
	fw.tasks[tid] = t
	if a.tasks[fw.id] == nil {
		a.tasks[fw.id] = map[string]*task{}
	}
	a.tasks[fw.id][tid] = t
	return t
}

// agentDisconnectedLocked handles a link closed with notice: the agent
// process died or restarts.
func (m *master) agentDisconnectedLocked(a *agentEntry) {
	if !a.connected {
		return
	}
	a.connected = false
	m.log.Info("agent disconnected", "agent", a.name, "id", a.id)
	m.rescindAgentOffersLocked(a)
	for fid, ts := range a.tasks {
		fw := m.frameworks[fid]
		if fw == nil || fw.info.GetCheckpoint() {
			continue
		}
		for _, t := range sortedTasks(ts) {
			if isTerminal(t.state) {
				continue
			}
			st := m.masterStatus(t, mesos.TASK_LOST, mesos.REASON_AGENT_DISCONNECTED, "Agent disconnected")
			m.updateTaskLocked(t, st.GetState(), st)
			m.removeTaskLocked(fw, t)
			m.sendUpdateLocked(fw, st)
		}
		delete(a.executors, fid)
	}
	id := a.id
	a.discTimer = time.AfterFunc(m.cfg.Timers.AgentReregisterTimeout, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if cur := m.agents[id]; cur == a && !a.connected && !m.closed {
			m.markUnreachableLocked(a, "agent did not reregister in time")
			m.notifyLocked()
		}
	})
}

// markUnreachableLocked removes an agent that stopped answering: its tasks
// become TASK_UNREACHABLE (TASK_LOST for frameworks that are not
// PARTITION_AWARE), its offers are rescinded, frameworks get FAILURE.
func (m *master) markUnreachableLocked(a *agentEntry, why string) {
	m.log.Info("agent unreachable", "agent", a.name, "id", a.id, "why", why)
	now := time.Now()
	ut := &mesos.TimeInfo{Nanoseconds: now.UnixNano()}
	m.rescindAgentOffersLocked(a)
	fids := make([]string, 0, len(a.tasks))
	for fid := range a.tasks {
		fids = append(fids, fid)
	}
	sort.Strings(fids)
	for _, fid := range fids {
		fw := m.frameworks[fid]
		for _, t := range sortedTasks(a.tasks[fid]) {
			if fw == nil {
				continue
			}
			if isTerminal(t.state) {
				m.removeTaskLocked(fw, t)
				continue
			}
			state := mesos.TASK_UNREACHABLE
			if !fw.partitionAware() {
				state = mesos.TASK_LOST
			}
			st := m.masterStatus(t, state, mesos.REASON_AGENT_REMOVED, "Agent "+a.id+" is unreachable: "+why)
			st.UnreachableTime = ut
			m.updateTaskLocked(t, mesos.TASK_UNREACHABLE, st)
			t.unreachableTime = ut
			delete(fw.tasks, t.info.TaskID.Value)
			fw.unreachableTasks[t.info.TaskID.Value] = t
			m.sendUpdateLocked(fw, st)
		}
	}
	if a.discTimer != nil {
		a.discTimer.Stop()
	}
	delete(m.agents, a.id)
	m.unreachable[a.id] = &unreachableAgent{id: a.id, name: a.name, since: now}
	for _, fw := range m.frameworks {
		m.sendLocked(fw, &scheduler.Event{Type: scheduler.Event_FAILURE,
			Failure: &scheduler.Event_Failure{AgentID: &mesos.AgentID{Value: a.id}}})
	}
	if a.link.getMode() == linkPartitioned {
		// The agent keeps its link; it reregisters when the partition heals.
		return
	}
}

// markGoneLocked is the operator's MARK_AGENT_GONE: tasks become
// TASK_GONE_BY_OPERATOR (TASK_LOST for frameworks that are not
// PARTITION_AWARE), the agent is shut down and may never come back.
func (m *master) markGoneLocked(id string) bool {
	a := m.agents[id]
	if a == nil && m.unreachable[id] == nil {
		return false
	}
	m.gone[id] = true
	delete(m.unreachable, id)
	for _, fw := range m.frameworks {
		for _, t := range sortedTasks(fw.unreachableTasks) {
			if t.agentID == id {
				st := m.masterStatus(t, m.paState(fw, mesos.TASK_GONE_BY_OPERATOR), mesos.REASON_AGENT_REMOVED_BY_OPERATOR, "Agent marked gone by the operator")
				m.updateTaskLocked(t, mesos.TASK_GONE_BY_OPERATOR, st)
				m.removeTaskLocked(fw, t)
				m.sendUpdateLocked(fw, st)
			}
		}
	}
	if a == nil {
		return true
	}
	m.rescindAgentOffersLocked(a)
	for fid, ts := range a.tasks {
		fw := m.frameworks[fid]
		if fw == nil {
			continue
		}
		for _, t := range sortedTasks(ts) {
			if !isTerminal(t.state) {
				st := m.masterStatus(t, m.paState(fw, mesos.TASK_GONE_BY_OPERATOR), mesos.REASON_AGENT_REMOVED_BY_OPERATOR, "Agent marked gone by the operator")
				m.updateTaskLocked(t, mesos.TASK_GONE_BY_OPERATOR, st)
				m.sendUpdateLocked(fw, st)
			}
			m.removeTaskLocked(fw, t)
		}
	}
	if a.discTimer != nil {
		a.discTimer.Stop()
	}
	a.link.sendToAgent(msgShutdownAgent{})
	delete(m.agents, id)
	for _, fw := range m.frameworks {
		m.sendLocked(fw, &scheduler.Event{Type: scheduler.Event_FAILURE, Failure: &scheduler.Event_Failure{AgentID: &mesos.AgentID{Value: id}}})
	}
	return true
}

// pingLoop pings agents and marks those that miss too many pings
// unreachable.
func (m *master) pingLoop() {
	m.every(m.cfg.Timers.AgentPingTimeout, nil, func() bool {
		now := time.Now()
		limit := m.cfg.Timers.AgentPingTimeout * time.Duration(m.cfg.Timers.MaxAgentPingTimeouts)
		changed := false
		for _, a := range m.sortedAgentsLocked() {
			if !a.connected {
				continue
			}
			if now.Sub(a.lastPong) > limit {
				m.markUnreachableLocked(a, "health check timed out")
				changed = true
				continue
			}
			a.pingSent = now
			a.link.sendToAgent(msgPing{})
		}
		return changed
	})
}
