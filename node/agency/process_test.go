package agency_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/internal/testharness"
	"github.com/arangomesos/arangomesos/node/cluster"
)

// writer writes /w/<i> for i = 0, 1, … until stopped and records which
// writes were acknowledged.
type writer struct {
	mu    sync.Mutex
	acked []int
	stop  chan struct{}
	done  chan struct{}
}

func startWriter(cl *cluster.AgencyClient) *writer {
	w := &writer{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			res, err := cl.Write(ctx, cluster.Transaction{Ops: map[string]cluster.Operation{fmt.Sprintf("/w/%d", i): cluster.Set(i)}})
			cancel()
			if err == nil && res.OK() {
				w.mu.Lock()
				w.acked = append(w.acked, i)
				w.mu.Unlock()
			}
		}
	}()
	return w
}

func (w *writer) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

func (w *writer) finish() []int {
	close(w.stop)
	<-w.done
	return w.acked
}

// waitMore waits until the writer got n more acknowledgements.
func (w *writer) waitMore(t *testing.T, n int, timeout time.Duration) {
	t.Helper()
	start := w.count()
	testharness.Eventually(t, timeout, func() error {
		if got := w.count() - start; got < n {
			return fmt.Errorf("only %d new acknowledged writes", got)
		}
		return nil
	})
}

func checkAllPresent(t *testing.T, cl *cluster.AgencyClient, acked []int) {
	t.Helper()
	ctx := testharness.Context(t, 30*time.Second)
	var w map[string]int
	if _, err := cl.Get(ctx, "/w", &w); err != nil {
		t.Fatal(err)
	}
	for _, i := range acked {
		if v, ok := w[fmt.Sprint(i)]; !ok || v != i {
			t.Fatalf("acknowledged write /w/%d is lost (have %d keys)", i, len(w))
		}
	}
}

func TestProcessesKillLeaderRestartAndFullRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes")
	}
	c := testharness.StartCluster(t, testharness.ClusterOptions{})
	cl := c.AgencyClient()
	w := startWriter(cl)
	w.waitMore(t, 50, 30*time.Second)

	old := c.WaitAgencyLeader()
	old.Kill()
	newLeader := c.WaitAgencyLeader()
	if newLeader == old {
		t.Fatal("killed agent still leads")
	}
	w.waitMore(t, 50, 30*time.Second) // writes go on under the new leader

	old.Restart()
	testharness.Eventually(t, 30*time.Second, func() error {
		lc, err1 := c.AgentConfig(newLeader)
		oc, err2 := c.AgentConfig(old)
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		if oc.Raft.AppliedIndex+10 < lc.CommitIndex {
			return fmt.Errorf("restarted agent applied %d, leader committed %d", oc.Raft.AppliedIndex, lc.CommitIndex)
		}
		return nil
	})
	acked := w.finish()
	checkAllPresent(t, cl, acked)

	// Monitoring reads every agent's metrics without a token.
	for _, a := range []*testharness.Node{newLeader, old} {
		resp, err := http.Get(a.URL() + "/_admin/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := fmt.Sprintf("arangomesos_agency_leader %d\n", map[bool]int{true: 1}[a == newLeader])
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Fatalf("%s metrics: %d, want %q in\n%s", a.ID, resp.StatusCode, want, body)
		}
	}

	// All three die at once and come back: nothing acknowledged is lost.
	for _, a := range c.Agents {
		a.Kill()
	}
	for _, a := range c.Agents {
		a.Restart()
	}
	c.WaitAgencyLeader()
	checkAllPresent(t, cl, acked)
}

func TestProcessesReplaceDeadAgent(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes")
	}
	c := testharness.StartCluster(t, testharness.ClusterOptions{})
	cl := c.AgencyClient()
	ctx := testharness.Context(t, 120*time.Second)
	leader := c.WaitAgencyLeader()
	var dead *testharness.Node
	for _, a := range c.Agents {
		if a != leader {
			dead = a
			break
		}
	}
	dead.Kill()
	w := startWriter(cl)
	repl := c.AddAgent("AGNT-0099")
	if err := cl.ChangeMembership(ctx, repl.ID, repl.Endpoint, dead.ID); err != nil {
		t.Fatalf("replace %s by %s: %v", dead.ID, repl.ID, err)
	}
	w.waitMore(t, 20, 30*time.Second)
	// A client relearns the pool: it now knows the replacement, not the dead.
	if err := cl.LearnPool(ctx); err != nil {
		t.Fatal(err)
	}
	eps := strings.Join(cl.Endpoints(), " ")
	if !strings.Contains(eps, strings.TrimPrefix(repl.Endpoint, "tcp://")) || strings.Contains(eps, strings.TrimPrefix(dead.Endpoint, "tcp://")) {
		t.Errorf("endpoints after LearnPool: %s (replacement %s, dead %s)", eps, repl.Endpoint, dead.Endpoint)
	}
	// With the replacement voting, losing one more original agent keeps the
	// quorum: the Agency serves writes with the leader or the replacement.
	var other *testharness.Node
	for _, a := range c.Agents[:3] {
		if a != dead && a.Running() {
			other = a
			break
		}
	}
	other.Kill()
	c.WaitAgencyLeader()
	w.waitMore(t, 20, 60*time.Second)
	checkAllPresent(t, cl, w.finish())
}
