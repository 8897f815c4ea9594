package mesoslocal

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/gogo/protobuf/proto"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
)

// execState is the life state of an executor on an agent.
type execState int

const (
	execLaunching   execState = iota // sandbox and fetcher, no process yet
	execRegistering                  // process started, not subscribed
	execRunning                      // subscribed
	execTerminating                  // being shut down or killed
	execTerminated                   // gone
)

// executorRun is one executor instance (one container) on an agent.
type executorRun struct {
	fid, id      string
	info         mesos.ExecutorInfo
	containerID  string
	sandbox      string
	state        execState
	stream       *eventStream
	queued       []queuedLaunch
	tasks        map[string]*agentTask
	pendingKills map[string]*mesos.KillPolicy // kills for a disconnected executor
	pid          int
	exited       bool
	launchedAny  bool // a task was ever delivered
	waitStatus   int32
	termReason   mesos.TaskStatus_Reason
	termMessage  string
	regTimer     *time.Timer
	killTimer    *time.Timer
	done         chan struct{}
}

// queuedLaunch is a task or task group waiting for the executor.
type queuedLaunch struct {
	tasks []mesos.TaskInfo
	group bool
}

// agentTask is an agent's book of one task.
type agentTask struct {
	info      mesos.TaskInfo
	state     mesos.TaskState
	delivered bool
}

func (e *executorRun) stopTimers() {
	if e.regTimer != nil {
		e.regTimer.Stop()
	}
	if e.killTimer != nil {
		e.killTimer.Stop()
	}
}

// killGroup SIGKILLs the executor's process group.
func (e *executorRun) killGroup() {
	if e.pid > 0 && !e.exited {
		_ = syscall.Kill(-e.pid, syscall.SIGKILL)
	}
}

// newExecutorLocked creates an executor and launches it in the background:
// sandbox, fetcher, then the process.
func (a *agent) newExecutorLocked(fw *agentFramework, info mesos.ExecutorInfo) *executorRun {
	fid := fw.info.GetID().GetValue()
	e := &executorRun{fid: fid, id: info.ExecutorID.Value, info: info, containerID: newUUID(),
		tasks: map[string]*agentTask{}, pendingKills: map[string]*mesos.KillPolicy{}, done: make(chan struct{}), termReason: mesos.REASON_EXECUTOR_TERMINATED}
	runs := filepath.Join(a.workDir, "slaves", a.id, "frameworks", fid, "executors", e.id, "runs")
	e.sandbox = filepath.Join(runs, e.containerID)
	env := a.executorEnvLocked(fw, e)
	epoch := a.epoch
	go a.launch(e, runs, env, epoch)
	return e
}

// executorEnvLocked is the environment of an executor, as in Mesos's
// executorEnvironment() with durations in stout units.
func (a *agent) executorEnvLocked(fw *agentFramework, e *executorRun) []string {
	t := a.c.cfg.Timers
	grace := t.ExecutorShutdownGracePeriod
	if g := e.info.ShutdownGracePeriod; g != nil && g.Nanoseconds > 0 {
		grace = time.Duration(g.Nanoseconds)
	}
	vars := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vars[k]; !ok {
			order = append(order, k)
		}
		vars[k] = v
	}
	if !a.c.cfg.NoInheritEnv {
		for _, k := range []string{"PATH", "HOME", "TMPDIR", "GOCOVERDIR"} {
			if v, ok := os.LookupEnv(k); ok {
				set(k, v)
			}
		}
	}
	set("MESOS_FRAMEWORK_ID", e.fid)
	set("MESOS_EXECUTOR_ID", e.id)
	set("MESOS_DIRECTORY", e.sandbox)
	set("MESOS_SANDBOX", e.sandbox)
	set("MESOS_AGENT_ENDPOINT", a.endpoint())
	set("MESOS_SLAVE_ID", a.id)
	set("MESOS_SLAVE_PID", a.pid())
	set("MESOS_HTTP_COMMAND_EXECUTOR", "0")
	set("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", stoutDuration(grace))
	if fw.checkpoint() {
		set("MESOS_CHECKPOINT", "1")
		set("MESOS_RECOVERY_TIMEOUT", stoutDuration(t.RecoveryTimeout))
		set("MESOS_SUBSCRIPTION_BACKOFF_MAX", stoutDuration(t.ExecutorReregistrationTimeout))
	} else {
		set("MESOS_CHECKPOINT", "0")
	}
	set("LIBPROCESS_PORT", "0")
	for _, k := range sortedIDs(a.c.cfg.ExecutorEnv) {
		set(k, a.c.cfg.ExecutorEnv[k])
	}
	if env := e.info.GetCommand().GetEnvironment(); env != nil {
		for _, v := range env.Variables {
			if v.Type == nil || v.GetType() == mesos.Environment_Variable_VALUE {
				set(v.Name, v.GetValue())
			}
		}
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+vars[k])
	}
	return out
}

// launch prepares the sandbox, fetches the URIs and starts the process. A
// failure fails the executor's tasks with REASON_CONTAINER_LAUNCH_FAILED.
func (a *agent) launch(e *executorRun, runs string, env []string, epoch int) {
	fail := func(err error) {
		a.log.Warn("executor launch failed", "framework", e.fid, "executor", e.id, "error", err)
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.epoch != epoch {
			return
		}
		e.termReason = mesos.REASON_CONTAINER_LAUNCH_FAILED
		e.termMessage = "Failed to launch container: " + err.Error()
		e.exited = true
		close(e.done)
		a.executorTerminatedLocked(e)
		a.notifyLocked()
	}
	if err := os.MkdirAll(e.sandbox, 0o755); err != nil {
		fail(fmt.Errorf("sandbox: %w", err))
		return
	}
	latest := filepath.Join(runs, "latest")
	_ = os.Remove(latest)
	if err := os.Symlink(e.containerID, latest); err != nil {
		fail(fmt.Errorf("latest symlink: %w", err))
		return
	}
	cmdInfo := e.info.GetCommand()
	if err := fetchAll(a.c.cfg, cmdInfo.URIs, e.sandbox); err != nil {
		fail(err)
		return
	}
	cmd, err := buildCommand(cmdInfo, e.sandbox, env)
	if err != nil {
		fail(err)
		return
	}
	stdout, err1 := os.OpenFile(filepath.Join(e.sandbox, "stdout"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	stderr, err2 := os.OpenFile(filepath.Join(e.sandbox, "stderr"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err1 != nil || err2 != nil {
		fail(fmt.Errorf("stdout/stderr: %v %v", err1, err2))
		return
	}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	a.mu.Lock()
	if a.epoch != epoch || e.state != execLaunching {
		stdout.Close()
		stderr.Close()
		if a.epoch == epoch && !e.exited {
			// Shut down (framework removed, SHUTDOWN) before it started.
			e.exited = true
			close(e.done)
			e.termMessage = "Executor shut down before it started"
			a.executorTerminatedLocked(e)
			a.notifyLocked()
		}
		a.mu.Unlock()
		return
	}
	err = cmd.Start()
	stdout.Close()
	stderr.Close()
	if err != nil {
		a.mu.Unlock()
		fail(fmt.Errorf("start: %w", err))
		return
	}
	e.pid = cmd.Process.Pid
	e.state = execRegistering
	a.log.Info("executor started", "framework", e.fid, "executor", e.id, "pid", e.pid, "sandbox", e.sandbox)
	e.regTimer = time.AfterFunc(a.c.cfg.Timers.ExecutorRegistrationTimeout, func() { a.registrationTimeout(e) })
	a.notifyLocked()
	a.mu.Unlock()
	go a.wait(e, cmd)
}

// buildCommand turns CommandInfo into a process: shell (the default) runs
// /bin/sh -c value; otherwise value is executed with argv = arguments.
func buildCommand(ci *mesos.CommandInfo, dir string, env []string) (*exec.Cmd, error) {
	if ci == nil || ci.GetValue() == "" {
		return nil, fmt.Errorf("empty command")
	}
	var cmd *exec.Cmd
	if ci.Shell == nil || ci.GetShell() {
		cmd = exec.Command("/bin/sh", "-c", ci.GetValue())
	} else {
		path := ci.GetValue()
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
			if _, err := os.Stat(path); err != nil {
				lp, lerr := exec.LookPath(ci.GetValue())
				if lerr != nil {
					return nil, fmt.Errorf("command %q: %w", ci.GetValue(), err)
				}
				path = lp
			}
		}
		args := ci.Arguments
		if len(args) == 0 {
			args = []string{ci.GetValue()}
		}
		cmd = &exec.Cmd{Path: path, Args: args}
	}
	if u := ci.GetUser(); u != "" {
		if cur, err := user.Current(); err == nil && cur.Username != u && u != "root" {
			return nil, fmt.Errorf("cannot run as user %q: mesoslocal runs executors as %q", u, cur.Username)
		}
	}
	cmd.Dir = dir
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd, nil
}

// wait reaps the executor process and handles its exit.
func (a *agent) wait(e *executorRun, cmd *exec.Cmd) {
	err := cmd.Wait()
	status := int32(0)
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
		status = int32(ws)
	} else if err != nil {
		status = 1 << 8
	}
	// Whatever the leader did, its group goes with it.
	_ = syscall.Kill(-e.pid, syscall.SIGKILL)
	a.mu.Lock()
	defer a.mu.Unlock()
	e.exited = true
	e.waitStatus = status
	close(e.done)
	a.log.Info("executor exited", "framework", e.fid, "executor", e.id, "status", status)
	if fw := a.frameworks[e.fid]; fw == nil || fw.executors[e.id] != e {
		// Forgotten by a reboot or by a restart (non-checkpointing framework).
		a.notifyLocked()
		return
	}
	if a.run != agentRunning {
		// Dead or recovering agents learn about it when they recover.
		a.notifyLocked()
		return
	}
	a.executorTerminatedLocked(e)
	a.notifyLocked()
}

// executorTerminatedLocked fails the executor's non-terminal tasks, tells
// the master and forgets the executor.
func (a *agent) executorTerminatedLocked(e *executorRun) {
	if e.state == execTerminated {
		return
	}
	e.state = execTerminated
	e.stopTimers()
	if e.stream != nil {
		e.stream.close()
		e.stream = nil
	}
	for _, tid := range sortedIDs(e.tasks) {
		t := e.tasks[tid]
		if isTerminal(t.state) {
			continue
		}
		state := mesos.TASK_FAILED
		msg := e.termMessage
		if msg == "" {
			msg = "Executor terminated"
		}
		if !t.delivered && e.termReason == mesos.REASON_EXECUTOR_TERMINATED {
			msg = "Executor terminated before the task was delivered"
		}
		t.state = state
		a.agentUpdateLocked(e.fid, tid, e.id, state, e.termReason, msg)
	}
	if fw := a.frameworks[e.fid]; fw != nil {
		if fw.executors[e.id] == e {
			delete(fw.executors, e.id)
		}
		if fw.removing && len(fw.executors) == 0 {
			delete(a.frameworks, e.fid)
		}
	}
	if a.link != nil {
		a.link.sendToMaster(msgExecutorExited{fid: e.fid, eid: e.id, status: e.waitStatus, hasStatus: e.pid > 0})
	}
}

// registrationTimeout destroys an executor that never subscribed.
func (a *agent) registrationTimeout(e *executorRun) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if e.state != execRegistering || a.run != agentRunning {
		return
	}
	a.log.Warn("executor registration timeout", "framework", e.fid, "executor", e.id)
	e.termReason = mesos.REASON_EXECUTOR_REGISTRATION_TIMEOUT
	e.termMessage = "Executor did not register within " + a.c.cfg.Timers.ExecutorRegistrationTimeout.String()
	e.state = execTerminating
	e.killGroup()
}

// shutdownExecutorLocked sends SHUTDOWN and SIGKILLs the process group
// after the grace period (ExecutorInfo.shutdown_grace_period or the agent
// default); an executor that never subscribed is killed at once.
func (a *agent) shutdownExecutorLocked(e *executorRun) {
	if e.state >= execTerminating {
		return
	}
	prev := e.state
	e.state = execTerminating
	if prev == execLaunching {
		return // launch notices the state and does not start the process
	}
	if e.stream == nil || prev != execRunning {
		e.killGroup()
		return
	}
	a.sendExecutorLocked(e, &executor.Event{Type: executor.Event_SHUTDOWN})
	grace := a.c.cfg.Timers.ExecutorShutdownGracePeriod
	if g := e.info.ShutdownGracePeriod; g != nil && g.Nanoseconds > 0 {
		grace = time.Duration(g.Nanoseconds)
	}
	e.killTimer = time.AfterFunc(grace, func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		e.killGroup()
	})
}

// sendExecutorLocked queues an event on an executor's subscription.
func (a *agent) sendExecutorLocked(e *executorRun, ev *executor.Event) {
	if e.stream == nil {
		return
	}
	if e.stream.send(ev) {
		a.c.tap.executorEvent(e.fid, a.id, e.id, ev)
	}
}

// deliverQueuedLocked sends queued tasks to a subscribed executor, linking
// persistent volumes into the sandbox first.
func (a *agent) deliverQueuedLocked(e *executorRun) {
	q := e.queued
	e.queued = nil
	for _, ql := range q {
		var tasks []mesos.TaskInfo
		for _, ti := range ql.tasks {
			if t := e.tasks[ti.TaskID.Value]; t != nil && !t.delivered {
				tasks = append(tasks, ti)
			}
		}
		if len(tasks) == 0 {
			continue
		}
		for _, ti := range tasks {
			if err := a.linkVolumesLocked(e, ti); err != nil {
				a.log.Error("volume link", "task", ti.TaskID.Value, "error", err)
			}
			e.tasks[ti.TaskID.Value].delivered = true
		}
		e.launchedAny = true
		if ql.group {
			a.sendExecutorLocked(e, &executor.Event{Type: executor.Event_LAUNCH_GROUP,
				LaunchGroup: &executor.Event_LaunchGroup{TaskGroup: mesos.TaskGroupInfo{Tasks: tasks}}})
			continue
		}
		for _, ti := range tasks {
			a.sendExecutorLocked(e, &executor.Event{Type: executor.Event_LAUNCH, Launch: &executor.Event_Launch{Task: ti}})
		}
	}
}

// dropQueuedLocked removes a task from the executor's queue.
func (a *agent) dropQueuedLocked(e *executorRun, tid string) {
	for i := range e.queued {
		ts := e.queued[i].tasks[:0:0]
		for _, ti := range e.queued[i].tasks {
			if ti.TaskID.Value != tid {
				ts = append(ts, ti)
			}
		}
		e.queued[i].tasks = ts
	}
}

// agentStatus builds an agent-generated update (SOURCE_AGENT, with uuid).
func (a *agent) agentStatus(tid, eid string, state mesos.TaskState, reason mesos.TaskStatus_Reason, msg string) mesos.TaskStatus {
	st := mesos.TaskStatus{TaskID: mesos.TaskID{Value: tid}, State: state.Enum(), Source: mesos.SOURCE_AGENT.Enum(),
		Reason: reason.Enum(), Message: proto.String(msg), UUID: newUUIDBytes(), Timestamp: proto.Float64(nowSeconds())}
	if a.id != "" {
		st.AgentID = &mesos.AgentID{Value: a.id}
	}
	if eid != "" {
		st.ExecutorID = &mesos.ExecutorID{Value: eid}
	}
	return st
}

// agentUpdateLocked generates a reliable agent update for a task.
func (a *agent) agentUpdateLocked(fid, tid, eid string, state mesos.TaskState, reason mesos.TaskStatus_Reason, msg string) {
	a.statusUpdateLocked(fid, a.agentStatus(tid, eid, state, reason, msg))
}

// pidString is for logs.
func pidString(pid int) string { return strconv.Itoa(pid) }
