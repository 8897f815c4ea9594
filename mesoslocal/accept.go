package mesoslocal

import (
	"fmt"
	"sort"
	"time"

	"github.com/gogo/protobuf/proto"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// acceptLocked runs an ACCEPT: the offers are validated as a set, then the
// operations are applied in order to the offered resources; what is left
// is recovered with a refusal filter.
func (m *master) acceptLocked(fw *framework, acc *scheduler.Call_Accept) {
	offs, errMsg := m.validateOffersLocked(fw, acc.OfferIDs)
	if errMsg != "" {
		for _, id := range acc.OfferIDs {
			if o := m.offers[id.Value]; o != nil && o.fid == fw.id {
				delete(m.offers, id.Value)
			}
		}
		state := mesos.TASK_LOST
		if fw.partitionAware() {
			state = mesos.TASK_DROPPED
		}
		for _, op := range acc.Operations {
			for _, ti := range launchedTasks(op) {
				t := &task{info: ti, fid: fw.id, agentID: ti.AgentID.Value}
				if ti.Executor != nil {
					t.executorID = ti.Executor.ExecutorID.Value
				}
				m.sendUpdateLocked(fw, m.masterStatus(t, state, mesos.REASON_INVALID_OFFERS, errMsg))
			}
		}
		m.log.Info("accept with invalid offers", "framework", fw.id, "error", errMsg)
		m.requestAllocationLocked()
		return
	}
	a := m.agents[offs[0].agentID]
	role := offs[0].role
	var avail mesos.Resources
	for _, o := range offs {
		avail = append(avail, o.resources...)
		delete(m.offers, o.id)
	}
	avail = sumResources(avail...)
	checkpoint := false
	newExecutors := map[string]mesos.ExecutorInfo{}
	for i := range acc.Operations {
		op := &acc.Operations[i]
		switch op.GetType() {
		case mesos.Offer_Operation_LAUNCH:
			if op.Launch == nil {
				continue
			}
			for _, ti := range op.Launch.TaskInfos {
				avail = m.launchLocked(fw, a, role, avail, []mesos.TaskInfo{ti}, nil, newExecutors)
			}
		case mesos.Offer_Operation_LAUNCH_GROUP:
			if op.LaunchGroup == nil {
				continue
			}
			exec := op.LaunchGroup.Executor
			avail = m.launchLocked(fw, a, role, avail, op.LaunchGroup.TaskGroup.Tasks, &exec, newExecutors)
		case mesos.Offer_Operation_RESERVE, mesos.Offer_Operation_UNRESERVE,
			mesos.Offer_Operation_CREATE, mesos.Offer_Operation_DESTROY:
			next, err := m.applyOperationLocked(fw, a, role, avail, op)
			if err != nil {
				m.log.Info("operation dropped", "framework", fw.id, "type", op.GetType().String(), "error", err)
				continue
			}
			avail = next
			checkpoint = true
		default:
			m.log.Info("operation not supported, dropped", "framework", fw.id, "type", op.GetType().String())
		}
	}
	if checkpoint {
		a.link.sendToAgent(msgCheckpointResources{resources: a.total.Clone()})
	}
	m.recoverLocked(fw, a, role, avail, acc.Filters)
}

// declineLocked recovers offers with a refusal filter; unknown ids are
// ignored.
func (m *master) declineLocked(fw *framework, ids []mesos.OfferID, f *mesos.Filters) {
	for _, id := range ids {
		o := m.offers[id.Value]
		if o == nil || o.fid != fw.id {
			continue
		}
		delete(m.offers, id.Value)
		if a := m.agents[o.agentID]; a != nil {
			m.recoverLocked(fw, a, o.role, o.resources, f)
		}
	}
}

// recoverLocked gives unused offered resources back, installing a refusal
// filter for (framework, role, agent).
func (m *master) recoverLocked(fw *framework, a *agentEntry, role string, rs mesos.Resources, f *mesos.Filters) {
	m.requestAllocationLocked()
	if len(rs) == 0 {
		return
	}
	d := m.refuseDuration(f)
	if d <= 0 {
		return
	}
	key := filterKey{role: role, agentID: a.id}
	if old := fw.filters[key]; old != nil && time.Now().Before(old.until) {
		rs = sumResources(append(append(mesos.Resources{}, old.resources...), rs...)...)
	}
	fw.filters[key] = &refusal{resources: sumResources(rs...), until: time.Now().Add(d)}
}

// validateOffersLocked checks the offer set of an ACCEPT; it returns the
// offers or Mesos's error message.
func (m *master) validateOffersLocked(fw *framework, ids []mesos.OfferID) ([]*offer, string) {
	if len(ids) == 0 {
		return nil, "No offers specified"
	}
	seen := map[string]bool{}
	var offs []*offer
	for _, id := range ids {
		if seen[id.Value] {
			return nil, "Offers contain duplicate offer " + id.Value
		}
		seen[id.Value] = true
		o := m.offers[id.Value]
		if o == nil {
			return nil, "Offer " + id.Value + " is no longer valid"
		}
		if o.fid != fw.id {
			return nil, "Offer " + id.Value + " has invalid framework " + o.fid + " while framework " + fw.id + " is expected"
		}
		if len(offs) > 0 && offs[0].agentID != o.agentID {
			return nil, "Aggregated offers must belong to one single agent. Offer " + id.Value +
				" uses agent " + o.agentID + " and offer " + offs[0].id + " uses agent " + offs[0].agentID
		}
		if len(offs) > 0 && offs[0].role != o.role {
			return nil, "Aggregated offers must be allocated to the same role. Offer " + id.Value +
				" uses role " + o.role + " and offer " + offs[0].id + " uses role " + offs[0].role
		}
		if m.agents[o.agentID] == nil {
			return nil, "Offer " + id.Value + " is no longer valid"
		}
		offs = append(offs, o)
	}
	return offs, ""
}

func launchedTasks(op mesos.Offer_Operation) []mesos.TaskInfo {
	switch {
	case op.GetType() == mesos.Offer_Operation_LAUNCH && op.Launch != nil:
		return op.Launch.TaskInfos
	case op.GetType() == mesos.Offer_Operation_LAUNCH_GROUP && op.LaunchGroup != nil:
		return op.LaunchGroup.TaskGroup.Tasks
	}
	return nil
}

// launchLocked validates and launches one task (group == nil) or one task
// group; invalid tasks get TASK_ERROR. It returns the resources left.
func (m *master) launchLocked(fw *framework, a *agentEntry, role string, avail mesos.Resources,
	tis []mesos.TaskInfo, group *mesos.ExecutorInfo, newExecs map[string]mesos.ExecutorInfo) mesos.Resources {
	reason := mesos.REASON_TASK_INVALID
	if group != nil {
		reason = mesos.REASON_TASK_GROUP_INVALID
	}
	var need mesos.Resources
	var exec mesos.ExecutorInfo
	err := func() error {
		if group != nil {
			if group.Type == mesos.ExecutorInfo_UNKNOWN {
				return fmt.Errorf("'ExecutorInfo.type' must be set")
			}
			if len(tis) == 0 {
				return fmt.Errorf("Task group is empty")
			}
		}
		seen := map[string]bool{}
		for i := range tis {
			ti := &tis[i]
			if group != nil {
				if ti.Executor != nil {
					return fmt.Errorf("'TaskInfo.executor' must not be set")
				}
				e := *group
				ti.Executor = &e
			}
			if seen[ti.TaskID.Value] {
				return fmt.Errorf("Duplicate task %s in task group", ti.TaskID.Value)
			}
			seen[ti.TaskID.Value] = true
			if err := m.validateTaskLocked(fw, a, ti); err != nil {
				return err
			}
			need = append(need, toInternalAll(ti.Resources)...)
			exec = *ti.Executor
		}
		eid := exec.ExecutorID.Value
		if prev, ok := newExecs[eid]; ok && !proto.Equal(&prev, &exec) {
			return fmt.Errorf("ExecutorInfo is not compatible with existing ExecutorInfo with same ExecutorID")
		}
		_, running := a.executors[fw.id][eid]
		_, launching := newExecs[eid]
		if !running && !launching {
			need = append(need, toInternalAll(exec.Resources)...)
		}
		if !containsAll(avail, need) {
			return fmt.Errorf("Task uses more resources %s than available %s", sumResources(need...).String(), avail.String())
		}
		return nil
	}()
	if err != nil {
		for _, ti := range tis {
			t := &task{info: ti, fid: fw.id, agentID: a.id}
			if ti.Executor != nil {
				t.executorID = ti.Executor.ExecutorID.Value
			}
			m.sendUpdateLocked(fw, m.masterStatus(t, mesos.TASK_ERROR, reason, err.Error()))
		}
		return avail
	}
	eid := exec.ExecutorID.Value
	newExecs[eid] = exec
	if _, ok := a.executors[fw.id][eid]; !ok {
		m.addExecutorLocked(a, fw.id, exec)
	}
	if a.tasks[fw.id] == nil {
		a.tasks[fw.id] = map[string]*task{}
	}
	for _, ti := range tis {
		t := &task{info: ti, resources: toInternalAll(ti.Resources), fid: fw.id, agentID: a.id,
			executorID: eid, role: role, state: mesos.TASK_STAGING}
		t.statuses = nil
		fw.tasks[ti.TaskID.Value] = t
		a.tasks[fw.id][ti.TaskID.Value] = t
	}
	a.link.sendToAgent(msgRunTask{framework: fw.info, executor: exec, tasks: tis, group: group != nil})
	return minus(avail, need...)
}

// validateTaskLocked applies Mesos's per-task checks; it fills
// executor.framework_id when missing.
func (m *master) validateTaskLocked(fw *framework, a *agentEntry, ti *mesos.TaskInfo) error {
	if err := validateID(ti.TaskID.Value); err != nil {
		return fmt.Errorf("Task ID '%s' is invalid: %w", ti.TaskID.Value, err)
	}
	if _, dup := fw.tasks[ti.TaskID.Value]; dup {
		return fmt.Errorf("Task has duplicate ID: %s", ti.TaskID.Value)
	}
	if _, dup := fw.unreachableTasks[ti.TaskID.Value]; dup {
		return fmt.Errorf("Task has duplicate ID: %s", ti.TaskID.Value)
	}
	if ti.AgentID.Value != a.id {
		return fmt.Errorf("Task uses invalid agent: %s", ti.AgentID.Value)
	}
	if kp := ti.KillPolicy; kp != nil && kp.GracePeriod != nil && kp.GracePeriod.Nanoseconds < 0 {
		return fmt.Errorf("Task's 'kill_policy.grace_period' must be non-negative")
	}
	if mct := ti.MaxCompletionTime; mct != nil && mct.Nanoseconds < 0 {
		return fmt.Errorf("Task's `max_completion_time` must be non-negative")
	}
	if len(ti.Resources) == 0 {
		return fmt.Errorf("Task uses no resources")
	}
	for i := range ti.Resources {
		r := toInternal(ti.Resources[i])
		if err := r.Validate(); err != nil {
			return fmt.Errorf("Invalid resources: %w", err)
		}
	}
	if (ti.Command == nil) == (ti.Executor == nil) {
		return fmt.Errorf("Task should have at least one (but not both) of CommandInfo or ExecutorInfo present")
	}
	if ti.Command != nil {
		return fmt.Errorf("Command tasks are not supported by mesoslocal: set 'TaskInfo.executor'")
	}
	e := ti.Executor
	if t := e.Type; t != mesos.ExecutorInfo_UNKNOWN && t != mesos.ExecutorInfo_CUSTOM && t != mesos.ExecutorInfo_DEFAULT {
		return fmt.Errorf("Unknown 'ExecutorInfo.type'")
	}
	if e.Command == nil {
		return fmt.Errorf("'ExecutorInfo.command' must be set for 'CUSTOM' executor")
	}
	if err := validateID(e.ExecutorID.Value); err != nil {
		return fmt.Errorf("Executor ID '%s' is invalid: %w", e.ExecutorID.Value, err)
	}
	if e.FrameworkID == nil {
		e.FrameworkID = &mesos.FrameworkID{Value: fw.id}
	} else if e.FrameworkID.Value != fw.id {
		return fmt.Errorf("ExecutorInfo has an invalid FrameworkID (Actual: %s vs Expected: %s)", e.FrameworkID.Value, fw.id)
	}
	if prev, ok := a.executors[fw.id][e.ExecutorID.Value]; ok && !proto.Equal(&prev, e) {
		return fmt.Errorf("ExecutorInfo is not compatible with existing ExecutorInfo with same ExecutorID")
	}
	for i := range e.Resources {
		r := toInternal(e.Resources[i])
		if err := r.Validate(); err != nil {
			return fmt.Errorf("Executor uses invalid resources: %w", err)
		}
	}
	return nil
}

// sortedIDs returns the keys of a map in order.
func sortedIDs[V any](mp map[string]V) []string {
	out := make([]string, 0, len(mp))
	for k := range mp {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
