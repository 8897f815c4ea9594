package clusteradmin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/arangodb/go-driver/v2/arangodb"
	"github.com/arangodb/go-driver/v2/connection"

	"github.com/arangomesos/arangomesos/internal/testharness"
	"github.com/arangomesos/arangomesos/node/agency/agencytest"
	"github.com/arangomesos/arangomesos/node/arangohttp"
	"github.com/arangomesos/arangomesos/node/cluster"
	"github.com/arangomesos/arangomesos/node/coordinator/clusteradmin"
)

// fixture: an in-process Agency holding three DBServers (PRMR-3 FAILED and
// empty), one coordinator, and collection "c" (id 10) with two shards at
// replicationFactor 2 on PRMR-1 and PRMR-2; the endpoints served by httptest.
type fixture struct {
	t   *testing.T
	srv *httptest.Server
	cl  *cluster.AgencyClient
	ctx context.Context
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	c := agencytest.New(t, 1, agencytest.Options{})
	ctx := testharness.Context(t, 60*time.Second)
	cl := c.Client()
	now := cluster.FormatTime(time.Now())
	ops := map[string]cluster.Operation{}
	for i, st := range []string{cluster.StatusGood, cluster.StatusGood, cluster.StatusFailed} {
		id := fmt.Sprintf("PRMR-%d", i+1)
		ops[cluster.Join(cluster.PlanDBServers, id)] = cluster.Set("none")
		ops[cluster.Join(cluster.TargetMapShortID, id)] = cluster.Set(map[string]any{"ShortName": fmt.Sprintf("DBServer%04d", i+1)})
		ops[cluster.Join(cluster.SupervisionHealth, id)] = cluster.Set(cluster.HealthRecord{ShortName: fmt.Sprintf("DBServer%04d", i+1),
			Endpoint: "tcp://127.0.0.1:1", Status: st, SyncStatus: "SERVING", Timestamp: now, SyncTime: now, LastAckedTime: now, Role: "DBServer"})
	}
	ops[cluster.Join(cluster.PlanCoordinators, "CRDN-1")] = cluster.Set("none")
	ops[cluster.Join(cluster.SupervisionHealth, "CRDN-1")] = cluster.Set(cluster.HealthRecord{Status: cluster.StatusGood, LastAckedTime: now})
	shards := map[string][]string{"s11": {"PRMR-1", "PRMR-2"}, "s12": {"PRMR-2", "PRMR-1"}}
	ops[cluster.Join(cluster.PlanCollections, "_system", "10")] = cluster.Set(cluster.PlanCollection{ID: "10", Name: "c", Type: 2,
		NumberOfShards: 2, ReplicationFactor: 2, WriteConcern: 1, ShardKeys: []string{"_key"}, Shards: shards})
	for sh, srv := range shards {
		ops[cluster.Join(cluster.CurrentCollections, "_system", "10", sh)] = cluster.Set(cluster.CurrentShard{Servers: srv, FailoverCandidates: srv})
	}
	if _, err := cl.Write(ctx, cluster.Transaction{Ops: ops}); err != nil {
		t.Fatal(err)
	}
	m := arangohttp.NewMux()
	clusteradmin.Register(m, clusteradmin.Deps{Agency: cl, ServerID: "CRDN-1"})
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	return &fixture{t: t, srv: srv, cl: cl, ctx: ctx}
}

func (f *fixture) call(method, path, body string) (int, map[string]any) {
	f.t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

func (f *fixture) expect(method, path, body string, code int, errNum int) map[string]any {
	f.t.Helper()
	got, m := f.call(method, path, body)
	if got != code || (errNum != 0 && fmt.Sprint(m["errorNum"]) != fmt.Sprint(errNum)) {
		f.t.Fatalf("%s %s %s: HTTP %d %v, want %d (errorNum %d)", method, path, body, got, m, code, errNum)
	}
	return m
}

func TestHealthDecodesInGoDriver(t *testing.T) {
	f := newFixture(t)
	conn := connection.NewHttpConnection(connection.DefaultHTTPConfigurationWrapper(connection.NewRoundRobinEndpoints([]string{f.srv.URL}), true))
	h, err := arangodb.NewClient(conn).Health(f.ctx)
	if err != nil {
		t.Fatalf("go-driver Health: %v", err)
	}
	if h.ID == "" || h.Health["PRMR-3"].Status != arangodb.ServerStatusFailed || h.Health["PRMR-1"].Role != arangodb.ServerRoleDBServer {
		t.Fatalf("health = %+v", h)
	}
	if !h.Health["PRMR-3"].CanBeDeleted || h.Health["PRMR-1"].CanBeDeleted {
		t.Fatalf("CanBeDeleted: failed empty server %v, good server %v", h.Health["PRMR-3"].CanBeDeleted, h.Health["PRMR-1"].CanBeDeleted)
	}
	agents := 0
	for _, sh := range h.Health {
		if sh.Role == arangodb.ServerRoleAgent {
			agents++
			if sh.Status != arangodb.ServerStatusGood {
				t.Fatalf("agent %+v", sh)
			}
		}
	}
	if agents != 1 {
		t.Fatalf("%d agents in health", agents)
	}
}

func TestNumberOfServers(t *testing.T) {
	f := newFixture(t)
	m := f.expect("GET", "/_admin/cluster/numberOfServers", "", 200, 0)
	if m["numberOfDBServers"] != nil || m["numberOfCoordinators"] != nil {
		t.Fatalf("unset targets must be null: %v", m)
	}
	f.expect("PUT", "/_admin/cluster/numberOfServers", `{"numberOfDBServers":3,"numberOfCoordinators":2}`, 200, 0)
	m = f.expect("GET", "/_admin/cluster/numberOfServers", "", 200, 0)
	if m["numberOfDBServers"] != float64(3) || m["numberOfCoordinators"] != float64(2) {
		t.Fatalf("after PUT: %v", m)
	}
	for _, bad := range []string{`{"numberOfDBServers":"3"}`, `{"numberOfDBServers":0}`, `{"numberOfDBServers":-1}`,
		`{"numberOfDBServers":1.5}`, `{"cleanedServers":"x"}`, `{"numberOfTrolls":1}`, `[1]`, `not json`} {
		f.expect("PUT", "/_admin/cluster/numberOfServers", bad, 400, 0)
	}
	// Below the largest replicationFactor (2): refused, nothing changed.
	f.expect("PUT", "/_admin/cluster/numberOfServers", `{"numberOfDBServers":1}`, 400, arangohttp.ErrNumInsufficientDBServers)
	if m = f.expect("GET", "/_admin/cluster/numberOfServers", "", 200, 0); m["numberOfDBServers"] != float64(3) {
		t.Fatalf("a refused PUT changed the target: %v", m)
	}
	f.expect("PUT", "/_admin/cluster/numberOfServers", `{}`, 200, 0)
}

func TestJobEndpoints(t *testing.T) {
	f := newFixture(t)
	f.expect("POST", "/_admin/cluster/cleanOutServer", `{"server":"PRMR-9"}`, 404, 0)
	f.expect("POST", "/_admin/cluster/cleanOutServer", `{"server":"DBServer0001"}`, 400, arangohttp.ErrNumInsufficientDBServers)
	f.expect("POST", "/_admin/cluster/cleanOutServer", `{}`, 400, 0)
	f.expect("POST", "/_admin/cluster/moveShard", `{"collection":"nope","shard":"s11","fromServer":"PRMR-1","toServer":"PRMR-3"}`, 404, arangohttp.ErrNumDataSourceNotFound)
	f.expect("POST", "/_admin/cluster/moveShard", `{"collection":"c","shard":"s99","fromServer":"PRMR-1","toServer":"PRMR-3"}`, 404, 0)
	f.expect("POST", "/_admin/cluster/moveShard", `{"collection":"c","shard":"s11","fromServer":"PRMR-1","toServer":"PRMR-7"}`, 404, 0)
	f.expect("POST", "/_admin/cluster/moveShard", `{"collection":"c","shard":"s11","fromServer":"PRMR-1","toServer":"PRMR-2"}`, 400, 0)
	f.expect("POST", "/_admin/cluster/moveShard", `{"collection":"c","shard":"s11","fromServer":"PRMR-3","toServer":"PRMR-1"}`, 400, 0)
	var todo map[string]any
	if _, err := f.cl.Get(f.ctx, cluster.TargetToDo, &todo); err != nil || len(todo) != 0 {
		t.Fatalf("refused requests created jobs: %v", todo)
	}
	m := f.expect("POST", "/_admin/cluster/moveShard", `{"collection":"c","shard":"s11","fromServer":"PRMR-1","toServer":"PRMR-3","remainsFollower":true}`, 202, 0)
	id := fmt.Sprint(m["id"])
	q := f.expect("GET", "/_admin/cluster/queryAgencyJob?id="+id, "", 200, 0)
	if q["status"] != "ToDo" || q["type"] != "moveShard" || q["isLeader"] != true || q["collection"] != "10" {
		t.Fatalf("queryAgencyJob: %v", q)
	}
	f.expect("GET", "/_admin/cluster/queryAgencyJob?id=424242", "", 404, 0)
	c := f.expect("POST", "/_admin/cluster/cancelAgencyJob", `{"id":"`+id+`"}`, 200, 0)
	if c["status"] != "aborted" {
		t.Fatalf("cancel: %v", c)
	}
	if q = f.expect("GET", "/_admin/cluster/queryAgencyJob?id="+id, "", 200, 0); q["abort"] != true {
		t.Fatalf("abort flag not set: %v", q)
	}
	f.expect("POST", "/_admin/cluster/resignLeadership", `{"server":"PRMR-3"}`, 412, 0)
	r1 := f.expect("POST", "/_admin/cluster/resignLeadership", `{"server":"PRMR-1"}`, 202, 0)
	r2 := f.expect("POST", "/_admin/cluster/resignLeadership", `{"server":"PRMR-1"}`, 202, 0)
	if r1["id"] != r2["id"] {
		t.Fatal("a second request for the same job must answer the running job's id")
	}
}

func TestRemoveServer(t *testing.T) {
	f := newFixture(t)
	f.expect("POST", "/_admin/cluster/removeServer", `"PRMR-1"`, 412, 0) // GOOD
	f.expect("POST", "/_admin/cluster/removeServer", `"PRMR-9"`, 404, 0)
	f.expect("POST", "/_admin/cluster/removeServer", `{"server":"DBServer0003"}`, 200, 0)
	var removed map[string]string
	if _, err := f.cl.Get(f.ctx, cluster.TargetRemovedServers, &removed); err != nil || removed["PRMR-3"] == "" {
		t.Fatalf("RemovedServers: %v %v", removed, err)
	}
	if ok, _ := f.cl.Get(f.ctx, cluster.Join(cluster.PlanDBServers, "PRMR-3"), nil); ok {
		t.Fatal("PRMR-3 still planned")
	}
}

func TestShardDistributionAndMaintenance(t *testing.T) {
	f := newFixture(t)
	m := f.expect("GET", "/_admin/cluster/shardDistribution", "", 200, 0)
	c := m["results"].(map[string]any)["c"].(map[string]any)
	if l := c["Current"].(map[string]any)["s11"].(map[string]any)["leader"]; l != "PRMR-1" {
		t.Fatalf("shardDistribution: %v", m)
	}
	f.expect("PUT", "/_admin/cluster/maintenance", `"on"`, 200, 0)
	if m = f.expect("GET", "/_admin/cluster/maintenance", "", 200, 0); m["result"] != "Maintenance" {
		t.Fatalf("maintenance: %v", m)
	}
	f.expect("PUT", "/_admin/cluster/maintenance", `"off"`, 200, 0)
	if m = f.expect("GET", "/_admin/cluster/maintenance", "", 200, 0); m["result"] != "Normal" {
		t.Fatalf("maintenance: %v", m)
	}
	f.expect("PUT", "/_admin/cluster/maintenance", `"sideways"`, 400, 0)
	f.expect("POST", "/_admin/cluster/rebalanceShards", `{}`, 200, 0) // PRMR-3 is FAILED: nothing to even out
}
