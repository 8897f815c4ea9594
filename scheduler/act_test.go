package scheduler

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/internal/testharness"
	"github.com/arangomesos/arangomesos/node/cluster"
)

// A coordinator that does not answer holds up only the scheduler's slow
// actions, never the round (kills, relaunches): act returns while the
// rebalance call hangs, a later round's rebalance waits for it instead of
// running beside it, and once it ended the loop is kicked for a new round.
func TestSlowActionsDoNotHoldUpTheRound(t *testing.T) {
	f := newAPIFixture(t)
	release := make(chan struct{})
	var calls atomic.Int64
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer hung.Close()
	defer close(release)
	host, port, _ := net.SplitHostPort(hung.Listener.Addr().String())
	f.s.mu.Lock()
	co := f.s.st.Sorted(cluster.RoleCoordinator)[0]
	co.Phase, co.TaskState, co.Hostname = PhaseLaunched, "TASK_RUNNING", host
	co.Port, _ = strconv.Atoi(port)
	f.s.mu.Unlock()
	select { // drain a kick left by the fixture
	case <-f.s.kick:
	default:
	}

	ctx := testharness.Context(t, 30*time.Second)
	f.s.act(ctx, []Action{{Kind: ActRebalance}})
	testharness.Eventually(t, 10*time.Second, func() error {
		if n := calls.Load(); n != 1 {
			return fmt.Errorf("%d calls to the coordinator, want 1", n)
		}
		return nil
	})
	// The rebalance hangs in the coordinator; act has returned. The next
	// round's rebalance does not start a second call and stays pending.
	f.s.act(ctx, []Action{{Kind: ActRebalance}, {Kind: ActWriteTargets}})
	f.s.mu.Lock()
	pending, busy := f.s.st.RebalancePending, f.s.slowBusy
	f.s.mu.Unlock()
	if !pending || !busy || calls.Load() != 1 {
		t.Fatalf("while a rebalance hangs: pending %v, busy %v, %d coordinator calls; want true, true, 1", pending, busy, calls.Load())
	}
	release <- struct{}{}
	select {
	case <-f.s.kick:
	case <-ctx.Done():
		t.Fatal("no round was kicked after the slow action ended")
	}
	f.s.slowWG.Wait()
	f.s.mu.Lock()
	busy = f.s.slowBusy
	f.s.mu.Unlock()
	if busy || calls.Load() != 1 {
		t.Fatalf("after the rebalance ended: busy %v, %d calls", busy, calls.Load())
	}
}
