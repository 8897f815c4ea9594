package dbserver_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/internal/testharness"
	"github.com/arangomesos/arangomesos/node/shardapi"
)

// TestIncrementalResync: a follower stopped while 10,000 documents of a
// 200,000-document shard change catches up by moving about the changed
// documents, not the whole shard: first by comparing hashed key ranges
// (the leader's operation log is kept small, so it cannot tail), then, for
// a short absence, from the operation log.
func TestIncrementalResync(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 200,000 documents")
	}
	c := testharness.StartCluster(t, testharness.ClusterOptions{DBServers: 2, Coordinators: 1,
		DBServerArgs: []string{"--cluster.replication-log-entries", "50"}})
	code, err := c.CoordinatorJSON(0, http.MethodPost, "/_api/collection",
		map[string]any{"name": "big", "numberOfShards": 1, "replicationFactor": 2}, nil)
	if err != nil || code != 200 {
		t.Fatalf("create collection: %d %v", code, err)
	}
	const total, batch = 200000, 1000
	for i := 0; i < total; i += batch {
		docs := make([]map[string]any, batch)
		for j := range docs {
			docs[j] = map[string]any{"_key": fmt.Sprintf("d%06d", i+j), "v": 0, "pad": "0123456789abcdef0123456789abcdef"}
		}
		var res struct {
			Created int `json:"created"`
		}
		code, err := c.CoordinatorJSON(0, http.MethodPost, "/_api/import?collection=big&type=array", docs, &res)
		if err != nil || code != 201 || res.Created != batch {
			t.Fatalf("import: %d %v %+v", code, err, res)
		}
	}
	shard := c.Shards("_system", "big")[0]
	follower := c.DBServer(shard.Planned[1])
	c.WaitInSync("_system", "big", time.Minute)

	resyncs := func() []shardapi.ResyncReport {
		r, err := c.Resyncs(follower)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	waitReport := func(after int) shardapi.ResyncReport {
		var rep shardapi.ResyncReport
		testharness.Eventually(t, 2*time.Minute, func() error {
			rs := resyncs()
			i := slices.IndexFunc(rs[min(after, len(rs)):], func(r shardapi.ResyncReport) bool { return r.Shard == shard.Name })
			if i < 0 {
				return fmt.Errorf("no resync of %s reported yet", shard.Name)
			}
			rep = rs[after+i]
			return nil
		})
		return rep
	}
	changeDocs := func(from, n, size int, v int) {
		for i := from; i < from+n; i += size {
			docs := make([]map[string]any, 0, size)
			for j := i; j < i+size && j < from+n; j++ {
				// Every 20th document: spread the changes over the whole key space.
				docs = append(docs, map[string]any{"_key": fmt.Sprintf("d%06d", (j*20)%total), "v": v})
			}
			var res []map[string]any
			code, err := c.CoordinatorJSON(0, http.MethodPatch, "/_api/document/big", docs, &res)
			if err != nil || code != 202 {
				t.Fatalf("update: %d %v", code, err)
			}
		}
	}

	// Ranges: 10,000 changes in 100 operations; the leader keeps 50.
	follower.Stop(10 * time.Second)
	changeDocs(0, 10000, 100, 1)
	follower.Restart()
	c.WaitServing(follower)
	rep := waitReport(0)
	t.Logf("resync after 10,000 changes: %+v", rep)
	if rep.Method != "ranges" {
		t.Fatalf("expected a range comparison, got %q", rep.Method)
	}
	if rep.Documents < 10000 || rep.Documents > 12000 {
		t.Fatalf("moved %d documents for 10,000 changes of a %d-document shard", rep.Documents, total)
	}
	c.WaitInSync("_system", "big", time.Minute)

	// Tail: 20 single changes, within the leader's log.
	follower.Stop(10 * time.Second)
	changeDocs(0, 20, 1, 2)
	follower.Restart()
	c.WaitServing(follower)
	rep = waitReport(0)
	if rep.Method != "tail" {
		t.Fatalf("expected catching up from the log, got %+v", rep)
	}
	if rep.Documents > 100 {
		t.Fatalf("moved %d documents for 20 changes", rep.Documents)
	}
	t.Logf("resync after 20 changes: %+v", rep)
	c.WaitInSync("_system", "big", time.Minute)
}
