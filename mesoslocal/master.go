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

// addr is the agent's endpoint.
func (a *agentEntry) addr() (string, int) { return a.ip, int(a.info.GetPort()) }

func (m *master) addExecutorLocked(a *agentEntry, fid string, info mesos.ExecutorInfo) {
	if a.executors[fid] == nil {
		a.executors[fid] = map[string]mesos.ExecutorInfo{}
	}
	a.executors[fid][info.ExecutorID.Value] = info
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
