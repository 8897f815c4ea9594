package mesoslocal

import (
	"encoding/binary"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/gogo/protobuf/proto"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// Version is the Mesos version mesoslocal reports; mesos-go v0.0.11 speaks
// the 1.10 protocol.
const Version = "1.10.0"

// master is the Mesos master: frameworks, agents, tasks, offers. Every
// field below mu is guarded by it. The master never calls into an agent:
// it sends messages over the agent's link.
type master struct {
	cfg      Config
	log      *slog.Logger
	tap      *tap
	id       string
	hostname string
	ip       string
	port     int
	start    time.Time

	mu             sync.Mutex
	frameworks     map[string]*framework
	completed      []*framework
	removed        map[string]bool
	agents         map[string]*agentEntry
	unreachable    map[string]*unreachableAgent
	gone           map[string]bool
	offers         map[string]*offer
	nextFramework  int
	nextAgent      int
	nextOffer      int
	changed        chan struct{}
	closed         bool
	allocRequested bool
	allocWake      chan struct{}
	stop           chan struct{}
	wg             sync.WaitGroup
}

// agentEntry is the master's book of one registered agent.
type agentEntry struct {
	id         string
	name       string
	ip         string
	info       mesos.AgentInfo
	total      mesos.Resources // internal format, incl. reservations and volumes
	link       *link
	connected  bool
	registered time.Time
	rereg      time.Time
	lastPong   time.Time
	pingSent   time.Time
	executors  map[string]map[string]mesos.ExecutorInfo // fid → eid
	tasks      map[string]map[string]*task              // fid → tid
	kills      map[string]map[string]*mesos.KillPolicy  // kills waiting for reregistration
	discTimer  *time.Timer
}

// unreachableAgent remembers an agent marked unreachable.
type unreachableAgent struct {
	id    string
	name  string
	since time.Time
}

// task is the master's book of one task.
type task struct {
	info              mesos.TaskInfo // as the framework sent it (executor.framework_id filled)
	resources         mesos.Resources
	fid               string
	agentID           string
	executorID        string
	role              string
	state             mesos.TaskState
	statusUpdateState *mesos.TaskState
	statusUpdateUUID  []byte
	statuses          []mesos.TaskStatus
	released          bool
	unreachableTime   *mesos.TimeInfo
}

func newMaster(cfg Config, tp *tap, ip string, port int) *master {
	hostname := cfg.Hostname
	if hostname == "" {
		hostname = ip
	}
	return &master{
		cfg: cfg, log: cfg.Logger.With("component", "master"), tap: tp,
		id: cfg.MasterID, hostname: hostname, ip: ip, port: port, start: time.Now(),
		frameworks: map[string]*framework{}, removed: map[string]bool{},
		agents: map[string]*agentEntry{}, unreachable: map[string]*unreachableAgent{},
		gone: map[string]bool{}, offers: map[string]*offer{},
		changed: make(chan struct{}), allocWake: make(chan struct{}, 1), stop: make(chan struct{}),
	}
}

// run starts the allocator and the agent health checker.
func (m *master) run() {
	m.wg.Add(2)
	go m.allocationLoop()
	go m.pingLoop()
}

// shutdown stops the master's loops and closes every subscription stream.
func (m *master) shutdown() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	close(m.stop)
	for _, fw := range m.frameworks {
		if fw.sub != nil {
			fw.sub.close()
		}
		if fw.failoverTimer != nil {
			fw.failoverTimer.Stop()
		}
	}
	for _, a := range m.agents {
		if a.discTimer != nil {
			a.discTimer.Stop()
		}
	}
	m.notifyLocked()
	m.mu.Unlock()
	m.wg.Wait()
}

// notifyLocked wakes everybody waiting for a state change.
func (m *master) notifyLocked() {
	close(m.changed)
	m.changed = make(chan struct{})
}

func (m *master) pid() string { return "master@" + m.ip + ":" + strconv.Itoa(m.port) }

func (m *master) masterInfo() *mesos.MasterInfo {
	ipv4 := net.ParseIP(m.ip).To4()
	var ipn uint32
	if ipv4 != nil {
		// MasterInfo.ip is the address in network byte order read as a
		// little-endian uint32, as Mesos stores it.
		ipn = binary.LittleEndian.Uint32(ipv4)
	}
	port := uint32(m.port)
	return &mesos.MasterInfo{
		ID: m.id, IP: ipn, Port: &port, PID: proto.String(m.pid()),
		Hostname: proto.String(m.hostname), Version: proto.String(Version),
		Address: &mesos.Address{Hostname: proto.String(m.hostname), IP: proto.String(m.ip), Port: int32(m.port)},
		Capabilities: []mesos.MasterInfo_Capability{
			{Type: mesos.MasterInfo_Capability_AGENT_UPDATE},
			{Type: mesos.MasterInfo_Capability_AGENT_DRAINING},
		},
	}
}

// handleAgentMessage is the master's side of every link.
func (m *master) handleAgentMessage(l *link, msg any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	defer m.notifyLocked()
	if r, ok := msg.(msgRegister); ok {
		m.registerAgentLocked(r)
		return
	}
	a := m.agentByLinkLocked(l)
	if a == nil {
		return // a message from a removed incarnation
	}
	switch msg := msg.(type) {
	case msgPong:
		a.lastPong = time.Now()
	case msgAgentGone:
		m.agentDisconnectedLocked(a)
	case msgStatusUpdate:
		a.lastPong = time.Now()
		m.statusUpdateLocked(a, msg)
	case msgExecutorExited:
		m.executorExitedLocked(a, msg)
	case msgExecutorMessage:
		if fw := m.frameworks[msg.fid]; fw != nil {
			m.sendLocked(fw, &scheduler.Event{Type: scheduler.Event_MESSAGE, Message: &scheduler.Event_Message{
				AgentID: mesos.AgentID{Value: a.id}, ExecutorID: mesos.ExecutorID{Value: msg.eid}, Data: msg.data}})
		}
	}
}

func (m *master) agentByLinkLocked(l *link) *agentEntry {
	for _, a := range m.agents {
		if a.link == l {
			return a
		}
	}
	return nil
}

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

// addr is the agent's endpoint.
func (a *agentEntry) addr() (string, int) { return a.ip, int(a.info.GetPort()) }

func (m *master) addExecutorLocked(a *agentEntry, fid string, info mesos.ExecutorInfo) {
	if a.executors[fid] == nil {
		a.executors[fid] = map[string]mesos.ExecutorInfo{}
	}
	a.executors[fid][info.ExecutorID.Value] = info
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

// statusUpdateLocked handles a forwarded status update.
func (m *master) statusUpdateLocked(a *agentEntry, msg msgStatusUpdate) {
	fw := m.frameworks[msg.fid]
	if fw == nil {
		return
	}
	st := msg.status
	st.AgentID = &mesos.AgentID{Value: a.id}
	tid := st.TaskID.Value
	if t := fw.tasks[tid]; t != nil {
		t.statusUpdateState = st.State
		t.statusUpdateUUID = st.UUID
		m.updateTaskLocked(t, msg.latestState, st)
	}
	m.sendUpdateLocked(fw, st)
}

// updateTaskLocked records a task's latest state and releases its resources
// on the first terminal state.
func (m *master) updateTaskLocked(t *task, latest mesos.TaskState, st mesos.TaskStatus) {
	t.state = latest
	if n := len(t.statuses); n == 0 || t.statuses[n-1].GetState() != st.GetState() {
		s := mesos.TaskStatus{TaskID: st.TaskID, State: st.State, Timestamp: st.Timestamp, Healthy: st.Healthy,
			Labels: st.Labels, ContainerStatus: st.ContainerStatus}
		t.statuses = append(t.statuses, s)
	}
	if isTerminal(latest) && !t.released {
		t.released = true
		m.requestAllocationLocked()
	}
}

// removeTaskLocked moves a task to the framework's completed tasks.
func (m *master) removeTaskLocked(fw *framework, t *task) {
	tid := t.info.TaskID.Value
	delete(fw.tasks, tid)
	delete(fw.unreachableTasks, tid)
	if a := m.agents[t.agentID]; a != nil {
		if ts := a.tasks[fw.id]; ts != nil && ts[tid] == t {
			delete(ts, tid)
			if len(ts) == 0 {
				delete(a.tasks, fw.id)
			}
		}
	}
	t.released = true
	fw.completedTasks = append(fw.completedTasks, t)
	if over := len(fw.completedTasks) - m.cfg.Timers.MaxCompletedTasks; over > 0 {
		fw.completedTasks = append([]*task(nil), fw.completedTasks[over:]...)
	}
	m.requestAllocationLocked()
}

// executorExitedLocked removes an executor from the books and tells its
// framework with a FAILURE event.
func (m *master) executorExitedLocked(a *agentEntry, msg msgExecutorExited) {
	if es := a.executors[msg.fid]; es != nil {
		delete(es, msg.eid)
		if len(es) == 0 {
			delete(a.executors, msg.fid)
		}
	}
	m.requestAllocationLocked()
	if fw := m.frameworks[msg.fid]; fw != nil {
		f := &scheduler.Event_Failure{AgentID: &mesos.AgentID{Value: a.id}, ExecutorID: &mesos.ExecutorID{Value: msg.eid}}
		if msg.hasStatus {
			status := msg.status
			f.Status = &status
		}
		m.sendLocked(fw, &scheduler.Event{Type: scheduler.Event_FAILURE, Failure: f})
	}
}

// masterStatus builds a master-generated update: SOURCE_MASTER, no uuid.
func (m *master) masterStatus(t *task, state mesos.TaskState, reason mesos.TaskStatus_Reason, message string) mesos.TaskStatus {
	st := mesos.TaskStatus{
		TaskID: t.info.TaskID, State: state.Enum(), Source: mesos.SOURCE_MASTER.Enum(), Reason: reason.Enum(),
		Message: proto.String(message), AgentID: &mesos.AgentID{Value: t.agentID}, Timestamp: proto.Float64(nowSeconds()),
	}
	if t.executorID != "" {
		st.ExecutorID = &mesos.ExecutorID{Value: t.executorID}
	}
	return st
}

// sendUpdateLocked sends an UPDATE to a connected framework; updates for a
// disconnected framework are dropped (the agent retries reliable ones).
func (m *master) sendUpdateLocked(fw *framework, st mesos.TaskStatus) {
	if st.Timestamp == nil {
		st.Timestamp = proto.Float64(nowSeconds())
	}
	m.sendLocked(fw, &scheduler.Event{Type: scheduler.Event_UPDATE, Update: &scheduler.Event_Update{Status: st}})
}

// sendLocked queues an event on a framework's subscription, if any.
func (m *master) sendLocked(fw *framework, ev *scheduler.Event) {
	if fw.sub == nil {
		m.tap.schedulerEvent(fw.id, ev, false)
		return
	}
	ok := fw.sub.send(ev)
	m.tap.schedulerEvent(fw.id, ev, ok)
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

func (m *master) sortedAgentsLocked() []*agentEntry {
	out := make([]*agentEntry, 0, len(m.agents))
	for _, a := range m.agents {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return agentLess(out[i].id, out[j].id) })
	return out
}

// agentLess orders agent ids by their counter.
func agentLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func sortedTasks(ts map[string]*task) []*task {
	out := make([]*task, 0, len(ts))
	for _, t := range ts {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].info.TaskID.Value < out[j].info.TaskID.Value })
	return out
}

func nowSeconds() float64 { return float64(time.Now().UnixNano()) / 1e9 }

// isTerminal is Mesos's isTerminalState.
func isTerminal(s mesos.TaskState) bool {
	switch s {
	case mesos.TASK_FINISHED, mesos.TASK_FAILED, mesos.TASK_KILLED, mesos.TASK_ERROR, mesos.TASK_LOST,
		mesos.TASK_DROPPED, mesos.TASK_GONE, mesos.TASK_GONE_BY_OPERATOR:
		return true
	}
	return false
}
