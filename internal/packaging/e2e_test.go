package packaging

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/internal/testharness"
	"github.com/arangomesos/arangomesos/mesoslocal"
	"github.com/go-zookeeper/zk"
)

// The whole package, end to end: the Universe template rendered with a
// user's options file is deployed with scripts/deploy-marathon.sh to a
// Marathon stand-in that runs the app as Marathon does (the binary fetched
// from a file server into a sandbox, cmd run by /bin/sh -c with PORT0, HOST
// and MESOS_SANDBOX), against a mesoslocal Mesos with three agents. The real
// scheduler deploys a cluster; the script returns once the app's health check
// path answers 200; the coordinators serve ArangoDB's API with the root
// password from the secret store; then scripts/remove-marathon.sh uninstalls
// the cluster through the scheduler and deletes the app, and Mesos is left
// with no task, reservation or volume of it.
func TestEndToEndDeployAndRemove(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end: starts Mesos, the scheduler and a database cluster")
	}
	bin := testharness.Binary(t)
	requireCommands(t, bin, map[string]string{
		"scheduler": "the scheduler (issues 7 and 8)",
		"executor":  "the custom executor that runs every database task (issue 6)",
		"node":      "the database node",
	})
	ctx := testharness.Context(t, 8*time.Minute)
	work := t.TempDir()
	mc := startMesos(t, work)
	// The user's options: this Mesos, the state in the sandbox (no
	// ZooKeeper here), the API token and root password from the secret store.
	appFile, app := writeApp(t, bin, work, fmt.Sprintf(`{"service": {"name": "e2e-db", "mesos_master": %q, "zookeeper": "",
		"api_token_secret": "e2e/token", "log_level": "debug"}, "database": {"root_password_secret": "e2e/root"}}`, mc.MasterURL()))

	m := newSimMarathon(t)
	m.secrets = map[string]string{"e2e/token": "e2e-api-token", "e2e/root": "e2e root password"}

	stdout, stderr, err := runScript(t, "deploy-marathon.sh", []string{"ARANGOMESOS_POLL=250ms"}, m.URL(), appFile, "--wait", "6m")
	if err != nil {
		t.Fatalf("deploy: %v\n%s", err, stderr)
	}
	a := m.app(app.ID)
	if a == nil || a.task == nil {
		t.Fatalf("no task: %s", stderr)
	}
	schedURL := fmt.Sprintf("http://%s:%d", a.task.host, a.task.port)
	if !strings.Contains(stdout, "the cluster serves; scheduler at "+schedURL) {
		t.Errorf("deploy output: %q", stdout)
	}
	// The health check, exactly as the app declares it, answers 200.
	hc := app.HealthChecks[0]
	resp, err := http.Get(fmt.Sprintf("http://%s:%d%s", a.task.host, a.task.port, hc.Path))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("%s answers %d", hc.Path, resp.StatusCode)
	}
	// The state is where the package put it, and the binary came from the
	// fetch URI.
	if _, err := os.Stat(filepath.Join(a.task.sandbox, "state")); err != nil {
		t.Errorf("no state in the sandbox: %v", err)
	}

	// The coordinator endpoints (what the post-install notes point at),
	// read with the token from the secret store, serve ArangoDB's API with
	// the root password from the secret store.
	var eps struct{ Coordinators []string }
	getJSON(t, schedURL+"/v1/endpoints", "Bearer e2e-api-token", &eps)
	if len(eps.Coordinators) != 2 {
		t.Fatalf("coordinators: %v", eps.Coordinators)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, eps.Coordinators[0]+"/_api/version", nil)
	req.SetBasicAuth("root", "e2e root password")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("coordinator /_api/version with the root password: HTTP %d", resp.StatusCode)
	}
	if st := mc.State(); len(frameworkTasks(st, "e2e-db")) != 8 {
		t.Errorf("want 8 running tasks (3 agents, 3 DBServers, 2 coordinators), got %v", frameworkTasks(st, "e2e-db"))
	}

	// Remove: uninstall through the scheduler, then the app goes.
	removeApp(t, m, app.ID, "e2e-api-token", 4*time.Minute)
	st := mc.State()
	for _, f := range st.Frameworks {
		if f.Name == "e2e-db" {
			t.Errorf("framework still registered with %d tasks", len(f.Tasks))
		}
	}
	for _, ag := range st.Agents {
		if len(ag.Reserved) > 0 || len(ag.Volumes) > 0 {
			t.Errorf("agent %s keeps reservations %v and volumes %v", ag.Hostname, ag.Reserved, ag.Volumes)
		}
	}
}

func getJSON(t *testing.T, url, auth string, out any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	req.Header.Set("Authorization", auth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

func frameworkTasks(st mesoslocal.State, name string) []string {
	var tasks []string
	for _, f := range st.Frameworks {
		if f.Name != name {
			continue
		}
		for _, tk := range f.Tasks {
			if tk.State.String() == "TASK_RUNNING" {
				tasks = append(tasks, tk.ID)
			}
		}
	}
	return tasks
}

// requireCommands skips the test, naming what it waits for, unless the
// arangomesos binary has every subcommand in want (name → what it is).
func requireCommands(t *testing.T, bin string, want map[string]string) {
	t.Helper()
	out, _ := exec.Command(bin, "help").CombinedOutput()
	have := map[string]bool{}
	inList := false
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "Commands:") {
			inList = true
			continue
		}
		if f := strings.Fields(line); inList && len(f) > 0 && strings.HasPrefix(line, "  ") {
			have[f[0]] = true
		}
	}
	var missing []string
	for name, what := range want {
		if !have[name] {
			missing = append(missing, fmt.Sprintf("`arangomesos %s` (%s)", name, what))
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Skipf("waits for %s: the binary does not have it yet, so the deployed scheduler could not run the cluster", strings.Join(missing, " and "))
	}
}

// The part of the end-to-end path that needs no database: the real
// scheduler, started from the rendered app as Marathon starts it, accepts its
// environment, listens on PORT0, passes Marathon's health check (a Mesos
// HTTP check: any 2xx), registers its framework with the master under the
// service name, keeps its state where the package says (the sandbox, or
// ZooKeeper at /dcos-service-<name> as on DC/OS), serves its own binary to
// the tasks at the advertised URL, and takes the API token from the secret
// store. Then remove-marathon.sh uninstalls it through the scheduler and
// deletes the app, and the state is gone.
func TestRealSchedulerStartsFromTheApp(t *testing.T) {
	bin := testharness.Binary(t)
	requireCommands(t, bin, map[string]string{"scheduler": "the scheduler (issues 7 and 8)"})
	t.Run("sandbox state", func(t *testing.T) { testRealScheduler(t, bin, "") })
	t.Run("zookeeper state", func(t *testing.T) { testRealScheduler(t, bin, testharness.StartZooKeeper(t)) })
}

func testRealScheduler(t *testing.T, bin, zkAddr string) {
	work := t.TempDir()
	mc := startMesos(t, work)
	appFile, _ := writeApp(t, bin, work, fmt.Sprintf(`{"service": {"name": "sched-only", "mesos_master": %q, "zookeeper": %q,
		"api_token_secret": "t/token"}}`, mc.MasterURL(), zkAddr))
	m := newSimMarathon(t)
	m.secrets = map[string]string{"t/token": "sched-token"}
	if _, stderr, err := runScript(t, "deploy-marathon.sh", nil, m.URL(), appFile, "--wait", "0"); err != nil {
		t.Fatalf("deploy: %v\n%s", err, stderr)
	}
	a := m.app("/sched-only")
	if a == nil || a.task == nil {
		t.Fatal("no task")
	}
	schedURL := fmt.Sprintf("http://%s:%d", a.task.host, a.task.port)
	testharness.Eventually(t, time.Minute, func() error {
		m.mu.Lock()
		ok := m.healthy(a)
		m.mu.Unlock()
		if !ok {
			return fmt.Errorf("Marathon's health check of %s/v1/health fails", schedURL)
		}
		for _, f := range mc.State().Frameworks {
			if f.Name == "sched-only" && f.Connected {
				return nil
			}
		}
		return fmt.Errorf("no connected framework sched-only at the master")
	})
	var state map[string]any
	getJSON(t, schedURL+"/v1/state", "Bearer sched-token", &state)
	resp, err := http.Get(schedURL + "/v1/artifacts/arangomesos")
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if fi, err := os.Stat(bin); err != nil || resp.StatusCode != 200 || n != fi.Size() {
		t.Errorf("artifact: HTTP %d, %d bytes, want the binary (%v)", resp.StatusCode, n, err)
	}
	// The state: a file under the sandbox, or znodes under
	// /dcos-service-<name>.
	stateExists := func() bool {
		if zkAddr == "" {
			_, err := os.Stat(filepath.Join(a.task.sandbox, "state"))
			return err == nil
		}
		c, _, err := zk.Connect([]string{zkAddr}, 5*time.Second, testharness.ZKQuiet())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		children, _, err := c.Children("/dcos-service-sched-only")
		if err == zk.ErrNoNode {
			return false
		}
		if err != nil {
			t.Fatal(err)
		}
		return len(children) > 0
	}
	if !stateExists() {
		t.Fatal("the scheduler's state is not where the package puts it")
	}

	removeApp(t, m, "/sched-only", "sched-token", 3*time.Minute)
	for _, f := range mc.State().Frameworks {
		if f.Name == "sched-only" {
			t.Errorf("framework still registered after the uninstall")
		}
	}
	if zkAddr != "" && stateExists() {
		t.Errorf("the ZooKeeper state /dcos-service-sched-only outlives the uninstall")
	}
}

// startMesos starts mesoslocal with three agents under work; when the test
// ends it stops it and checks that no process is left running under work.
func startMesos(t *testing.T, work string) *mesoslocal.Cluster {
	t.Helper()
	return testharness.StartMesos(t, mesoslocal.Config{AgentCount: 3, WorkDir: filepath.Join(work, "mesos")})
}

// writeApp renders the package with a user's options into work/app.json,
// the binary asset served from a local artifact store (where the release
// binary would be published), and returns the file and the app.
func writeApp(t *testing.T, bin, work, options string) (string, *App) {
	t.Helper()
	app, out := renderWithBinary(t, []byte(options), serveFile(t, bin))
	file := filepath.Join(work, "app.json")
	if err := os.WriteFile(file, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return file, app
}

// removeApp runs scripts/remove-marathon.sh and checks that the app is gone.
// A scheduler that exits once its uninstall is done fails here with the
// reason: under Marathon, an app's task that exits is started again, and a
// scheduler restarted without its (deleted) state installs a new cluster; the
// scheduler must go on answering GET /v1/uninstall {"done": true} until
// Marathon deletes the app.
func removeApp(t *testing.T, m *simMarathon, appID, token string, timeout time.Duration) {
	t.Helper()
	stdout, stderr, err := runScript(t, "remove-marathon.sh", []string{"ARANGOMESOS_TOKEN=" + token, "ARANGOMESOS_POLL=250ms"},
		m.URL(), appID, "--timeout", timeout.String())
	if err != nil {
		if a := m.app(appID); a != nil && a.task != nil && !a.task.proc.Running() {
			t.Fatalf("remove: the scheduler exited during its uninstall (exit: %v) instead of answering GET /v1/uninstall "+
				"{\"done\": true} until Marathon deletes the app; Marathon restarts an app's task that exits, and a scheduler "+
				"restarted without its deleted state installs a new cluster.\n%s", a.task.proc.ExitError(), stderr)
		}
		t.Fatalf("remove: %v\n%s", err, stderr)
	}
	if m.app(appID) != nil || !strings.Contains(stdout, "removed "+appID) {
		t.Fatalf("the app is still there: %s %s", stdout, stderr)
	}
}
