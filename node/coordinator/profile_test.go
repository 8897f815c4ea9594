package coordinator_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/internal/testharness"
)

// BenchmarkInsertProfile drives RF2 single-document inserts from 8 clients
// for a while and reports, for the steady state, the inserts per second,
// the CPU time per insert of each cluster process and of the whole cluster,
// and how many documents each leader write carried (the coordinator's
// coalescing). With ARANGOMESOS_BENCH_PROFILES=dir it also writes a 10 s
// CPU profile and an allocation profile of every node there. Not part of
// BenchmarkDataPlane: run it with -bench BenchmarkInsertProfile.
func BenchmarkInsertProfile(b *testing.B) {
	dir := os.Getenv("ARANGOMESOS_BENCH_PROFILES")
	oneThread := []string{"--server.max-procs", "1"}
	c := testharness.StartCluster(b, testharness.ClusterOptions{DBServers: 2, Coordinators: 1,
		DBServerArgs: oneThread, CoordinatorArgs: oneThread, Profile: dir != ""})
	bc := newBenchClient(c)
	body, _ := json.Marshal(map[string]any{"name": "p", "numberOfShards": 4, "replicationFactor": 2})
	if code, err := bc.do("POST", "/_api/collection", body); err != nil || code != 200 {
		b.Fatalf("create: %d %v", code, err)
	}
	doc := []byte(`{"name":"benchmark document","n":12345,"tags":["a","b","c"],"nested":{"x":1.5,"y":"z"}}`)
	var stop atomic.Bool
	var count atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				if code, err := bc.do("POST", "/_api/document/p", doc); err != nil || code != 202 {
					b.Errorf("insert: %d %v", code, err)
					return
				}
				count.Add(1)
			}
		}()
	}
	defer func() { stop.Store(true); wg.Wait() }()
	time.Sleep(2 * time.Second)
	nodes := append(append(append([]*testharness.Node(nil), c.Agents...), c.DBServers...), c.Coordinators...)
	cpu0 := make([]time.Duration, len(nodes))
	for i, n := range nodes {
		cpu0[i] = processCPU(n)
	}
	self0 := selfCPU()
	writes0 := leaderWrites(b, c)
	n0 := count.Load()
	const window = 10 * time.Second
	if dir == "" {
		time.Sleep(window)
	} else {
		var pw sync.WaitGroup
		for _, n := range nodes {
			pw.Add(1)
			go func() {
				defer pw.Done()
				if err := saveProfile(n, window, filepath.Join(dir, n.ID+".pprof")); err != nil {
					b.Error(err)
				}
				if err := saveURL("http://"+n.Pprof+"/debug/pprof/allocs", filepath.Join(dir, n.ID+".allocs")); err != nil {
					b.Error(err)
				}
			}()
		}
		pw.Wait()
	}
	n := count.Load() - n0
	writes := leaderWrites(b, c) - writes0
	var total time.Duration
	for i, nd := range nodes {
		d := processCPU(nd) - cpu0[i]
		total += d
		b.ReportMetric(float64(d.Microseconds())/float64(n), "cpu-µs/"+nd.ID)
	}
	b.ReportMetric(float64((selfCPU()-self0).Microseconds())/float64(n), "cpu-µs/clients")
	b.ReportMetric(float64(n)/window.Seconds(), "inserts/s")
	b.ReportMetric(float64(total.Microseconds())/float64(n), "cluster-cpu-µs/insert")
	b.ReportMetric(float64(n)/float64(writes), "docs/leader-write")
}

// selfCPU is the CPU time the benchmark process (the clients) has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// saveProfile writes a CPU profile of node n over d to path.
func saveProfile(n *testharness.Node, d time.Duration, path string) error {
	return saveURL(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", n.Pprof, int(d.Seconds())), path)
}

// saveURL writes what url answers to path.
func saveURL(url, path string) error {
	resp, err := http.Get(url)
	if err != nil {
		return fmt.Errorf("get %s: %w", url, err)
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}

// leaderWrites sums the write requests the DBServers applied as leaders.
func leaderWrites(b *testing.B, c *testharness.Cluster) int64 {
	var total int64
	for _, d := range c.DBServers {
		resp, err := http.Get(d.URL() + "/_admin/metrics")
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, line := range strings.Split(string(body), "\n") {
			if v, ok := strings.CutPrefix(line, "arangomesos_dbserver_writes_total "); ok {
				var f float64
				fmt.Sscan(v, &f)
				total += int64(f)
			}
		}
	}
	return total
}
