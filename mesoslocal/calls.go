package mesoslocal

import (
	"bytes"
	"fmt"

	"github.com/gogo/protobuf/proto"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// callLocked runs an accepted non-SUBSCRIBE call of a subscribed framework.
// Its answer (202 or UPDATE_FRAMEWORK's) was decided by the HTTP handler.
func (m *master) callLocked(fw *framework, c *scheduler.Call) {
	switch c.Type {
	case scheduler.Call_TEARDOWN:
		m.removeFrameworkLocked(fw)
	case scheduler.Call_ACCEPT:
		m.acceptLocked(fw, c.Accept)
	case scheduler.Call_DECLINE:
		m.declineLocked(fw, c.Decline.OfferIDs, c.Decline.Filters)
	case scheduler.Call_REVIVE:
		var roles []string
		if c.Revive != nil {
			roles = c.Revive.Roles
		}
		m.reviveLocked(fw, roles)
	case scheduler.Call_SUPPRESS:
		var roles []string
		if c.Suppress != nil {
			roles = c.Suppress.Roles
		}
		m.suppressLocked(fw, roles)
	case scheduler.Call_KILL:
		m.killLocked(fw, c.Kill)
	case scheduler.Call_SHUTDOWN:
		if a := m.agents[c.Shutdown.AgentID.Value]; a != nil && a.connected {
			a.link.sendToAgent(msgShutdownExecutor{fid: fw.id, eid: c.Shutdown.ExecutorID.Value})
		}
	case scheduler.Call_ACKNOWLEDGE:
		m.acknowledgeLocked(fw, c.Acknowledge)
	case scheduler.Call_RECONCILE:
		m.reconcileLocked(fw, c.Reconcile.Tasks)
	case scheduler.Call_MESSAGE:
		if a := m.agents[c.Message.AgentID.Value]; a != nil && a.connected {
			a.link.sendToAgent(msgFrameworkMessage{fid: fw.id, eid: c.Message.ExecutorID.Value, data: c.Message.Data})
		}
	case scheduler.Call_UPDATE_FRAMEWORK:
		info := *proto.Clone(&c.UpdateFramework.FrameworkInfo).(*mesos.FrameworkInfo)
		fw.info = info
		fw.suppressed = map[string]bool{}
		for _, r := range c.UpdateFramework.SuppressedRoles {
			fw.suppressed[r] = true
		}
		for id, o := range m.offers {
			if o.fid == fw.id && !fw.hasRole(o.role) {
				delete(m.offers, id)
				m.sendLocked(fw, &scheduler.Event{Type: scheduler.Event_RESCIND, Rescind: &scheduler.Event_Rescind{OfferID: mesos.OfferID{Value: id}}})
			}
		}
		for _, a := range m.agents {
			if a.connected {
				a.link.sendToAgent(msgUpdateFramework{info: fw.info})
			}
		}
		m.requestAllocationLocked()
	default:
		// REQUEST, inverse offers and operation calls: accepted and ignored.
	}
}

// validateUpdateFramework checks the changes UPDATE_FRAMEWORK may not make;
// the error message is the 400 body.
func validateUpdateFramework(old, info *mesos.FrameworkInfo, suppressed []string) error {
	if err := validateFrameworkInfo(info, suppressed); err != nil {
		return err
	}
	if old.GetPrincipal() != info.GetPrincipal() {
		return fmt.Errorf("Updating 'FrameworkInfo.principal' is unsupported")
	}
	if old.GetUser() != info.GetUser() {
		return fmt.Errorf("Updating 'FrameworkInfo.user' is unsupported")
	}
	if old.GetCheckpoint() != info.GetCheckpoint() {
		return fmt.Errorf("Updating 'FrameworkInfo.checkpoint' is unsupported")
	}
	return nil
}

// killLocked handles KILL: unknown tasks are reconciled, tasks on connected
// agents are killed there, kills for disconnected agents wait.
func (m *master) killLocked(fw *framework, k *scheduler.Call_Kill) {
	tid := k.TaskID.Value
	t := fw.tasks[tid]
	if t == nil {
		rt := scheduler.Call_Reconcile_Task{TaskID: k.TaskID, AgentID: k.AgentID}
		m.reconcileLocked(fw, []scheduler.Call_Reconcile_Task{rt})
		return
	}
	if k.AgentID != nil && k.AgentID.Value != t.agentID {
		m.log.Info("kill with mismatched agent ignored", "framework", fw.id, "task", tid)
		return
	}
	a := m.agents[t.agentID]
	if a == nil {
		return
	}
	if a.connected {
		a.link.sendToAgent(msgKillTask{fid: fw.id, tid: tid, killPolicy: k.KillPolicy})
		return
	}
	if a.kills[fw.id] == nil {
		a.kills[fw.id] = map[string]*mesos.KillPolicy{}
	}
	a.kills[fw.id][tid] = k.KillPolicy
}

// acknowledgeLocked handles ACKNOWLEDGE: a terminal ack completes the task;
// the ack goes to the agent if it is connected, else it is dropped.
func (m *master) acknowledgeLocked(fw *framework, ack *scheduler.Call_Acknowledge) {
	tid := ack.TaskID.Value
	if t := fw.tasks[tid]; t != nil && t.statusUpdateState != nil && bytes.Equal(t.statusUpdateUUID, ack.UUID) &&
		isTerminal(*t.statusUpdateState) {
		m.removeTaskLocked(fw, t)
	}
	if a := m.agents[ack.AgentID.Value]; a != nil && a.connected {
		a.link.sendToAgent(msgAck{fid: fw.id, tid: tid, uuid: append([]byte(nil), ack.UUID...)})
	}
}

// reconcileLocked answers RECONCILE: implicit (no tasks) covers the
// framework's tasks map; explicit answers each entry.
func (m *master) reconcileLocked(fw *framework, tasks []scheduler.Call_Reconcile_Task) {
	latest := func(t *task) mesos.TaskState {
		if t.statusUpdateState != nil {
			return *t.statusUpdateState
		}
		return t.state
	}
	if len(tasks) == 0 {
		for _, t := range sortedTasks(fw.tasks) {
			m.sendUpdateLocked(fw, m.masterStatus(t, latest(t), mesos.REASON_RECONCILIATION, "Reconciliation: Latest task state"))
		}
		return
	}
	for _, rt := range tasks {
		tid := rt.TaskID.Value
		if t := fw.tasks[tid]; t != nil {
			m.sendUpdateLocked(fw, m.masterStatus(t, latest(t), mesos.REASON_RECONCILIATION, "Reconciliation: Latest task state"))
			continue
		}
		aid := rt.GetAgentID().GetValue()
		t := &task{info: mesos.TaskInfo{TaskID: rt.TaskID}, agentID: aid}
		if ut := fw.unreachableTasks[tid]; ut != nil && (aid == "" || aid == ut.agentID) {
			st := m.masterStatus(ut, m.paState(fw, mesos.TASK_UNREACHABLE), mesos.REASON_RECONCILIATION, "Reconciliation: Task is unreachable")
			st.UnreachableTime = ut.unreachableTime
			m.sendUpdateLocked(fw, st)
			continue
		}
		var st mesos.TaskStatus
		switch {
		case aid != "" && m.agents[aid] != nil:
			st = m.masterStatus(t, m.paState(fw, mesos.TASK_GONE), mesos.REASON_RECONCILIATION, "Reconciliation: Task is unknown to the agent")
		case aid != "" && m.unreachable[aid] != nil:
			st = m.masterStatus(t, m.paState(fw, mesos.TASK_UNREACHABLE), mesos.REASON_RECONCILIATION, "Reconciliation: Task is unreachable")
			st.UnreachableTime = &mesos.TimeInfo{Nanoseconds: m.unreachable[aid].since.UnixNano()}
		case aid != "" && m.gone[aid]:
			st = m.masterStatus(t, m.paState(fw, mesos.TASK_GONE_BY_OPERATOR), mesos.REASON_RECONCILIATION, "Reconciliation: Task is gone")
		default:
			st = m.masterStatus(t, m.paState(fw, mesos.TASK_UNKNOWN), mesos.REASON_RECONCILIATION, "Reconciliation: Task is unknown")
			if aid == "" {
				st.AgentID = nil
			}
		}
		m.sendUpdateLocked(fw, st)
	}
}

// paState maps a partition-aware state to TASK_LOST for frameworks without
// PARTITION_AWARE.
func (m *master) paState(fw *framework, s mesos.TaskState) mesos.TaskState {
	if fw.partitionAware() {
		return s
	}
	return mesos.TASK_LOST
}
