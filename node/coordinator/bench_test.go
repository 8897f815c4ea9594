package coordinator_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/internal/testharness"
	"github.com/arangomesos/arangomesos/node/shardapi"
)

// benchClient sends raw HTTP with keep-alive and basic auth, like a thin
// driver, so the client spends little of the machine's two cores.
type benchClient struct {
	base, user, pw string
	http           *http.Client
}

func newBenchClient(c *testharness.Cluster) *benchClient {
	return &benchClient{base: c.Coordinator(0), user: "root", pw: c.RootPassword,
		http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
}

func (bc *benchClient) do(method, path string, body []byte) (int, error) {
	req, _ := http.NewRequest(method, bc.base+path, bytes.NewReader(body))
	req.SetBasicAuth(bc.user, bc.pw)
	resp, err := bc.http.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// clusterCPU sums the CPU time (user and system) the cluster's processes
// have used so far, from /proc.
func clusterCPU(c *testharness.Cluster) time.Duration {
	var total time.Duration
	for _, n := range append(append(append([]*testharness.Node(nil), c.Agents...), c.DBServers...), c.Coordinators...) {
		total += processCPU(n)
	}
	return total
}

// processCPU is the CPU time (user and system) node n's process has used
// so far, from /proc; 0 when it cannot be read.
func processCPU(n *testharness.Node) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", n.Pid()))
	if err != nil {
		return 0
	}
	// Fields after the command name: utime and stime are the 12th and 13th.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	if len(f) <= 12 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * time.Second / 100 // USER_HZ
}

// latencies runs n operations over clients goroutines and returns the
// throughput and the latency percentiles.
func latencies(b *testing.B, clients, n int, op func(i int) error) (float64, time.Duration, time.Duration) {
	var next atomic.Int64
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				if err := op(i); err != nil {
					b.Error(err)
					return
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	slices.Sort(lat)
	return float64(n) / el.Seconds(), lat[n/2], lat[n*99/100]
}

// BenchmarkDataPlane measures, on one real-process cluster (3 agents, 2
// DBServers, 1 coordinator, JWT auth on): single-document inserts with 1
// and 8 clients at replicationFactor 1 and 2, batch import of 1,000-document
// batches, point reads, and full and incremental resync. See
// docs/benchmarks.md, "Data plane". The nodes run one thread of Go code
// each, as the scheduler starts them with its default 0.5 CPUs.
func BenchmarkDataPlane(b *testing.B) {
	oneThread := []string{"--server.max-procs", "1"}
	c := testharness.StartCluster(b, testharness.ClusterOptions{DBServers: 2, Coordinators: 1,
		DBServerArgs: oneThread, CoordinatorArgs: oneThread})
	bc := newBenchClient(c)
	mk := func(name string, rf int) {
		body, _ := json.Marshal(map[string]any{"name": name, "numberOfShards": 4, "replicationFactor": rf})
		if code, err := bc.do("POST", "/_api/collection", body); err != nil || code != 200 {
			b.Fatalf("create %s: %d %v", name, code, err)
		}
	}
	type row struct {
		name     string
		perSec   float64
		p50, p99 time.Duration
		unit     string
		cpuPerOp time.Duration // cluster CPU per document or read
	}
	var rows []row
	for _, rf := range []int{1, 2} {
		for _, clients := range []int{1, 8} {
			name := fmt.Sprintf("ins_rf%d_c%d", rf, clients)
			mk(name, rf)
			n := 3000 * clients
			if clients == 1 {
				n = 3000
			}
			doc := []byte(`{"name":"benchmark document","n":12345,"tags":["a","b","c"],"nested":{"x":1.5,"y":"z"}}`)
			cpu0 := clusterCPU(c)
			tput, p50, p99 := latencies(b, clients, n, func(i int) error {
				code, err := bc.do("POST", "/_api/document/"+name, doc)
				if err == nil && code != 202 {
					err = fmt.Errorf("insert: HTTP %d", code)
				}
				return err
			})
			rows = append(rows, row{fmt.Sprintf("insert, RF%d, %d client(s)", rf, clients), tput, p50, p99, "docs/s",
				(clusterCPU(c) - cpu0) / time.Duration(n)})
		}
	}
	// Batch import: 100 batches of 1,000 documents, 2 clients, RF1 and RF2.
	for _, rf := range []int{1, 2} {
		name := fmt.Sprintf("imp_rf%d", rf)
		mk(name, rf)
		batches := make([][]byte, 100)
		for i := range batches {
			var buf bytes.Buffer
			for j := 0; j < 1000; j++ {
				fmt.Fprintf(&buf, "{\"_key\":\"k%d_%d\",\"name\":\"benchmark document\",\"n\":%d,\"tags\":[\"a\",\"b\"]}\n", i, j, j)
			}
			batches[i] = buf.Bytes()
		}
		cpu0 := clusterCPU(c)
		tput, p50, p99 := latencies(b, 2, len(batches), func(i int) error {
			code, err := bc.do("POST", "/_api/import?type=documents&collection="+name, batches[i])
			if err == nil && code != 201 {
				err = fmt.Errorf("import: HTTP %d", code)
			}
			return err
		})
		rows = append(rows, row{fmt.Sprintf("import 1,000-doc batches, RF%d, 2 clients", rf), tput * 1000, p50, p99, "docs/s",
			(clusterCPU(c) - cpu0) / time.Duration(len(batches)*1000)})
	}
	// Point reads of the RF2 import's documents, 8 clients.
	cpu0 := clusterCPU(c)
	tput, p50, p99 := latencies(b, 8, 20000, func(i int) error {
		code, err := bc.do("GET", fmt.Sprintf("/_api/document/imp_rf2/k%d_%d", i%100, (i*7)%1000), nil)
		if err == nil && code != 200 {
			err = fmt.Errorf("read: HTTP %d", code)
		}
		return err
	})
	rows = append(rows, row{"point reads, RF2, 8 clients", tput, p50, p99, "reads/s", (clusterCPU(c) - cpu0) / 20000})

	// Resync: a 1-shard RF2 collection of 200,000 documents.
	body, _ := json.Marshal(map[string]any{"name": "rs", "numberOfShards": 1, "replicationFactor": 2})
	if code, err := bc.do("POST", "/_api/collection", body); err != nil || code != 200 {
		b.Fatalf("create rs: %d %v", code, err)
	}
	for i := 0; i < 200; i++ {
		var buf bytes.Buffer
		for j := 0; j < 1000; j++ {
			fmt.Fprintf(&buf, "{\"_key\":\"d%06d\",\"name\":\"benchmark document\",\"n\":%d}\n", i*1000+j, j)
		}
		if code, err := bc.do("POST", "/_api/import?type=documents&collection=rs", buf.Bytes()); err != nil || code != 201 {
			b.Fatalf("import: %d %v", code, err)
		}
	}
	shard := c.Shards("_system", "rs")[0]
	follower := c.DBServer(shard.Planned[1])
	c.WaitInSync("_system", "rs", 2*time.Minute)
	resync := func(prepare func()) shardapi.ResyncReport {
		follower.Stop(10 * time.Second)
		prepare()
		follower.Restart()
		c.WaitServing(follower)
		var rep shardapi.ResyncReport
		testharness.Eventually(b, 5*time.Minute, func() error {
			rs, err := c.Resyncs(follower)
			if err != nil {
				return err
			}
			for _, r := range rs {
				if r.Shard == shard.Name {
					rep = r
					return nil
				}
			}
			return fmt.Errorf("no resync yet")
		})
		c.WaitInSync("_system", "rs", 2*time.Minute)
		return rep
	}
	full := resync(func() {
		_ = os.Remove(filepath.Join(follower.Dir, "dbserver", "shards", shard.Name+".db"))
	})
	inc := resync(func() {
		for i := 0; i < 100; i++ {
			var docs []map[string]any
			for j := 0; j < 100; j++ {
				docs = append(docs, map[string]any{"_key": fmt.Sprintf("d%06d", ((i*100+j)*20)%200000), "changed": true})
			}
			body, _ := json.Marshal(docs)
			if code, err := bc.do("PATCH", "/_api/document/rs", body); err != nil || code != 202 {
				b.Fatalf("update: %d %v", code, err)
			}
		}
	})
	for _, r := range []struct {
		name string
		rep  shardapi.ResyncReport
	}{{"full resync (200,000 documents, empty follower)", full}, {"incremental resync (10,000 of 200,000 changed)", inc}} {
		rows = append(rows, row{fmt.Sprintf("%s, method %s, %d moved in %.2fs", r.name, r.rep.Method, r.rep.Documents, r.rep.Seconds),
			float64(r.rep.Documents) / r.rep.Seconds, 0, 0, "docs/s", 0})
	}
	sort.SliceStable(rows, func(i, j int) bool { return false })
	var out bytes.Buffer
	fmt.Fprintf(&out, "\n| measurement | throughput | p50 | p99 | cluster CPU per op |\n|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&out, "| %s | %.0f %s | %v | %v | %v |\n", r.name, r.perSec, r.unit, r.p50.Round(10*time.Microsecond),
			r.p99.Round(10*time.Microsecond), r.cpuPerOp.Round(time.Microsecond))
	}
	fmt.Fprintf(&out, "\nRF2/RF1 insert throughput: 1 client %.2f, 8 clients %.2f\n", rows[2].perSec/rows[0].perSec, rows[3].perSec/rows[1].perSec)
	fmt.Print(out.String())
	b.ReportMetric(rows[3].perSec, "rf2-8c-inserts/s")
}
