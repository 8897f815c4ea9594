package scheduler

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/internal/testharness"
	"github.com/arangomesos/arangomesos/node/cluster"
)

// Benchmarks of the scheduler with real processes: mesoslocal in the
// benchmark process, the scheduler, executors and nodes as processes, with
// the e2e tests' flags (e2eSchedulerFlags: the smallest per-role resources,
// supervision ok threshold 2 s and grace period 5 s). Run them with
// -benchtime 1x (make bench); docs/benchmarks.md has the method and the
// numbers.

// BenchmarkDeploy23Members times a deployment of 3 agents, 10 DBServers and
// 10 coordinators on 20 mesoslocal agents: from the scheduler's start (with
// mesoslocal already up) until every member's task is RUNNING, until the
// scheduler's health is 200 (every member RUNNING, healthy for its Mesos
// health check and GOOD for the Supervision), and until a document written
// through go-driver into a new collection is acknowledged.
func BenchmarkDeploy23Members(b *testing.B) {
	for i := 0; i < b.N; i++ {
		start := time.Now()
		d := startDeployment(b, deployOptions{MesosAgents: 20, Args: []string{"--dbservers", "10", "--coordinators", "10"}})
		launched := time.Since(start)
		start = time.Now()
		const members = 3 + 10 + 10
		pollFor(b, 10*time.Minute, 100*time.Millisecond, func() error {
			var st StateView
			if code, err := d.api(http.MethodGet, "/v1/state", nil, &st); err != nil || code != http.StatusOK {
				return fmt.Errorf("GET /v1/state: %d %v", code, err)
			}
			running := 0
			for _, m := range st.Members {
				if m.TaskState == "TASK_RUNNING" {
					running++
				}
			}
			if running < members {
				return fmt.Errorf("%d of %d members running", running, members)
			}
			return nil
		})
		running := time.Since(start)
		pollFor(b, 10*time.Minute, 100*time.Millisecond, func() error {
			var h Health
			code, err := testharness.JSONRequest(http.MethodGet, d.url+"/v1/health", nil, &h, nil)
			if err == nil && code != http.StatusOK {
				err = fmt.Errorf("health %d %s: %s", code, h.Status, h.Reason)
			}
			return err
		})
		healthy := time.Since(start)
		col := d.collection("bench", 10)
		d.writeDocs(col, "first", 1)
		serving := time.Since(start)
		b.Logf("mesoslocal with 20 agents and the scheduler started in %v; from the scheduler's start: all %d RUNNING %v, health 200 %v, first document written %v",
			launched.Round(time.Millisecond), members, running.Round(time.Millisecond), healthy.Round(time.Millisecond), serving.Round(time.Millisecond))
		b.ReportMetric(running.Seconds(), "running-s")
		b.ReportMetric(healthy.Seconds(), "healthy-s")
		b.ReportMetric(serving.Seconds(), "first-write-s")
		if i < b.N-1 {
			d.teardown()
		}
	}
}

// benchRelaunchDBServers is how many DBServers BenchmarkRelaunchKilledDBServer
// deploys; each is killed once per round, so that every kill is a member's
// first failure (relaunch backoff 1 s) rather than a crash loop (2 s, 4 s…).
const benchRelaunchDBServers = 5

// BenchmarkRelaunchKilledDBServer kills the node process of a DBServer with
// SIGKILL (its executor reports the task failed, the scheduler relaunches it
// after the first failure's backoff of 1 s) and measures until the relaunch,
// on the same agent, reservation, volume and port, is RUNNING, until the new process
// answers on the member's endpoint, until its Mesos health check passes, and
// until the Supervision reports it GOOD. Each round kills each of
// benchRelaunchDBServers DBServers once, waiting between kills until every
// member serves and every shard is in sync; it reports p50 and p99 (nearest
// rank: with few kills the largest) in seconds.
func BenchmarkRelaunchKilledDBServer(b *testing.B) {
	d := deploy(b, deployOptions{MesosAgents: benchRelaunchDBServers,
		Args: []string{"--dbservers", fmt.Sprint(benchRelaunchDBServers), "--coordinators", "1"}})
	pollFor(b, 2*time.Minute, 100*time.Millisecond, func() error { return allServing(d.state()) })
	col := d.collection("heal", 10)
	keys := d.writeDocs(col, "k", 100)
	var running, serving, healthy, good []time.Duration
	for round := 0; round < b.N; round++ {
		for i := 1; i <= benchRelaunchDBServers; i++ {
			name := fmt.Sprintf("dbserver-%d", i)
			pollFor(b, 3*time.Minute, 100*time.Millisecond, func() error {
				if err := allServing(d.state()); err != nil {
					return err
				}
				return d.shardsInSync("heal", 2)
			})
			before := d.member(name)
			// A member killed again within 2 minutes of its relaunch is
			// crash-looping for the scheduler (a longer backoff).
			if round > 0 {
				if wait := stableAfter - time.Since(before.RunningSince) + time.Second; wait > 0 {
					time.Sleep(wait)
				}
			}
			addr := strings.TrimPrefix(before.Endpoint, "tcp://")
			pid := d.nodePID(before.ServerID)
			start := time.Now()
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				b.Fatal(err)
			}
			// The old process is gone once its port refuses connections.
			pollFor(b, 30*time.Second, 5*time.Millisecond, func() error {
				if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
					c.Close()
					return fmt.Errorf("%s still accepts connections", addr)
				}
				return nil
			})
			var tRunning, tServing, tHealthy, tGood time.Duration
			pollFor(b, 3*time.Minute, 20*time.Millisecond, func() error {
				now := time.Since(start)
				if tServing == 0 && nodeAnswers(addr) {
					tServing = now
				}
				var st StateView
				if code, err := d.api(http.MethodGet, "/v1/state", nil, &st); err != nil || code != http.StatusOK {
					return fmt.Errorf("GET /v1/state: %d %v", code, err)
				}
				var m MemberView
				for _, x := range st.Members {
					if x.Name == name {
						m = x
					}
				}
				if m.TaskID != before.TaskID && m.TaskState == "TASK_RUNNING" {
					if tRunning == 0 {
						tRunning = now
					}
					if tHealthy == 0 && m.Healthy != nil && *m.Healthy {
						tHealthy = now
					}
					// GOOD only counts once the relaunch serves: the
					// Supervision may not have seen the old one die.
					if tGood == 0 && tServing > 0 && m.Health == cluster.StatusGood {
						tGood = now
					}
				}
				if tRunning == 0 || tServing == 0 || tHealthy == 0 || tGood == 0 {
					return fmt.Errorf("%s: task %s %s healthy=%v supervision=%s serving=%v (%s)",
						name, m.TaskID, m.TaskState, m.Healthy, m.Health, tServing > 0, m.Waiting)
				}
				return nil
			})
			after := d.member(name)
			if after.AgentID != before.AgentID || after.ServerID != before.ServerID || after.Port != before.Port || after.Volume != before.Volume {
				b.Fatalf("the relaunch moved: before %+v\nafter %+v", before, after)
			}
			b.Logf("kill -9 of %s (%s): relaunch RUNNING %v, serving %v, healthy %v, GOOD %v", name, before.ServerID,
				tRunning.Round(time.Millisecond), tServing.Round(time.Millisecond), tHealthy.Round(time.Millisecond), tGood.Round(time.Millisecond))
			running, serving = append(running, tRunning), append(serving, tServing)
			healthy, good = append(healthy, tHealthy), append(good, tGood)
		}
	}
	d.checkDocs(col, keys)
	// One line with every kill (benchmark logs keep only 10 lines).
	b.Logf("%d kills, seconds to the relaunch serving: %v; RUNNING: %v", len(serving), secondsList(serving), secondsList(running))
	for _, r := range []struct {
		name string
		d    []time.Duration
	}{{"running", running}, {"serving", serving}, {"healthy", healthy}, {"good", good}} {
		b.ReportMetric(nearestRank(r.d, 50).Seconds(), r.name+"-p50-s")
		b.ReportMetric(nearestRank(r.d, 99).Seconds(), r.name+"-p99-s")
	}
}

// nodeAnswers reports whether a node answers its availability check.
func nodeAnswers(addr string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/_admin/server/availability", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// teardown stops a deployment before the benchmark ends (the cleanups
// registered by startDeployment find it stopped).
func (d *deployment) teardown() {
	d.sched.Kill()
	if err := d.mc.Close(); err != nil {
		d.t.Errorf("close mesoslocal: %v", err)
	}
}

// pollFor calls f every interval until it returns nil, and fails the
// benchmark with f's last error after timeout. Unlike Eventually it does not
// back off, so the times it takes are accurate to the interval.
func pollFor(t testing.TB, timeout, interval time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not true after %v: %v", timeout, err)
		}
		time.Sleep(interval)
	}
}

// nearestRank is the p-th percentile of d by the nearest-rank method.
func nearestRank(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	r := (p*len(s) + 99) / 100 // ceil(p/100 · n)
	return s[max(r, 1)-1]
}

// secondsList formats durations as seconds with millisecond precision.
func secondsList(d []time.Duration) string {
	s := make([]string, len(d))
	for i, x := range d {
		s[i] = fmt.Sprintf("%.3f", x.Seconds())
	}
	return strings.Join(s, " ")
}
