package mesoslocal

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/gogo/protobuf/proto"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
)

// agentRun is the life state of an agent process.
type agentRun int

const (
	agentRunning    agentRun = iota // serving and linked to the master
	agentRecovering                 // restarted, waiting for executors to resubscribe
	agentDead                       // killed (host death) or closed
)

// agent is one Mesos agent: its own listener, resources, work directory,
// executors (real child processes) and status update manager. Fields below
// mu are guarded by it.
type agent struct {
	c       *Cluster
	name    string
	spec    AgentSpec
	log     *slog.Logger
	static  mesos.Resources
	attrs   []mesos.Attribute
	workDir string
	ip      string

	mu         sync.Mutex
	port       int
	id         string
	total      mesos.Resources // static plus checkpointed reservations and volumes
	run        agentRun
	link       *link
	registered bool
	srv        *http.Server
	ln         net.Listener
	frameworks map[string]*agentFramework
	updates    map[string]map[string]*updateStream // fid → tid
	epoch      int
	changed    chan struct{}
	// lastPing is when the master last pinged (or registered) the agent;
	// pingTimer runs checkPings.
	lastPing  time.Time
	pingTimer *time.Timer
}

// agentFramework is an agent's book of one framework.
type agentFramework struct {
	info      mesos.FrameworkInfo
	executors map[string]*executorRun
	removing  bool
}

func newAgent(c *Cluster, spec AgentSpec) (*agent, error) {
	rs, err := ParseResources(spec.Resources)
	if err != nil {
		return nil, fmt.Errorf("agent %s: %w", spec.Name, err)
	}
	attrs, err := ParseAttributes(spec.Attributes)
	if err != nil {
		return nil, fmt.Errorf("agent %s: %w", spec.Name, err)
	}
	a := &agent{
		c: c, name: spec.Name, spec: spec, log: c.cfg.Logger.With("component", "agent", "agent", spec.Name),
		static: rs, attrs: attrs, workDir: filepath.Join(c.workDir, spec.Name), ip: spec.IP, port: spec.Port,
		total: rs.Clone(), frameworks: map[string]*agentFramework{}, updates: map[string]map[string]*updateStream{},
		changed: make(chan struct{}),
	}
	if err := os.MkdirAll(filepath.Join(a.workDir, "volumes", "roles"), 0o755); err != nil {
		return nil, fmt.Errorf("agent %s: work dir: %w", spec.Name, err)
	}
	return a, nil
}

func (a *agent) endpoint() string { return net.JoinHostPort(a.ip, strconv.Itoa(a.port)) }

func (a *agent) pid() string { return "slave(1)@" + a.endpoint() }

// notifyLocked wakes waiters on this agent's state.
func (a *agent) notifyLocked() {
	close(a.changed)
	a.changed = make(chan struct{})
}

// listenLocked starts the agent's HTTP listener on its address (the same
// port after a restart).
func (a *agent) listenLocked() error {
	ln, err := net.Listen("tcp", a.endpoint())
	if err != nil {
		return fmt.Errorf("agent %s: listen %s: %w", a.name, a.endpoint(), err)
	}
	a.port = ln.Addr().(*net.TCPAddr).Port
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/executor", a.serveExecutor)
	mux.HandleFunc("/slave(1)/api/v1/executor", a.serveExecutor)
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	a.srv, a.ln = srv, ln
	go func() { _ = srv.Serve(ln) }()
	return nil
}

// stopServerLocked closes the listener and every executor connection.
func (a *agent) stopServerLocked() {
	for _, fw := range a.frameworks {
		for _, e := range fw.executors {
			if e.stream != nil {
				e.stream.close()
				e.stream = nil
			}
		}
	}
	if a.srv != nil {
		srv := a.srv
		a.srv = nil
		// Close, not Shutdown: streaming responses must not hold it up.
		_ = srv.Close()
		// Serve may not have registered the listener yet; the port must be
		// free now for a restart on the same address.
		_ = a.ln.Close()
	}
}

// connectLocked makes a new link and (re)registers with the master.
func (a *agent) connectLocked() {
	a.link = newLinkFor(a)
	a.registered = false
	a.sendRegisterLocked()
}

// newLinkFor builds a link whose master side is the cluster's master and
// whose agent side is a.
func newLinkFor(a *agent) *link {
	var l *link
	l = newLink(func(msg any) { a.c.master.handleAgentMessage(l, msg) }, func(msg any) { a.handleMasterMessage(l, msg) })
	return l
}

func (a *agent) sendRegisterLocked() {
	info := mesos.AgentInfo{Hostname: a.spec.Hostname, Port: proto.Int32(int32(a.port)),
		Resources: a.total.Clone(), Attributes: a.attrs}
	r := msgRegister{link: a.link, name: a.name, ip: a.ip, agentID: a.id, info: info}
	if a.id != "" {
		for _, fid := range sortedIDs(a.frameworks) {
			fw := a.frameworks[fid]
			r.frameworks = append(r.frameworks, fw.info)
			for _, eid := range sortedIDs(fw.executors) {
				e := fw.executors[eid]
				if e.state == execTerminated {
					continue
				}
				r.executors = append(r.executors, reportedExecutor{fid: fid, info: e.info})
				for _, tid := range sortedIDs(e.tasks) {
					t := e.tasks[tid]
					r.tasks = append(r.tasks, reportedTask{fid: fid, info: t.info, executorID: eid, state: t.state})
				}
			}
		}
	}
	a.link.sendToMaster(r)
}

// handleMasterMessage is the agent's side of its link.
func (a *agent) handleMasterMessage(l *link, msg any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.link != l || a.run == agentDead {
		return
	}
	defer a.notifyLocked()
	switch msg := msg.(type) {
	case msgRegistered:
		a.id = msg.agentID
		a.registered = true
		a.lastPing = time.Now()
		a.flushUpdatesLocked("")
	case msgPing:
		a.lastPing = time.Now()
		a.link.sendToMaster(msgPong{})
	case msgRunTask:
		a.runTaskLocked(msg)
	case msgKillTask:
		a.killTaskLocked(msg)
	case msgShutdownExecutor:
		if fw := a.frameworks[msg.fid]; fw != nil {
			if e := fw.executors[msg.eid]; e != nil {
				a.shutdownExecutorLocked(e)
			}
		}
	case msgShutdownFramework:
		a.shutdownFrameworkLocked(msg.fid)
	case msgAck:
		a.ackUpdateLocked(msg.fid, msg.tid, msg.uuid)
	case msgFrameworkMessage:
		if fw := a.frameworks[msg.fid]; fw != nil {
			if e := fw.executors[msg.eid]; e != nil && e.stream != nil {
				a.sendExecutorLocked(e, &executor.Event{Type: executor.Event_MESSAGE, Message: &executor.Event_Message{Data: msg.data}})
			}
		}
	case msgUpdateFramework:
		fid := msg.info.GetID().GetValue()
		if fw := a.frameworks[fid]; fw != nil {
			fw.info = msg.info
		}
		a.flushUpdatesLocked(fid)
	case msgCheckpointResources:
		a.total = msg.resources.Clone()
		a.syncVolumesLocked()
	case msgReconcileTasks:
		for _, tid := range msg.tids {
			if a.knowsTaskLocked(msg.fid, tid) {
				continue
			}
			state := mesos.TASK_LOST
			if msg.partitionAware {
				state = mesos.TASK_DROPPED
			}
			a.agentUpdateLocked(msg.fid, tid, "", state, mesos.REASON_RECONCILIATION, "Task is unknown to the agent")
		}
	case msgShutdownAgent:
		a.log.Info("master refused the agent: shutting down")
		a.dieLocked(false)
	}
}

func (a *agent) knowsTaskLocked(fid, tid string) bool {
	if s := a.updates[fid][tid]; s != nil {
		return true
	}
	if fw := a.frameworks[fid]; fw != nil {
		for _, e := range fw.executors {
			if _, ok := e.tasks[tid]; ok {
				return true
			}
		}
	}
	return false
}

// frameworkLocked returns the agent's entry of a framework, making it.
func (a *agent) frameworkLocked(info mesos.FrameworkInfo) *agentFramework {
	fid := info.GetID().GetValue()
	fw := a.frameworks[fid]
	if fw == nil {
		fw = &agentFramework{info: info, executors: map[string]*executorRun{}}
		a.frameworks[fid] = fw
	} else {
		fw.info = info
	}
	return fw
}

// runTaskLocked receives tasks from the master: they go to the running
// executor, or queue until it subscribes, launching it if needed.
func (a *agent) runTaskLocked(msg msgRunTask) {
	fid := msg.framework.GetID().GetValue()
	fw := a.frameworkLocked(msg.framework)
	pa := false
	for _, c := range msg.framework.Capabilities {
		if c.Type == mesos.FrameworkInfo_Capability_PARTITION_AWARE {
			pa = true
		}
	}
	eid := msg.executor.ExecutorID.Value
	e := fw.executors[eid]
	if fw.removing || (e != nil && e.state >= execTerminating) {
		state := mesos.TASK_LOST
		if pa {
			state = mesos.TASK_DROPPED
		}
		for _, ti := range msg.tasks {
			a.agentUpdateLocked(fid, ti.TaskID.Value, eid, state, mesos.REASON_EXECUTOR_TERMINATED, "Executor terminating")
		}
		return
	}
	if e == nil {
		e = a.newExecutorLocked(fw, msg.executor)
		fw.executors[eid] = e
	}
	for _, ti := range msg.tasks {
		e.tasks[ti.TaskID.Value] = &agentTask{info: ti, state: mesos.TASK_STAGING}
	}
	e.queued = append(e.queued, queuedLaunch{tasks: msg.tasks, group: msg.group})
	if e.state == execRunning && e.stream != nil {
		a.deliverQueuedLocked(e)
	}
}

// killTaskLocked handles a kill from the master.
func (a *agent) killTaskLocked(msg msgKillTask) {
	fw := a.frameworks[msg.fid]
	if fw != nil {
		for _, e := range fw.executors {
			t := e.tasks[msg.tid]
			if t == nil {
				continue
			}
			if !t.delivered {
				a.dropQueuedLocked(e, msg.tid)
				delete(e.tasks, msg.tid)
				a.agentUpdateLocked(msg.fid, msg.tid, e.id, mesos.TASK_KILLED, mesos.REASON_TASK_KILLED_DURING_LAUNCH,
					"Task killed before delivery to the executor")
				return
			}
			kp := msg.killPolicy
			if kp == nil {
				kp = t.info.KillPolicy
			}
			if e.stream == nil {
				// Disconnected (e.g. after an agent restart): sent when it
				// resubscribes.
				e.pendingKills[msg.tid] = kp
				return
			}
			a.sendExecutorLocked(e, &executor.Event{Type: executor.Event_KILL,
				Kill: &executor.Event_Kill{TaskID: mesos.TaskID{Value: msg.tid}, KillPolicy: kp}})
			return
		}
	}
	if s := a.updates[msg.fid][msg.tid]; s != nil {
		return // terminal, waiting for acknowledgement
	}
	state := mesos.TASK_LOST
	if fw != nil {
		for _, c := range fw.info.Capabilities {
			if c.Type == mesos.FrameworkInfo_Capability_PARTITION_AWARE {
				state = mesos.TASK_DROPPED
			}
		}
	}
	a.agentUpdateLocked(msg.fid, msg.tid, "", state, mesos.REASON_EXECUTOR_TERMINATED, "Cannot find executor")
}

// shutdownFrameworkLocked shuts down every executor of a removed framework
// and forgets its status updates.
func (a *agent) shutdownFrameworkLocked(fid string) {
	fw := a.frameworks[fid]
	if s := a.updates[fid]; s != nil {
		for _, st := range s {
			st.stopTimer()
		}
		delete(a.updates, fid)
	}
	if fw == nil {
		return
	}
	fw.removing = true
	for _, e := range fw.executors {
		a.shutdownExecutorLocked(e)
	}
	if len(fw.executors) == 0 {
		delete(a.frameworks, fid)
	}
}

// isCheckpointing reports the framework's checkpoint flag.
func (fw *agentFramework) checkpoint() bool { return fw.info.GetCheckpoint() }

// start brings a new agent up and registers it.
func (a *agent) start() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.listenLocked(); err != nil {
		return err
	}
	a.syncVolumesLocked()
	a.run = agentRunning
	a.connectLocked()
	a.lastPing = time.Now()
	a.pingTimer = time.AfterFunc(a.c.cfg.Timers.AgentPingTimeout, a.checkPings)
	return nil
}

// checkPings is the agent's side of the master's health checks, as in
// Mesos: a registered agent that got no ping for the master's ping timeout
// × max pings registers again with its id. The master pings only the
// agents it knows, so without this an agent the master marked unreachable
// over late pongs (a loaded machine) while its link stayed up would stay
// out of the cluster for good. It runs every ping timeout until the
// cluster closes.
func (a *agent) checkPings() {
	c := a.c
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	limit := c.cfg.Timers.AgentPingTimeout * time.Duration(c.cfg.Timers.MaxAgentPingTimeouts)
	if a.run != agentDead && a.registered && a.link != nil && a.link.getMode() == linkConnected && time.Since(a.lastPing) > limit {
		a.log.Info("no ping from the master; registering again", "agent", a.name, "id", a.id, "last_ping", a.lastPing)
		a.registered = false
		a.lastPing = time.Now()
		a.sendRegisterLocked()
		a.notifyLocked()
	}
	a.pingTimer.Reset(c.cfg.Timers.AgentPingTimeout)
}

// close stops the agent for good, killing every executor process group.
func (a *agent) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.dieLocked(false)
}

// waitRegistered blocks until the agent has an id from the master.
func (a *agent) waitRegistered(ctx context.Context) error {
	for {
		a.mu.Lock()
		ok, ch := a.registered && a.id != "", a.changed
		a.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("agent %s: waiting for registration: %w", a.name, ctx.Err())
		}
	}
}

// liveExecutorsLocked lists executors with a process, for shutdown.
func (a *agent) sortedExecutorsLocked() []*executorRun {
	var out []*executorRun
	for _, fw := range a.frameworks {
		for _, e := range fw.executors {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].fid+out[i].id < out[j].fid+out[j].id })
	return out
}
