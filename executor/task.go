package executor

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/arangomesos/arangomesos/executor/spec"
	"github.com/arangomesos/arangomesos/internal/localcluster"
	"github.com/arangomesos/arangomesos/node/cluster"
)

const (
	// defaultKillGrace is the SIGTERM→SIGKILL wait when neither the KILL
	// nor the task names a kill policy.
	defaultKillGrace = 10 * time.Second
	// healthKillGrace is the wait before SIGKILL for a node killed because
	// it stopped answering: it has had its chance.
	healthKillGrace = 5 * time.Second
	// maxPreStop bounds a DBServer's handover before SIGTERM.
	maxPreStop = 15 * time.Second
	// reapTimeout bounds the wait for a SIGKILLed node to be reaped.
	reapTimeout = 10 * time.Second
)

// statusReport is one task state change for the agent.
type statusReport struct {
	State   mesos.TaskState
	Healthy *bool
	Reason  *mesos.TaskStatus_Reason
	Message string
}

// killRequest asks a task to stop its node.
type killRequest struct {
	grace time.Duration
	why   string
	// killing: report TASK_KILLING first (the framework understands it).
	killing bool
}

// task runs the node of one Mesos task: it prepares the sandbox, starts the
// node, reports TASK_STARTING at once and TASK_RUNNING when the node first
// passes its health check, follows its health, and stops it on request.
// Every state change goes to report; the last one is terminal.
type task struct {
	info   mesos.TaskInfo
	spec   *spec.NodeSpec
	policy HealthPolicy
	grace  time.Duration
	cfg    Config
	log    *slog.Logger
	report func(statusReport)

	kills chan killRequest
	done  chan struct{} // closed after the terminal report
}

// newTask checks a launched task: it must carry a valid node spec (in
// TaskInfo.data) and a health check the executor can run. It fails with
// ErrBadTask and starts nothing otherwise.
func newTask(info mesos.TaskInfo, cfg Config, log *slog.Logger, report func(statusReport)) (*task, error) {
	if info.Command != nil {
		return nil, fmt.Errorf("%w: the task has a command; arangomesos tasks carry a node spec in data", ErrBadTask)
	}
	sp, err := spec.Decode(info.Data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadTask, err)
	}
	policy, err := PolicyFor(info.HealthCheck, sp)
	if err != nil {
		return nil, err
	}
	grace := defaultKillGrace
	if g := info.GetKillPolicy().GetGracePeriod(); g != nil {
		grace = time.Duration(g.Nanoseconds)
	}
	return &task{info: info, spec: sp, policy: policy, grace: grace, cfg: cfg,
		log: log.With("task", info.TaskID.Value, "role", sp.Role, "server", sp.ServerID), report: report,
		kills: make(chan killRequest, 1), done: make(chan struct{})}, nil
}

// kill asks the task to stop its node; a task already stopping keeps its
// first request.
func (t *task) kill(k killRequest) {
	select {
	case t.kills <- k:
	default:
	}
}

// Done is closed once the task has sent its terminal update.
func (t *task) Done() <-chan struct{} { return t.done }

// run is the task's life; ctx ending is a kill with the task's grace.
func (t *task) run(ctx context.Context) {
	defer close(t.done)
	t.report(statusReport{State: mesos.TASK_STARTING,
		Message: fmt.Sprintf("starting %s %s at %s", t.spec.Role, t.spec.ServerID, t.spec.Endpoint())})
	args, err := t.prepare()
	if err != nil {
		t.fail(nil, fmt.Sprintf("cannot prepare the node: %v", err))
		return
	}
	proc, err := startNode(t.cfg.NodeBinary, args, t.cfg.Sandbox, t.cfg.Stdout, t.cfg.Stderr)
	if err != nil {
		t.fail(nil, err.Error())
		return
	}
	t.log.Info("node started", "pid", proc.pid, "endpoint", t.spec.Endpoint(), "data", t.spec.DataDir)
	t.follow(ctx, proc)
}

// prepare makes the data directory (the volume's mount for agents and
// DBServers, a sandbox directory for coordinators), writes the secrets to
// files only the node reads, and returns the node's arguments.
func (t *task) prepare() ([]string, error) {
	dataDir := filepath.Join(t.cfg.Sandbox, t.spec.DataDir)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	private := filepath.Join(t.cfg.Sandbox, ".arangomesos")
	if err := os.MkdirAll(private, 0o700); err != nil {
		return nil, fmt.Errorf("secrets directory: %w", err)
	}
	secretFile := filepath.Join(private, "jwt-secret")
	if err := os.WriteFile(secretFile, []byte(t.spec.Secret), 0o600); err != nil {
		return nil, fmt.Errorf("write secret: %w", err)
	}
	ns := localcluster.NodeSpec{Role: cluster.Role(t.spec.Role), ID: t.spec.ServerID, Endpoint: t.spec.Endpoint(),
		DataDir: dataDir, Agency: t.spec.AgencyEndpoints, AgencySize: t.spec.AgencySize, SecretFile: secretFile,
		LogLevel: t.spec.LogLevel, Extra: t.spec.Args}
	if t.spec.RootPassword != "" {
		ns.RootPasswordFile = filepath.Join(private, "root-password")
		if err := os.WriteFile(ns.RootPasswordFile, []byte(t.spec.RootPassword), 0o600); err != nil {
			return nil, fmt.Errorf("write root password: %w", err)
		}
	}
	return localcluster.NodeArgs(ns), nil
}

// follow probes the node's health and waits for its end or a kill.
func (t *task) follow(ctx context.Context, proc *nodeProcess) {
	probes := make(chan error)
	pctx, stopProbes := context.WithCancel(ctx)
	defer stopProbes()
	go t.probe(pctx, probes)
	tracker := NewHealthTracker(t.policy, time.Now())
	for {
		select {
		case <-proc.Done():
			_ = proc.Signal(syscall.SIGKILL) // anything the node left in its group
			if proc.CleanExit() {
				t.report(statusReport{State: mesos.TASK_FINISHED, Message: "node shut down cleanly (exit status 0)"})
				return
			}
			t.fail(nil, fmt.Sprintf("node %s; last output:\n%s", proc.ExitStatus(), proc.Tail()))
			return
		case k := <-t.kills:
			t.stop(ctx, proc, k)
			return
		case <-ctx.Done():
			t.stop(context.Background(), proc, killRequest{grace: t.grace, why: "the executor is stopping"})
			return
		case perr := <-probes:
			v := tracker.Observe(perr, time.Now())
			if v.Report {
				t.reportHealth(v, perr)
			}
			if v.Kill {
				stopProbes()
				t.log.Warn("node failed its health checks; killing it", "failures", v.Failures, "err", perr)
				t.terminate(proc, healthKillGrace)
				what := "stopped answering"
				if !tracker.EverHealthy() {
					what = fmt.Sprintf("did not become healthy within its %v grace period", t.policy.GracePeriod)
				}
				t.fail(boolPtr(false), fmt.Sprintf("node %s: %d consecutive health checks failed (last: %v); killed, %s",
					what, v.Failures, perr, proc.ExitStatus()))
				return
			}
		}
	}
}

// reportHealth sends a health change: the first success turns the task
// TASK_RUNNING.
func (t *task) reportHealth(v Verdict, perr error) {
	if v.Healthy {
		t.log.Info("node is healthy")
		t.report(statusReport{State: mesos.TASK_RUNNING, Healthy: boolPtr(true),
			Reason:  mesos.REASON_TASK_HEALTH_CHECK_STATUS_UPDATED.Enum(),
			Message: "node answers its health check"})
		return
	}
	t.log.Warn("node is unhealthy", "err", perr)
	t.report(statusReport{State: mesos.TASK_RUNNING, Healthy: boolPtr(false),
		Reason:  mesos.REASON_TASK_HEALTH_CHECK_STATUS_UPDATED.Enum(),
		Message: fmt.Sprintf("health check failed: %v", perr)})
}

// probe sends a probe result every interval after the delay until ctx ends.
func (t *task) probe(ctx context.Context, out chan<- error) {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	wait := time.NewTimer(t.policy.Delay)
	defer wait.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-wait.C:
		}
		err := t.policy.Probe(ctx, client)
		select {
		case out <- err:
		case <-ctx.Done():
			return
		}
		wait.Reset(t.policy.Interval)
	}
}

// stop handles a kill: TASK_KILLING if the framework wants it, the
// role's pre-stop, then SIGTERM, the grace period and SIGKILL; TASK_KILLED.
func (t *task) stop(ctx context.Context, proc *nodeProcess, k killRequest) {
	t.log.Info("killing the node", "why", k.why, "grace", k.grace)
	if k.killing {
		t.report(statusReport{State: mesos.TASK_KILLING, Message: k.why})
	}
	select {
	case <-proc.Done():
	default:
		pctx, cancel := context.WithTimeout(ctx, min(k.grace/2, maxPreStop))
		preStop(pctx, t.spec, t.log)
		cancel()
	}
	t.terminate(proc, k.grace)
	t.report(statusReport{State: mesos.TASK_KILLED, Message: fmt.Sprintf("%s: node %s", k.why, proc.ExitStatus())})
}

// terminate sends SIGTERM (and SIGCONT, so a stopped node can act on it)
// to the node's group, waits up to grace, then SIGKILLs the group.
func (t *task) terminate(proc *nodeProcess, grace time.Duration) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGCONT} {
		if err := proc.Signal(sig); err != nil {
			t.log.Warn("signal", "err", err)
		}
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-proc.Done():
	case <-timer.C:
		t.log.Warn("node did not stop within its grace period; SIGKILL", "grace", grace)
	}
	// SIGKILL the group even after a clean exit: nothing of it survives.
	if err := proc.Signal(syscall.SIGKILL); err != nil {
		t.log.Warn("signal", "err", err)
	}
	select {
	case <-proc.Done():
	case <-time.After(reapTimeout):
		t.log.Error("node not reaped after SIGKILL", "pid", proc.pid)
	}
}

// fail sends TASK_FAILED.
func (t *task) fail(healthy *bool, msg string) {
	t.log.Error("task failed", "msg", msg)
	var reason *mesos.TaskStatus_Reason
	if healthy != nil {
		reason = mesos.REASON_TASK_HEALTH_CHECK_STATUS_UPDATED.Enum()
	}
	t.report(statusReport{State: mesos.TASK_FAILED, Healthy: healthy, Reason: reason, Message: msg})
}
