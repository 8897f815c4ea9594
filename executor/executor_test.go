package executor

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"

	"github.com/arangomesos/arangomesos/executor/spec"
	"github.com/arangomesos/arangomesos/internal/testharness"
	"github.com/arangomesos/arangomesos/mesoslocal"
)

func TestMain(m *testing.M) { testharness.Main(m) }

const testSecret = "executor-test-secret"

// env is one test's Mesos: mesoslocal with three agents, the test
// framework, and the arangomesos binary the agents fetch.
type env struct {
	t   *testing.T
	mc  *mesoslocal.Cluster
	fw  *testFramework
	bin string
}

func newEnv(t *testing.T, caps ...mesos.FrameworkInfo_Capability_Type) *env {
	t.Helper()
	bin := testharness.Binary(t)
	mc := testharness.StartMesos(t, mesoslocal.Config{})
	return &env{t: t, mc: mc, fw: startFramework(t, mc, caps...), bin: bin}
}

// placed is a task of the test and where it runs.
type placed struct {
	info  mesos.TaskInfo
	agent *mesoslocal.Agent
	spec  spec.NodeSpec
}

// sandbox is the task's sandbox (one executor per task, named like it),
// found through Mesos's directory layout so that it is there after the
// executor ended too.
func (e *env) sandbox(p placed) string {
	e.t.Helper()
	if dir := p.agent.Sandbox(e.fw.fid, p.info.TaskID.Value); dir != "" {
		return dir
	}
	latest := filepath.Join(p.agent.WorkDir(), "slaves", p.info.AgentID.Value, "frameworks", e.fw.fid,
		"executors", p.info.Executor.ExecutorID.Value, "runs", "latest")
	dir, err := filepath.EvalSymlinks(latest)
	if err != nil {
		e.t.Fatalf("no sandbox for %s: %v", p.id(), err)
	}
	return dir
}

// taskOpts varies a test task.
type taskOpts struct {
	mod     func(*mesos.TaskInfo)
	modSpec func(*spec.NodeSpec)
	env     []string // executor environment, name=value
	uris    []string // further files fetched as executables
}

// launchNode launches a node of role on agent i (0-based): the Agency of
// one agent when role is AGENT, otherwise a server of the Agency agency.
func (e *env) launchNode(i int, role, name string, agency *placed, o taskOpts) placed {
	e.t.Helper()
	a := e.mc.Agents()[i]
	offer := e.fw.offer(a.ID())
	port := firstPort(e.t, offer)
	sp := spec.NodeSpec{Role: role, ServerID: map[string]string{"AGENT": "AGNT-", "DBSERVER": "PRMR-", "COORDINATOR": "CRDN-"}[role] + name,
		Address: a.Hostname(), Port: int(port), DataDir: "data", Secret: testSecret, LogLevel: "info"}
	if role == "AGENT" {
		sp.AgencySize, sp.AgencyEndpoints = 1, []string{sp.Endpoint()}
	} else {
		sp.AgencyEndpoints = []string{agency.spec.Endpoint()}
	}
	if role == "COORDINATOR" {
		sp.RootPassword = "pw-" + name
	}
	if o.modSpec != nil {
		o.modSpec(&sp)
	}
	info := e.taskInfo(name, a.ID(), port, sp.Encode(), o)
	e.fw.launch(offer, info)
	return placed{info: info, agent: a, spec: sp}
}

// taskInfo is a task for the arangomesos executor with a fast health check.
func (e *env) taskInfo(name, agentID string, port uint64, data []byte, o taskOpts) mesos.TaskInfo {
	shell, yes, no := true, true, false
	uris := []mesos.CommandInfo_URI{{Value: e.bin, Executable: &yes, Extract: &no, OutputFile: strPtr("arangomesos")}}
	for _, u := range o.uris {
		uris = append(uris, mesos.CommandInfo_URI{Value: u, Executable: &yes, Extract: &no})
	}
	var vars []mesos.Environment_Variable
	for _, kv := range o.env {
		k, v, _ := strings.Cut(kv, "=")
		vars = append(vars, mesos.Environment_Variable{Name: k, Value: strPtr(v)})
	}
	id := fmt.Sprintf("%s.%d", name, time.Now().UnixNano())
	info := mesos.TaskInfo{
		Name: name, TaskID: mesos.TaskID{Value: id}, AgentID: mesos.AgentID{Value: agentID},
		Resources: []mesos.Resource{scalar("cpus", 0.2), scalar("mem", 128),
			{Name: "ports", Type: mesos.RANGES.Enum(), Ranges: &mesos.Value_Ranges{Range: []mesos.Value_Range{{Begin: port, End: port}}}}},
		Executor: &mesos.ExecutorInfo{
			Type: mesos.ExecutorInfo_CUSTOM, ExecutorID: mesos.ExecutorID{Value: id},
			Command: &mesos.CommandInfo{Shell: &shell, Value: strPtr("./arangomesos executor"), URIs: uris,
				Environment: &mesos.Environment{Variables: vars}},
			Resources: []mesos.Resource{scalar("cpus", 0.05), scalar("mem", 32)},
		},
		Data: data,
		HealthCheck: &mesos.HealthCheck{Type: mesos.HealthCheck_HTTP,
			HTTP:         &mesos.HealthCheck_HTTPCheckInfo{Port: uint32(port), Path: strPtr(healthPath)},
			DelaySeconds: f64(0.2), IntervalSeconds: f64(0.5), TimeoutSeconds: f64(1), ConsecutiveFailures: u32(3),
			GracePeriodSeconds: f64(30)},
		KillPolicy: &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: int64(5 * time.Second)}},
	}
	if o.mod != nil {
		o.mod(&info)
	}
	return info
}

func firstPort(t *testing.T, o mesos.Offer) uint64 {
	for _, r := range o.Resources {
		if r.Name == "ports" && r.Ranges != nil && len(r.Ranges.Range) > 0 {
			return r.Ranges.Range[0].Begin
		}
	}
	t.Fatalf("offer %s has no ports", o.ID.Value)
	return 0
}

func scalar(name string, v float64) mesos.Resource {
	return mesos.Resource{Name: name, Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: v}}
}

func strPtr(s string) *string   { return &s }
func f64(f float64) *float64    { return &f }
func u32(u uint32) *uint32      { return &u }
func (p placed) id() string     { return p.info.TaskID.Value }
func (p placed) url() string    { return "http://" + strings.TrimPrefix(p.spec.Endpoint(), "tcp://") }
func nodePIDs(dir string) []int { return pidsMatching(dir, " node ") }

// pidsMatching returns the processes under dir whose command line holds s.
func pidsMatching(dir, s string) []int {
	var out []int
	for _, l := range testharness.ProcessesUnder(dir) {
		if strings.Contains(l+" ", s) {
			var pid int
			fmt.Sscan(l, &pid)
			out = append(out, pid)
		}
	}
	return out
}

// running waits for the task to run healthy, and checks that it went
// through TASK_STARTING first and was never RUNNING before it was healthy.
func (e *env) running(p placed) {
	e.t.Helper()
	e.fw.waitState(p.id(), mesos.TASK_RUNNING, 60*time.Second)
	ups := e.fw.updates(p.id())
	if ups[0].GetState() != mesos.TASK_STARTING {
		e.t.Fatalf("first update of %s is %s, want TASK_STARTING", p.id(), ups[0].GetState())
	}
	for _, u := range ups {
		if u.GetState() == mesos.TASK_RUNNING {
			if u.Healthy == nil || !*u.Healthy {
				e.t.Fatalf("%s: TASK_RUNNING before the node was healthy: %+v", p.id(), u)
			}
			return
		}
	}
}

// runningAgent launches an Agency of one agent on the first Mesos agent,
// waits for it to run healthy and returns it with its node's pid.
func (e *env) runningAgent() (placed, int) {
	e.t.Helper()
	agent := e.launchNode(0, "AGENT", "a1", nil, taskOpts{})
	e.running(agent)
	pids := nodePIDs(e.sandbox(agent))
	if len(pids) != 1 {
		e.t.Fatalf("node processes: %v", pids)
	}
	return agent, pids[0]
}

// gone waits until no process is left in the task's sandbox: the node is
// stopped and the executor has exited.
func (e *env) gone(p placed) {
	e.t.Helper()
	e.goneFrom(e.sandbox(p))
}

func (e *env) goneFrom(dir string) {
	e.t.Helper()
	testharness.Eventually(e.t, 30*time.Second, func() error {
		if left := testharness.ProcessesUnder(dir); len(left) > 0 {
			return fmt.Errorf("still running: %v", left)
		}
		return nil
	})
}

func TestLaunchEachRoleAndKill(t *testing.T) {
	e := newEnv(t, mesos.FrameworkInfo_Capability_TASK_KILLING_STATE)
	agent := e.launchNode(0, "AGENT", "a1", nil, taskOpts{})
	e.running(agent)
	db := e.launchNode(1, "DBSERVER", "d1", &agent, taskOpts{})
	coord := e.launchNode(2, "COORDINATOR", "c1", &agent, taskOpts{})
	e.running(db)
	e.running(coord)

	// The coordinator serves with the root password from its spec.
	testharness.Eventually(t, 30*time.Second, func() error {
		req, _ := http.NewRequest(http.MethodGet, coord.url()+"/_api/version", nil)
		req.SetBasicAuth("root", coord.spec.RootPassword)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /_api/version: %d", resp.StatusCode)
		}
		return nil
	})
	// The node's output is in the sandbox; its secret is readable only by it.
	out, err := os.ReadFile(filepath.Join(e.sandbox(coord), "stderr"))
	if err != nil || !strings.Contains(string(out), "coordinator serving") {
		t.Errorf("the coordinator's log is not in its sandbox's stderr (%v):\n%s", err, out)
	}
	if st, err := os.Stat(filepath.Join(e.sandbox(coord), ".arangomesos", "jwt-secret")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("secret file: %v %v", st, err)
	}

	// KILL: TASK_KILLING (the framework has the capability), SIGTERM,
	// a clean exit, TASK_KILLED; nothing left running.
	for _, p := range []placed{coord, db} {
		e.fw.kill(p.info, 10*time.Second)
		e.fw.waitState(p.id(), mesos.TASK_KILLING, 30*time.Second)
		killed := e.fw.waitState(p.id(), mesos.TASK_KILLED, 40*time.Second)
		if !strings.Contains(killed.GetMessage(), "exited with status 0") {
			t.Errorf("%s: the node did not stop cleanly on SIGTERM: %q", p.id(), killed.GetMessage())
		}
		e.gone(p)
	}
}

func TestNodeKilledBySIGKILLFailsTheTask(t *testing.T) {
	e := newEnv(t)
	agent, pid := e.runningAgent()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	failed := e.fw.waitState(agent.id(), mesos.TASK_FAILED, 30*time.Second)
	msg := failed.GetMessage()
	if !strings.Contains(msg, "killed by signal 9") || !strings.Contains(msg, "last output:") {
		t.Errorf("TASK_FAILED message lacks the exit status or the log tail: %q", msg)
	}
	if _, tail, _ := strings.Cut(msg, "last output:\n"); !strings.Contains(tail, "AGNT-a1") && !strings.Contains(tail, "agent") {
		t.Errorf("the log tail is not the node's: %q", tail)
	}
	e.gone(agent)
}

func TestHungNodeBecomesUnhealthyAndIsKilled(t *testing.T) {
	e := newEnv(t)
	agent, pid := e.runningAgent()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	unhealthy := e.fw.waitHealth(agent.id(), false, 30*time.Second)
	if unhealthy.GetState() != mesos.TASK_RUNNING {
		t.Errorf("unhealthy update in state %s", unhealthy.GetState())
	}
	failed := e.fw.waitState(agent.id(), mesos.TASK_FAILED, 30*time.Second)
	if failed.Healthy == nil || *failed.Healthy || failed.GetReason() != mesos.REASON_TASK_HEALTH_CHECK_STATUS_UPDATED ||
		!strings.Contains(failed.GetMessage(), "consecutive health checks failed") {
		t.Errorf("TASK_FAILED of a hung node: %+v", failed)
	}
	e.gone(agent)
}

func TestNodeIgnoringSIGTERMIsKilledAfterTheGracePeriod(t *testing.T) {
	e := newEnv(t)
	script := filepath.Join(t.TempDir(), "stubborn-node")
	if err := os.WriteFile(script, []byte("#!/bin/sh\ntrap '' TERM\necho 'stubborn node ignores SIGTERM'\nwhile :; do sleep 1; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	agent := e.launchNode(0, "AGENT", "a1", nil, taskOpts{uris: []string{script}, env: []string{"ARANGOMESOS_NODE_BINARY=stubborn-node"}})
	e.fw.waitState(agent.id(), mesos.TASK_STARTING, 30*time.Second)
	// It says so once its trap is set.
	testharness.Eventually(t, 10*time.Second, func() error {
		out, _ := os.ReadFile(filepath.Join(e.sandbox(agent), "stdout"))
		if !strings.Contains(string(out), "ignores SIGTERM") {
			return fmt.Errorf("the stubborn node has not started")
		}
		return nil
	})
	grace := 2 * time.Second
	start := time.Now()
	e.fw.kill(agent.info, grace)
	killed := e.fw.waitState(agent.id(), mesos.TASK_KILLED, 30*time.Second)
	if took := time.Since(start); took < grace {
		t.Errorf("TASK_KILLED after %v, before the %v grace period", took, grace)
	}
	if !strings.Contains(killed.GetMessage(), "killed by signal 9") {
		t.Errorf("the stubborn node was not SIGKILLed: %q", killed.GetMessage())
	}
	e.gone(agent)
}

func TestShutdownKillsTheTask(t *testing.T) {
	e := newEnv(t)
	agent := e.launchNode(0, "AGENT", "a1", nil, taskOpts{})
	e.running(agent)
	e.fw.mustCall(&scheduler.Call{Type: scheduler.Call_SHUTDOWN, Shutdown: &scheduler.Call_Shutdown{
		ExecutorID: agent.info.Executor.ExecutorID, AgentID: agent.info.AgentID}})
	e.fw.waitState(agent.id(), mesos.TASK_KILLED, 30*time.Second)
	e.gone(agent)
}

func TestAgentRestartResendsUnacknowledgedUpdates(t *testing.T) {
	e := newEnv(t)
	agent, pid := e.runningAgent()
	dir := e.sandbox(agent)
	// The node dies while the agent restarts: the executor cannot deliver
	// TASK_FAILED until it has resubscribed, and must carry it in SUBSCRIBE.
	if err := agent.agent.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	e.fw.waitState(agent.id(), mesos.TASK_FAILED, 60*time.Second)
	e.goneFrom(dir)
	// Nothing was duplicated: one update per uuid, one TASK_RUNNING and one
	// TASK_FAILED.
	seen := map[string]bool{}
	count := map[mesos.TaskState]int{}
	for _, u := range e.fw.updates(agent.id()) {
		if seen[string(u.UUID)] {
			continue // the agent's retry of an update whose ack crossed it
		}
		seen[string(u.UUID)] = true
		count[u.GetState()]++
	}
	if count[mesos.TASK_RUNNING] != 1 || count[mesos.TASK_FAILED] != 1 {
		t.Errorf("updates by state: %v\n%s", count, e.fw.describeUpdates())
	}
	log, _ := os.ReadFile(filepath.Join(dir, "stderr"))
	// TASK_FAILED at least; TASK_RUNNING too when its acknowledgement
	// crossed the restart.
	if !regexp.MustCompile(`"resent_updates":[12][,}]`).Match(log) {
		t.Errorf("the executor did not resend TASK_FAILED in its SUBSCRIBE:\n%s", log)
	}
}

func TestBadTasksFailWithoutStartingANode(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name string
		o    taskOpts
		want string
	}{
		{"no spec", taskOpts{mod: func(ti *mesos.TaskInfo) { ti.Data = nil }}, "carries no node spec"},
		{"wrong role", taskOpts{modSpec: func(s *spec.NodeSpec) { s.Role = "LEADER" }}, `role "LEADER"`},
		{"data directory outside the sandbox", taskOpts{modSpec: func(s *spec.NodeSpec) { s.DataDir = "../../elsewhere" }}, "inside the sandbox"},
		{"command health check", taskOpts{mod: func(ti *mesos.TaskInfo) {
			ti.HealthCheck = &mesos.HealthCheck{Type: mesos.HealthCheck_COMMAND, Command: &mesos.CommandInfo{Value: strPtr("true")}}
		}}, "COMMAND health checks are not supported"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := e.launchNode(0, "AGENT", "bad", nil, c.o)
			failed := e.fw.waitState(p.id(), mesos.TASK_FAILED, 30*time.Second)
			if failed.GetReason() != mesos.REASON_TASK_INVALID || !strings.Contains(failed.GetMessage(), c.want) {
				t.Errorf("TASK_FAILED %s %q, want REASON_TASK_INVALID and %q", failed.GetReason(), failed.GetMessage(), c.want)
			}
			for _, u := range e.fw.updates(p.id()) {
				if u.GetState() != mesos.TASK_FAILED {
					t.Errorf("a bad task got %s", u.GetState())
				}
			}
			e.gone(p)
			if _, err := os.Stat(filepath.Join(e.sandbox(p), "data")); err == nil {
				t.Errorf("a bad task made its data directory")
			}
		})
	}
}

func TestSecondLaunchIsRefused(t *testing.T) {
	e := newEnv(t)
	first := e.launchNode(0, "AGENT", "a1", nil, taskOpts{})
	e.running(first)
	// A second task for the same executor.
	a := e.mc.Agents()[0]
	offer := e.fw.offer(a.ID())
	second := e.taskInfo("second", a.ID(), firstPort(t, offer), first.spec.Encode(), taskOpts{})
	second.Executor = first.info.Executor
	second.Resources = second.Resources[:2]
	e.fw.launch(offer, second)
	failed := e.fw.waitState(second.TaskID.Value, mesos.TASK_FAILED, 30*time.Second)
	if !strings.Contains(failed.GetMessage(), "already runs task "+first.id()) {
		t.Errorf("second LAUNCH: %q", failed.GetMessage())
	}
	// The first task is untouched.
	for _, u := range e.fw.updates(first.id()) {
		if u.GetState() != mesos.TASK_STARTING && u.GetState() != mesos.TASK_RUNNING {
			t.Errorf("the first task got %s", u.GetState())
		}
	}
	if len(nodePIDs(e.sandbox(first))) != 1 {
		t.Errorf("the first task's node is not the only one running")
	}
}

func TestExecutorRefusesABadEnvironment(t *testing.T) {
	bin := testharness.Binary(t)
	sandbox := t.TempDir()
	full := []string{"MESOS_FRAMEWORK_ID=f", "MESOS_EXECUTOR_ID=e", "MESOS_DIRECTORY=" + sandbox, "MESOS_SANDBOX=" + sandbox,
		"MESOS_AGENT_ENDPOINT=127.0.0.1:5051", "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD=5secs", "MESOS_CHECKPOINT=0"}
	cases := []struct {
		name string
		env  []string
		want string
	}{
		{"no Mesos environment", nil, "missing environment variable: MESOS_FRAMEWORK_ID"},
		{"a Go duration", append(full[:5:5], "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD=5s"), `unknown duration unit`},
		{"bad agent endpoint", append(append([]string{}, full...), "MESOS_AGENT_ENDPOINT=nowhere"), "MESOS_AGENT_ENDPOINT"},
		{"no sandbox", append(append([]string{}, full...), "MESOS_SANDBOX=/nonexistent"), "MESOS_SANDBOX"},
		{"checkpointing without recovery timeout", append(append([]string{}, full...), "MESOS_CHECKPOINT=1"), "MESOS_RECOVERY_TIMEOUT"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(bin, "executor")
			cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, c.env...)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() == 0 || !strings.Contains(string(out), c.want) {
				t.Fatalf("exit %v, output %q; want a failure naming %q", err, out, c.want)
			}
		})
	}
}

func TestKilledDBServerHandsOverItsLeadershipsFirst(t *testing.T) {
	e := newEnv(t)
	agent := e.launchNode(0, "AGENT", "a1", nil, taskOpts{})
	e.running(agent)
	dbs := []placed{e.launchNode(1, "DBSERVER", "d1", &agent, taskOpts{}), e.launchNode(2, "DBSERVER", "d2", &agent, taskOpts{})}
	coord := e.launchNode(0, "COORDINATOR", "c1", &agent, taskOpts{})
	for _, p := range append(dbs, coord) {
		e.running(p)
	}
	root := func(r *http.Request) { r.SetBasicAuth("root", coord.spec.RootPassword) }
	testharness.Eventually(t, 30*time.Second, func() error {
		code, err := testharness.JSONRequest(http.MethodPost, coord.url()+"/_api/collection",
			map[string]any{"name": "c", "numberOfShards": 4, "replicationFactor": 2}, nil, root)
		if err == nil && code != http.StatusOK && code != http.StatusConflict {
			err = fmt.Errorf("create collection: %d", code)
		}
		return err
	})
	// shardLeaders maps each DBServer to the shards it leads.
	shardLeaders := func() (map[string][]string, error) {
		var dist struct {
			Results map[string]struct {
				Plan map[string]struct{ Leader string } `json:"Plan"`
			} `json:"results"`
		}
		if _, err := testharness.JSONRequest(http.MethodGet, coord.url()+"/_admin/cluster/shardDistribution", nil, &dist, root); err != nil {
			return nil, err
		}
		out := map[string][]string{}
		for shard, p := range dist.Results["c"].Plan {
			out[p.Leader] = append(out[p.Leader], shard)
		}
		return out, nil
	}
	var victim placed
	testharness.Eventually(t, 30*time.Second, func() error {
		leaders, err := shardLeaders()
		if err != nil {
			return err
		}
		for _, p := range dbs {
			if len(leaders[p.spec.ServerID]) > 0 {
				victim = p
				return nil
			}
		}
		return fmt.Errorf("no leaders yet: %v", leaders)
	})
	e.fw.kill(victim.info, 20*time.Second)
	e.fw.waitState(victim.id(), mesos.TASK_KILLED, 60*time.Second)
	log, _ := os.ReadFile(filepath.Join(e.sandbox(victim), "stderr"))
	if !strings.Contains(string(log), "pre-stop: DBServer leads no shard") {
		t.Errorf("the DBServer was stopped before it handed its leaderships over:\n%s", log)
	}
	leaders, err := shardLeaders()
	if err != nil || len(leaders[victim.spec.ServerID]) > 0 {
		t.Errorf("after the kill the DBServer still leads %v (%v)", leaders[victim.spec.ServerID], err)
	}
	e.gone(victim)
}
