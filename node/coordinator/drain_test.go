package coordinator_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/internal/testharness"
	"github.com/arangomesos/arangomesos/node/cluster"
)

// A coordinator that gets SIGTERM drains before it stops: during its drain
// delay it still answers every request (asking clients to close their
// connections), its availability answers 503, and the other coordinator's
// /_api/cluster/endpoints stops listing it; once stopped, its last
// heartbeat says SHUTDOWN, so it can be removed from the cluster at once
// rather than after Supervision's grace period.
func TestCoordinatorDrainsOnSIGTERM(t *testing.T) {
	c := testharness.StartCluster(t, testharness.ClusterOptions{DBServers: 1, Coordinators: 2,
		CoordinatorArgs: []string{"--server.drain-delay", "3s"}})
	if code, err := c.CoordinatorJSON(0, "POST", "/_api/collection", map[string]any{"name": "drain"}, nil); err != nil || code != 200 {
		t.Fatalf("create collection: %d %v", code, err)
	}
	leaving, staying := c.Coordinators[1], 0
	endpoints := func() []string {
		var out struct {
			Endpoints []struct{ Endpoint string } `json:"endpoints"`
		}
		if code, err := c.CoordinatorJSON(staying, "GET", "/_api/cluster/endpoints", nil, &out); err != nil || code != 200 {
			t.Fatalf("endpoints: %d %v", code, err)
		}
		var eps []string
		for _, e := range out.Endpoints {
			eps = append(eps, e.Endpoint)
		}
		return eps
	}
	testharness.Eventually(t, 30*time.Second, func() error {
		if eps := endpoints(); len(eps) != 2 {
			return fmt.Errorf("endpoints %v, want both coordinators", eps)
		}
		return nil
	})

	// A client with keep-alive inserts into the leaving coordinator until
	// its listener is gone.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	insert := func(i int) (*http.Response, error) {
		req, _ := http.NewRequest("POST", leaving.URL()+"/_api/document/drain", strings.NewReader(fmt.Sprintf(`{"_key":"k%d"}`, i)))
		req.SetBasicAuth("root", c.RootPassword)
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return resp, err
	}
	if resp, err := insert(0); err != nil || resp.StatusCode/100 != 2 || resp.Header.Get("Connection") == "close" {
		t.Fatalf("insert before the drain: %v %v", resp, err)
	}
	leaving.Signal(syscall.SIGTERM)
	signalled := time.Now()

	// While draining: requests are answered, each closing its connection;
	// availability is 503; the other coordinator no longer lists it.
	closing := 0
	testharness.Eventually(t, 3*time.Second, func() error {
		code, err := testharness.JSONRequest("GET", leaving.URL()+"/_admin/server/availability", nil, nil, nil)
		if err != nil || code != http.StatusServiceUnavailable {
			return fmt.Errorf("availability while draining: %d %v", code, err)
		}
		return nil
	})
	for i := 1; time.Since(signalled) < 2*time.Second; i++ {
		resp, err := insert(i)
		if err != nil || resp.StatusCode/100 != 2 {
			t.Fatalf("insert %d, %v after SIGTERM (within the drain delay): %v %v", i, time.Since(signalled), resp, err)
		}
		if resp.Header.Get("Connection") == "close" || resp.Close {
			closing++
		}
	}
	if closing == 0 {
		t.Error("no response during the drain asked the client to close its connection")
	}
	testharness.Eventually(t, 3*time.Second, func() error {
		for _, ep := range endpoints() {
			if ep == leaving.Endpoint {
				return fmt.Errorf("%s still listed while it drains", ep)
			}
		}
		return nil
	})

	// Stopped: a clean exit, SHUTDOWN in its health record, and removable
	// at once (it is not FAILED yet: the grace period is 10 s).
	if !leaving.Wait(15 * time.Second) {
		t.Fatal("the coordinator did not stop within 15 s of SIGTERM")
	}
	if err := leaving.ExitError(); err != nil {
		t.Fatalf("exit: %v", err)
	}
	t.Logf("stopped %v after SIGTERM", time.Since(signalled).Round(time.Millisecond))
	testharness.Eventually(t, 5*time.Second, func() error {
		var health map[string]cluster.HealthRecord
		if _, err := c.AgencyClient().Get(testharness.Context(t, 5*time.Second), cluster.SupervisionHealth, &health); err != nil {
			return err
		}
		if rec := health[leaving.ID]; rec.SyncStatus != "SHUTDOWN" || rec.Status == cluster.StatusFailed {
			return fmt.Errorf("health of %s: %+v", leaving.ID, rec)
		}
		return nil
	})
	if code, err := c.CoordinatorJSON(staying, "POST", "/_admin/cluster/removeServer", leaving.ID, nil); err != nil || code != 200 {
		t.Fatalf("removeServer of the stopped coordinator: %d %v", code, err)
	}
}
