package mesoslocal

import (
	"context"
	"fmt"
	"sort"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// State is a typed snapshot of the master's books.
type State struct {
	MasterID            string
	Frameworks          []FrameworkState // registered (connected or not)
	CompletedFrameworks []FrameworkState // removed
	Agents              []AgentState     // registered (connected or not)
	UnreachableAgents   []UnreachableAgentState
}

// FrameworkState is one framework in a State.
type FrameworkState struct {
	ID, Name, Principal string
	Roles               []string
	Connected           bool
	Checkpoint          bool
	PartitionAware      bool
	Tasks               []TaskState // non-terminal and terminal-unacknowledged
	UnreachableTasks    []TaskState
	CompletedTasks      []TaskState
	Offers              []OfferState
	Executors           []ExecutorState
}

// TaskState is one task in a State.
type TaskState struct {
	ID, Name, FrameworkID, AgentID, ExecutorID string
	State                                      mesos.TaskState // latest known state
	StatusUpdateState                          string          // state of the last forwarded update, "" if none
	Resources                                  mesos.Resources
}

// OfferState is one outstanding offer.
type OfferState struct {
	ID, AgentID, Role string
	Resources         mesos.Resources
}

// ExecutorState is one executor in the master's books.
type ExecutorState struct {
	ID, AgentID string
}

// AgentState is one agent in a State.
type AgentState struct {
	ID, Name, Hostname, Endpoint string
	Connected                    bool
	Total, Used, Offered         mesos.Resources
	Reserved                     mesos.Resources // dynamically reserved resources, volumes included
	Volumes                      []VolumeState
}

// VolumeState is one persistent volume on an agent.
type VolumeState struct {
	PersistenceID, Role, ContainerPath string
}

// UnreachableAgentState is an agent marked unreachable.
type UnreachableAgentState struct{ ID, Name string }

// Empty reports whether nothing is left: no framework, task, reservation
// or volume. Completed frameworks and tasks do not count.
func (s State) Empty() bool {
	if len(s.Frameworks) > 0 {
		return false
	}
	for _, a := range s.Agents {
		if len(a.Reserved) > 0 || len(a.Volumes) > 0 {
			return false
		}
	}
	return true
}

// Task finds a task (live, unreachable or completed) by id in any
// framework; the newest entry wins.
func (s State) Task(id string) (TaskState, bool) {
	for _, fw := range s.Frameworks {
		for _, list := range [][]TaskState{fw.Tasks, fw.UnreachableTasks} {
			for _, t := range list {
				if t.ID == id {
					return t, true
				}
			}
		}
	}
	for _, fws := range [][]FrameworkState{s.Frameworks, s.CompletedFrameworks} {
		for _, fw := range fws {
			for i := len(fw.CompletedTasks) - 1; i >= 0; i-- {
				if fw.CompletedTasks[i].ID == id {
					return fw.CompletedTasks[i], true
				}
			}
		}
	}
	return TaskState{}, false
}

// Framework finds a registered framework by id.
func (s State) Framework(id string) (FrameworkState, bool) {
	for _, fw := range s.Frameworks {
		if fw.ID == id {
			return fw, true
		}
	}
	return FrameworkState{}, false
}

// State returns a snapshot of the master's books.
func (c *Cluster) State() State {
	m := c.master
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stateLocked()
}

func taskState(t *task) TaskState {
	ts := TaskState{ID: t.info.TaskID.Value, Name: t.info.Name, FrameworkID: t.fid, AgentID: t.agentID,
		ExecutorID: t.executorID, State: t.state, Resources: t.resources.Clone()}
	if t.statusUpdateState != nil {
		ts.StatusUpdateState = t.statusUpdateState.String()
	}
	return ts
}

func (m *master) frameworkStateLocked(fw *framework) FrameworkState {
	fs := FrameworkState{ID: fw.id, Name: fw.info.Name, Principal: fw.info.GetPrincipal(), Roles: fw.roles(),
		Connected: fw.connected(), Checkpoint: fw.info.GetCheckpoint(), PartitionAware: fw.partitionAware()}
	for _, t := range sortedTasks(fw.tasks) {
		fs.Tasks = append(fs.Tasks, taskState(t))
	}
	for _, t := range sortedTasks(fw.unreachableTasks) {
		fs.UnreachableTasks = append(fs.UnreachableTasks, taskState(t))
	}
	for _, t := range fw.completedTasks {
		fs.CompletedTasks = append(fs.CompletedTasks, taskState(t))
	}
	for _, id := range sortedIDs(m.offers) {
		if o := m.offers[id]; o.fid == fw.id {
			fs.Offers = append(fs.Offers, OfferState{ID: o.id, AgentID: o.agentID, Role: o.role, Resources: o.resources.Clone()})
		}
	}
	for _, a := range m.sortedAgentsLocked() {
		for _, eid := range sortedIDs(a.executors[fw.id]) {
			fs.Executors = append(fs.Executors, ExecutorState{ID: eid, AgentID: a.id})
		}
	}
	return fs
}

func (m *master) stateLocked() State {
	s := State{MasterID: m.id}
	for _, id := range sortedIDs(m.frameworks) {
		s.Frameworks = append(s.Frameworks, m.frameworkStateLocked(m.frameworks[id]))
	}
	for _, fw := range m.completed {
		s.CompletedFrameworks = append(s.CompletedFrameworks, m.frameworkStateLocked(fw))
	}
	for _, a := range m.sortedAgentsLocked() {
		ip, port := a.addr()
		as := AgentState{ID: a.id, Name: a.name, Hostname: a.info.Hostname, Endpoint: fmt.Sprintf("%s:%d", ip, port),
			Connected: a.connected, Total: a.total.Clone(), Used: sumResources(m.usedLocked(a, "")...)}
		var off mesos.Resources
		for _, o := range m.offers {
			if o.agentID == a.id {
				off = append(off, o.resources...)
			}
		}
		as.Offered = sumResources(off...)
		as.Reserved = checkpointedOf(a.total)
		for i := range a.total {
			r := &a.total[i]
			if r.IsPersistentVolume() {
				as.Volumes = append(as.Volumes, VolumeState{PersistenceID: r.Disk.Persistence.ID, Role: reservationRole(r),
					ContainerPath: r.Disk.GetVolume().GetContainerPath()})
			}
		}
		sort.Slice(as.Volumes, func(i, j int) bool { return as.Volumes[i].PersistenceID < as.Volumes[j].PersistenceID })
		s.Agents = append(s.Agents, as)
	}
	for _, id := range sortedIDs(m.unreachable) {
		s.UnreachableAgents = append(s.UnreachableAgents, UnreachableAgentState{ID: id, Name: m.unreachable[id].name})
	}
	return s
}

// WaitUntil blocks until pred holds for the master's state, re-checking it
// on every change. It fails with the context's error.
func (c *Cluster) WaitUntil(ctx context.Context, pred func(State) bool) (State, error) {
	m := c.master
	for {
		m.mu.Lock()
		s := m.stateLocked()
		ch := m.changed
		m.mu.Unlock()
		if pred(s) {
			return s, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return s, fmt.Errorf("mesoslocal: waiting for state: %w", ctx.Err())
		}
	}
}

// WaitForTaskState blocks until the master's latest state of task id is
// state (live, unreachable or completed task).
func (c *Cluster) WaitForTaskState(ctx context.Context, id string, state mesos.TaskState) error {
	_, err := c.WaitUntil(ctx, func(s State) bool {
		t, ok := s.Task(id)
		return ok && t.State == state
	})
	if err != nil {
		return fmt.Errorf("task %s to reach %s: %w", id, state, err)
	}
	return nil
}

// Events returns the recorded protocol events and calls with Seq > after,
// oldest first.
func (c *Cluster) Events(after int64) []TapEvent {
	evs, _ := c.tap.snapshot(after)
	return evs
}

// WaitForEvent blocks until an event or call with Seq > after satisfies
// pred and returns it.
func (c *Cluster) WaitForEvent(ctx context.Context, after int64, pred func(TapEvent) bool) (TapEvent, error) {
	return c.tap.waitFor(ctx, after, pred)
}
