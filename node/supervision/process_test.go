package supervision_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/internal/testharness"
)

func TestMain(m *testing.M) { testharness.Main(m) }

// createCollection creates a collection over the coordinator and fills it
// with n documents k0…k(n-1).
func createCollection(t testing.TB, c *testharness.Cluster, name string, shards, rf, n int) {
	t.Helper()
	body := map[string]any{"name": name, "numberOfShards": shards, "replicationFactor": rf}
	if code, err := c.CoordinatorJSON(0, http.MethodPost, "/_api/collection", body, nil); err != nil || code != 200 {
		t.Fatalf("create %s: %d %v", name, code, err)
	}
	if n == 0 {
		return
	}
	var docs []map[string]any
	for i := 0; i < n; i++ {
		docs = append(docs, map[string]any{"_key": fmt.Sprintf("k%d", i), "n": i})
	}
	if code, err := c.CoordinatorJSON(0, http.MethodPost, "/_api/document/"+name, docs, nil); err != nil || (code != 201 && code != 202) {
		t.Fatalf("insert into %s: %d %v", name, code, err)
	}
}

// checkDocuments checks that every document k0…k(n-1) is there.
func checkDocuments(t testing.TB, c *testharness.Cluster, name string, n int) {
	t.Helper()
	var keys []string
	for i := 0; i < n; i++ {
		keys = append(keys, fmt.Sprintf("k%d", i))
	}
	var got []map[string]any
	code, err := c.CoordinatorJSON(0, http.MethodPut, "/_api/document/"+name+"?onlyget=true", keys, &got)
	if err != nil || code != 200 || len(got) != n {
		t.Fatalf("read %s: %d %v (%d documents)", name, code, err, len(got))
	}
	for i, d := range got {
		if d["_key"] != keys[i] {
			t.Fatalf("document %s is lost: %v", keys[i], d)
		}
	}
}

// jobStatus asks a coordinator for a job's state.
func jobStatus(c *testharness.Cluster, id string) (string, error) {
	var out map[string]any
	code, err := c.CoordinatorJSON(0, http.MethodGet, "/_admin/cluster/queryAgencyJob?id="+id, nil, &out)
	if err != nil || code != 200 {
		return "", fmt.Errorf("queryAgencyJob %s: %d %v", id, code, err)
	}
	return fmt.Sprint(out["status"]), nil
}

func waitJob(t testing.TB, c *testharness.Cluster, id string, timeout time.Duration) {
	t.Helper()
	testharness.Eventually(t, timeout, func() error {
		st, err := jobStatus(c, id)
		if err != nil {
			return err
		}
		if st == "Failed" {
			t.Fatalf("job %s failed", id)
		}
		if st != "Finished" {
			return fmt.Errorf("job %s is %s", id, st)
		}
		return nil
	})
}

func TestProcessCleanOutServerAndRebalance(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes")
	}
	c := testharness.StartCluster(t, testharness.ClusterOptions{DBServers: 3, Coordinators: 1})
	const n = 600
	createCollection(t, c, "co", 6, 2, n)
	victim := c.DBServers[2].ID
	var job struct {
		ID string `json:"id"`
	}
	if code, err := c.CoordinatorJSON(0, http.MethodPost, "/_admin/cluster/cleanOutServer", map[string]string{"server": victim}, &job); err != nil || code != 202 {
		t.Fatalf("cleanOutServer: %d %v", code, err)
	}
	waitJob(t, c, job.ID, 3*time.Minute)
	var target struct {
		CleanedServers []string `json:"cleanedServers"`
	}
	if _, err := c.CoordinatorJSON(0, http.MethodGet, "/_admin/cluster/numberOfServers", nil, &target); err != nil || !slices.Contains(target.CleanedServers, victim) {
		t.Fatalf("CleanedServers %v does not list %s (%v)", target.CleanedServers, victim, err)
	}
	for _, s := range c.Shards("_system", "co") {
		if slices.Contains(s.Planned, victim) || slices.Contains(s.Current.Servers, victim) {
			t.Fatalf("shard %s still on %s: %+v", s.Name, victim, s)
		}
	}
	checkDocuments(t, c, "co", n)

	// The server may take shards again; rebalancing moves some back to it and
	// keeps every document.
	if code, err := c.CoordinatorJSON(0, http.MethodPut, "/_admin/cluster/numberOfServers", map[string]any{"cleanedServers": []string{}}, nil); err != nil || code != 200 {
		t.Fatalf("reset CleanedServers: %d %v", code, err)
	}
	var moves struct {
		Jobs []string `json:"jobs"`
	}
	testharness.Eventually(t, time.Minute, func() error {
		code, err := c.CoordinatorJSON(0, http.MethodPost, "/_admin/cluster/rebalanceShards", map[string]any{}, &moves)
		if err != nil || code != 202 || len(moves.Jobs) == 0 {
			return fmt.Errorf("rebalance: %d %v %v", code, err, moves.Jobs)
		}
		return nil
	})
	for _, id := range moves.Jobs {
		waitJob(t, c, id, 3*time.Minute)
	}
	on := 0
	for _, s := range c.Shards("_system", "co") {
		if slices.Contains(s.Planned, victim) {
			on++
		}
	}
	if on < 2 {
		t.Fatalf("after rebalancing %s holds %d shard copies", victim, on)
	}
	c.WaitInSync("_system", "co", 2*time.Minute)
	checkDocuments(t, c, "co", n)
}

func TestProcessAgencyLeaderKilledDuringMoveShard(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes")
	}
	c := testharness.StartCluster(t, testharness.ClusterOptions{DBServers: 3, Coordinators: 1})
	const n = 2000
	createCollection(t, c, "mv", 1, 2, n)
	s := c.Shards("_system", "mv")[0]
	var to string
	for _, d := range c.DBServers {
		if !slices.Contains(s.Planned, d.ID) {
			to = d.ID
		}
	}
	req := map[string]any{"collection": "mv", "shard": s.Name, "fromServer": s.Planned[0], "toServer": to}
	var job struct {
		ID string `json:"id"`
	}
	if code, err := c.CoordinatorJSON(0, http.MethodPost, "/_admin/cluster/moveShard", req, &job); err != nil || code != 202 {
		t.Fatalf("moveShard: %d %v", code, err)
	}
	testharness.Eventually(t, time.Minute, func() error {
		st, err := jobStatus(c, job.ID)
		if err != nil || st != "Pending" {
			return fmt.Errorf("job %s: %s %v", job.ID, st, err)
		}
		return nil
	})
	c.WaitAgencyLeader().Kill()
	c.WaitAgencyLeader()
	waitJob(t, c, job.ID, 3*time.Minute)
	after := c.Shards("_system", "mv")[0]
	if after.Planned[0] != to || slices.Contains(after.Planned, s.Planned[0]) {
		t.Fatalf("after the move: %+v", after)
	}
	checkDocuments(t, c, "mv", n)
}
