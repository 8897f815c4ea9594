package scheduler

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arangodb/go-driver/v2/arangodb"
	"github.com/arangodb/go-driver/v2/arangodb/shared"

	"github.com/arangomesos/arangomesos/internal/testharness"
	"github.com/arangomesos/arangomesos/mesoslocal"
)

// deployment is a whole system for an end-to-end test: mesoslocal in the
// test process (its agents start the executors and nodes as real
// processes), and the scheduler as a real `arangomesos scheduler` process
// that the test can kill and start again.
type deployment struct {
	t     testing.TB
	mc    *mesoslocal.Cluster
	bin   string
	dir   string
	url   string
	token string
	// rootPassword is the database root password.
	rootPassword string
	sched        *testharness.Process
}

// deployOptions vary a deployment.
type deployOptions struct {
	// MesosAgents is the number of Mesos agents (hosts); default 3.
	MesosAgents int
	// Args are further scheduler flags (counts, timeouts, --zk).
	Args []string
}

// e2eSchedulerFlags make failures show quickly in tests: a server is BAD
// after 2s without heartbeat and FAILED after 5s.
var e2eSchedulerFlags = []string{"--supervision-ok-threshold", "2s", "--supervision-grace-period", "5s",
	"--log-level", "info", "--framework-name", "e2e", "--role", "e2e", "--principal", "e2e",
	"--agent-cpus", "0.2", "--agent-mem", "256", "--agent-disk", "256",
	"--dbserver-cpus", "0.3", "--dbserver-mem", "512", "--dbserver-disk", "1024",
	"--coordinator-cpus", "0.3", "--coordinator-mem", "256"}

// deploy starts mesoslocal and the scheduler, and waits until the cluster
// serves (GET /v1/health 200).
func deploy(t testing.TB, o deployOptions) *deployment {
	t.Helper()
	d := startDeployment(t, o)
	d.waitHealthy(3 * time.Minute)
	return d
}

// startDeployment starts mesoslocal and the scheduler and returns at once,
// without waiting for the cluster (benchmarks time the deployment).
func startDeployment(t testing.TB, o deployOptions) *deployment {
	t.Helper()
	if o.MesosAgents == 0 {
		o.MesosAgents = 3
	}
	d := &deployment{t: t, bin: testharness.Binary(t), dir: t.TempDir(), token: "e2e-token-" + strconv.Itoa(os.Getpid()),
		rootPassword: "e2e root password"}
	d.mc = testharness.StartMesos(t, mesoslocal.Config{AgentCount: o.MesosAgents})
	for name, v := range map[string]string{"token": d.token, "root-password": d.rootPassword} {
		if err := os.WriteFile(filepath.Join(d.dir, name), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	port := testharness.FreePort(t)
	d.url = fmt.Sprintf("http://127.0.0.1:%d", port)
	args := append([]string{"scheduler", "--master", d.mc.MasterURL(), "--state-dir", filepath.Join(d.dir, "state"),
		"--listen", fmt.Sprintf("127.0.0.1:%d", port), "--auth-token-file", filepath.Join(d.dir, "token"),
		"--root-password-file", filepath.Join(d.dir, "root-password")}, e2eSchedulerFlags...)
	args = append(args, o.Args...)
	d.sched = testharness.StartProcess(t, "scheduler", d.bin, args)
	// Executors and nodes are stopped by mesoslocal (its cleanup runs after
	// the scheduler's, which registered later).
	return d
}

// api calls the scheduler's /v1 API with the token; out may be nil.
func (d *deployment) api(method, path string, body, out any) (int, error) {
	return testharness.JSONRequest(method, d.url+path, body, out, func(r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+d.token)
	})
}

// state returns GET /v1/state.
func (d *deployment) state() StateView {
	d.t.Helper()
	var st StateView
	if code, err := d.api(http.MethodGet, "/v1/state", nil, &st); err != nil || code != http.StatusOK {
		d.t.Fatalf("GET /v1/state: %d %v", code, err)
	}
	return st
}

// member returns the member called name from the state.
func (d *deployment) member(name string) MemberView {
	d.t.Helper()
	for _, m := range d.state().Members {
		if m.Name == name {
			return m
		}
	}
	d.t.Fatalf("no member %s", name)
	return MemberView{}
}

// waitHealthy waits until GET /v1/health answers 200 (every member runs
// and is healthy, the counts match the targets).
func (d *deployment) waitHealthy(timeout time.Duration) {
	d.t.Helper()
	testharness.Eventually(d.t, timeout, func() error {
		var h Health
		code, err := testharness.JSONRequest(http.MethodGet, d.url+"/v1/health", nil, &h, nil)
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("health %d %s: %s", code, h.Status, h.Reason)
		}
		return nil
	})
}

// client returns a go-driver client to the running coordinators.
func (d *deployment) client() arangodb.Client {
	d.t.Helper()
	var eps Endpoints
	if _, err := d.api(http.MethodGet, "/v1/endpoints", nil, &eps); err != nil || len(eps.Coordinators) == 0 {
		d.t.Fatalf("no coordinator endpoints: %v %v", eps, err)
	}
	return testharness.DriverClient(eps.Coordinators, "root", d.rootPassword)
}

// collection creates (or opens) collection name in _system with
// replicationFactor 2.
func (d *deployment) collection(name string, shards int) arangodb.Collection {
	d.t.Helper()
	ctx := testharness.Context(d.t, time.Minute)
	db, err := d.client().GetDatabase(ctx, "_system", nil)
	if err != nil {
		d.t.Fatal(err)
	}
	rf := arangodb.ReplicationFactor(2)
	col, err := db.CreateCollectionV2(ctx, name, &arangodb.CreateCollectionPropertiesV2{
		NumberOfShards: &shards, ReplicationFactor: &rf})
	if shared.IsConflict(err) {
		col, err = db.GetCollection(ctx, name, nil)
	}
	if err != nil {
		d.t.Fatalf("collection %s: %v", name, err)
	}
	return col
}

// writeDocs inserts n documents with keys prefix0…, retrying each until
// acknowledged, and returns their keys.
func (d *deployment) writeDocs(col arangodb.Collection, prefix string, n int) []string {
	d.t.Helper()
	keys := make([]string, 0, n)
	for i := range n {
		key := fmt.Sprintf("%s%d", prefix, i)
		testharness.Eventually(d.t, time.Minute, func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := col.CreateDocument(ctx, map[string]any{"_key": key, "i": i})
			if shared.IsConflict(err) {
				return nil // an earlier attempt made it
			}
			return err
		})
		keys = append(keys, key)
	}
	return keys
}

// checkDocs reads every key back through a coordinator.
func (d *deployment) checkDocs(col arangodb.Collection, keys []string) {
	d.t.Helper()
	for _, k := range keys {
		testharness.Eventually(d.t, time.Minute, func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var doc map[string]any
			_, err := col.ReadDocument(ctx, k, &doc)
			return err
		})
	}
}

// nodePID returns the pid of the node process of server id.
func (d *deployment) nodePID(serverID string) int {
	d.t.Helper()
	var pid int
	testharness.Eventually(d.t, 30*time.Second, func() error {
		for _, l := range testharness.ProcessesUnder(d.mc.WorkDir()) {
			if strings.Contains(l, " node ") && strings.Contains(l, "--cluster.my-id "+serverID+" ") {
				_, err := fmt.Sscan(l, &pid)
				return err
			}
		}
		return fmt.Errorf("no node process of %s", serverID)
	})
	return pid
}

// killNode kills server id's node with SIGKILL.
func (d *deployment) killNode(serverID string) {
	d.t.Helper()
	if err := syscall.Kill(d.nodePID(serverID), syscall.SIGKILL); err != nil {
		d.t.Fatal(err)
	}
}

// agentOf returns the mesoslocal agent with id agentID.
func (d *deployment) agentOf(agentID string) *mesoslocal.Agent {
	d.t.Helper()
	for _, a := range d.mc.Agents() {
		if a.ID() == agentID {
			return a
		}
	}
	d.t.Fatalf("no Mesos agent %s", agentID)
	return nil
}

// coordinatorJSON sends a request as root (basic auth) to a running
// coordinator.
func (d *deployment) coordinatorJSON(method, path string, body, out any) (int, error) {
	var eps Endpoints
	if _, err := d.api(http.MethodGet, "/v1/endpoints", nil, &eps); err != nil {
		return 0, err
	}
	if len(eps.Coordinators) == 0 {
		return 0, fmt.Errorf("no coordinator runs")
	}
	return testharness.JSONRequest(method, eps.Coordinators[0]+path, body, out, func(r *http.Request) {
		r.SetBasicAuth("root", d.rootPassword)
	})
}

// serverHealth is one entry of GET /_admin/cluster/health.
type serverHealth struct {
	Role, Status, Endpoint string
}

// clusterHealth returns the cluster's health as a coordinator reports it.
func (d *deployment) clusterHealth() (map[string]serverHealth, error) {
	var out struct{ Health map[string]serverHealth }
	code, err := d.coordinatorJSON(http.MethodGet, "/_admin/cluster/health", nil, &out)
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("cluster health: %d", code)
	}
	return out.Health, err
}

// shardsInSync checks that every shard of collection has rf servers in its
// Plan and the same servers in Current.
func (d *deployment) shardsInSync(collection string, rf int) error {
	type servers struct {
		Leader    string   `json:"leader"`
		Followers []string `json:"followers"`
	}
	var dist struct {
		Results map[string]struct {
			Plan    map[string]servers `json:"Plan"`
			Current map[string]servers `json:"Current"`
		} `json:"results"`
	}
	if _, err := d.coordinatorJSON(http.MethodGet, "/_admin/cluster/shardDistribution", nil, &dist); err != nil {
		return err
	}
	c, ok := dist.Results[collection]
	if !ok || len(c.Plan) == 0 {
		return fmt.Errorf("no shards of %s", collection)
	}
	for shard, p := range c.Plan {
		cur := c.Current[shard]
		if len(p.Followers)+1 != rf {
			return fmt.Errorf("shard %s has %d servers in Plan, want %d", shard, len(p.Followers)+1, rf)
		}
		if cur.Leader != p.Leader || !sameSet(cur.Followers, p.Followers) {
			return fmt.Errorf("shard %s: Plan %v, Current %v", shard, p, cur)
		}
	}
	return nil
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]bool{}
	for _, x := range a {
		seen[x] = true
	}
	for _, x := range b {
		if !seen[x] {
			return false
		}
	}
	return true
}
