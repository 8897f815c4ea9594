package scheduler

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/internal/testharness"
)

// loadGenerator sends about rate GET /_api/version per second, as root,
// spread over the running coordinators (refreshed from /v1/endpoints, so a
// new coordinator gets its share).
type loadGenerator struct {
	d      *deployment
	cancel context.CancelFunc
	wg     sync.WaitGroup
	ok     atomic.Int64
	mu     sync.Mutex
	eps    []string
}

func startLoad(d *deployment, rate int) *loadGenerator {
	ctx, cancel := context.WithCancel(context.Background())
	g := &loadGenerator{d: d, cancel: cancel}
	g.refresh()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	g.wg.Add(1)
	go func() { // endpoints
		defer g.wg.Done()
		defer tick.Stop()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				g.refresh()
			}
		}
	}()
	for w := range 8 {
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			for i := w; ; i++ {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				g.mu.Lock()
				eps := g.eps
				g.mu.Unlock()
				if len(eps) == 0 {
					continue
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, eps[i%len(eps)]+"/_api/version", nil)
				req.SetBasicAuth("root", d.rootPassword)
				resp, err := client.Do(req)
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					g.ok.Add(1)
				}
			}
		}()
	}
	return g
}

func (g *loadGenerator) refresh() {
	var eps Endpoints
	if code, err := g.d.api(http.MethodGet, "/v1/endpoints", nil, &eps); err != nil || code != http.StatusOK {
		return
	}
	g.mu.Lock()
	g.eps = eps.Coordinators
	g.mu.Unlock()
}

func (g *loadGenerator) stop() {
	g.cancel()
	g.wg.Wait()
}

// autoscaleStatus returns GET /v1/autoscale.
func (d *deployment) autoscaleStatus() (AutoscaleStatus, error) {
	var st AutoscaleStatus
	code, err := d.api(http.MethodGet, "/v1/autoscale", nil, &st)
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("GET /v1/autoscale: %d", code)
	}
	return st, err
}

// runningCoordinators counts the coordinators whose task runs.
func runningCoordinators(st StateView) int {
	n := 0
	for _, m := range st.Members {
		if m.Role == "coordinator" && m.TaskState == "TASK_RUNNING" {
			n++
		}
	}
	return n
}

// holdsFor waits until the autoscaler has observed the coordinators for a
// whole window (plus two rounds) while cond held at every look, with the
// role settled at want coordinators; it fails when cond breaks.
func (d *deployment) holdsFor(want int, window time.Duration, cond func(RoleAutoscale) error) {
	d.t.Helper()
	var since time.Time
	testharness.Eventually(d.t, time.Minute, func() error {
		st, err := d.autoscaleStatus()
		if err != nil {
			return err
		}
		r := st.Roles["coordinators"]
		if r.Observed == nil {
			return fmt.Errorf("nothing observed yet")
		}
		if err := cond(r); err != nil {
			d.t.Fatalf("while holding at %d coordinators: %v", want, err)
		}
		if since.IsZero() {
			if s := d.state(); runningCoordinators(s) != want || len(s.Retired) != 0 {
				return fmt.Errorf("%d coordinators running, %d retired", runningCoordinators(s), len(s.Retired))
			}
			since = r.Observed.Time
		}
		if r.Observed.Time.Before(since.Add(window + 2*time.Duration(st.Interval))) {
			return fmt.Errorf("observed until %v, since %v", r.Observed.Time, since)
		}
		return nil
	})
}

func TestCoordinatorsAutoscaleWithTheRequestRate(t *testing.T) {
	d := deploy(t, deployOptions{MesosAgents: 4, Args: []string{"--autoscale-interval", "1s"}})
	testharness.Eventually(t, time.Minute, func() error { return allServing(d.state()) })
	window := 6 * time.Second
	policy := map[string]any{
		"coordinators": map[string]any{"enabled": true, "min": 2, "max": 3, "metric": MetricRequestsPerSecond,
			"scaleUpAbove": 20, "scaleDownBelow": 5, "window": window.String(), "cooldown": "6s"},
		"dbservers": map[string]any{"enabled": false, "min": 3, "max": 5, "metric": MetricDocumentsPerServer,
			"scaleUpAbove": 1e6, "scaleDownBelow": 10, "window": "1m", "cooldown": "5m"},
	}
	if code, err := d.api(http.MethodPut, "/v1/autoscale", policy, nil); err != nil || code != http.StatusOK {
		t.Fatalf("PUT /v1/autoscale: %d %v", code, err)
	}

	// About 200 requests per second: 100 per coordinator, then about 67
	// with three; both above 20.
	load := startLoad(d, 200)
	defer load.stop()
	start := time.Now()
	testharness.Eventually(t, time.Minute, func() error {
		st, err := d.autoscaleStatus()
		if err != nil {
			return err
		}
		if len(st.Decisions) == 0 {
			r := st.Roles["coordinators"]
			return fmt.Errorf("no decision yet (samples %d, last %+v)", r.Samples, r.Last)
		}
		if dec := st.Decisions[0]; dec.Role != "coordinators" || dec.From != 2 || dec.To != 3 || dec.Error != "" ||
			!strings.Contains(dec.Reason, "requests_per_second stayed above 20") {
			t.Fatalf("first decision: %+v", dec)
		}
		return nil
	})
	t.Logf("load to the scale-up decision: %v (%d requests answered)", time.Since(start).Round(time.Millisecond), load.ok.Load())
	if got := d.state().Targets.Coordinators; got != 3 {
		t.Fatalf("targets after the decision: %d coordinators, want 3", got)
	}
	testharness.Eventually(t, time.Minute, func() error { return allServing(d.state()) })

	// Still loaded at three: a whole window above the threshold, but 3 is
	// the policy's max.
	d.holdsFor(3, window, func(r RoleAutoscale) error {
		if v := r.Observed.Values[MetricRequestsPerSecond]; v <= 20 {
			return fmt.Errorf("the load dropped to %.1f requests/s per coordinator", v)
		}
		return nil
	})
	st, err := d.autoscaleStatus()
	if err != nil || len(st.Decisions) != 1 || d.state().Targets.Coordinators != 3 {
		t.Fatalf("max 3 not respected: %+v %v", st.Decisions, err)
	}
	// Every metric is read, the DBServers' too (their policy is off).
	c, db := st.Roles["coordinators"].Observed, st.Roles["dbservers"].Observed
	if c == nil || c.Members != 3 || c.Values[MetricLatencyP99] <= 0 {
		t.Errorf("coordinators observed: %+v", c)
	}
	if db == nil || db.Members != 3 || len(db.Values) != 3 {
		t.Errorf("DBServers observed: %+v", db)
	}

	// The load stops: back to two after the cooldown and a quiet window.
	load.stop()
	start = time.Now()
	testharness.Eventually(t, time.Minute, func() error {
		st, err := d.autoscaleStatus()
		if err != nil {
			return err
		}
		if len(st.Decisions) < 2 {
			r := st.Roles["coordinators"]
			return fmt.Errorf("no second decision yet (samples %d, last %+v)", r.Samples, r.Last)
		}
		if dec := st.Decisions[1]; dec.From != 3 || dec.To != 2 || dec.Error != "" || !strings.Contains(dec.Reason, "stayed below 5") {
			t.Fatalf("second decision: %+v", dec)
		}
		return nil
	})
	t.Logf("load stop to the scale-down decision: %v", time.Since(start).Round(time.Millisecond))
	testharness.Eventually(t, time.Minute, func() error {
		st := d.state()
		if st.Targets.Coordinators != 2 || runningCoordinators(st) != 2 || len(st.Retired) != 0 {
			return fmt.Errorf("targets %+v, %d coordinators running, %d retired", st.Targets, runningCoordinators(st), len(st.Retired))
		}
		return allServing(st)
	})

	// Quiet at two: a whole window below the threshold, but 2 is the min.
	d.holdsFor(2, window, func(r RoleAutoscale) error {
		if v := r.Observed.Values[MetricRequestsPerSecond]; v >= 5 {
			return fmt.Errorf("%.1f requests/s per coordinator without load", v)
		}
		return nil
	})
	if st, _ := d.autoscaleStatus(); len(st.Decisions) != 2 || d.state().Targets.Coordinators != 2 {
		t.Fatalf("min 2 not respected: %+v", st.Decisions)
	}

	// The event log says why.
	var evs []Event
	if code, err := d.api(http.MethodGet, "/v1/events", nil, &evs); err != nil || code != http.StatusOK {
		t.Fatalf("GET /v1/events: %d %v", code, err)
	}
	var why []string
	for _, e := range evs {
		if e.Kind == EventAutoscale && strings.HasPrefix(e.Message, "autoscaler:") {
			why = append(why, e.Message)
		}
	}
	if len(why) != 2 || !strings.Contains(why[0], "coordinators 2 → 3: requests_per_second stayed above 20") ||
		!strings.Contains(why[1], "coordinators 3 → 2: requests_per_second stayed below 5") {
		t.Fatalf("autoscale events: %q", why)
	}
}

// DBServers autoscale on the documents they hold: above the policy's
// threshold for a window, the autoscaler adds one, the shards are moved
// onto it, no document is lost, and the policy's max holds.
func TestDBServersAutoscaleWithTheirDocuments(t *testing.T) {
	d := deploy(t, deployOptions{MesosAgents: 4, Args: []string{"--autoscale-interval", "1s"}})
	col := d.collection("grow", 8)
	keys := d.writeDocs(col, "g", 600) // 1,200 copies: 400 per DBServer
	policy := map[string]any{
		"coordinators": map[string]any{"enabled": false, "min": 1, "max": 3, "metric": MetricRequestsPerSecond,
			"scaleUpAbove": 1e6, "scaleDownBelow": 0, "window": "1m", "cooldown": "5m"},
		"dbservers": map[string]any{"enabled": true, "min": 3, "max": 4, "metric": MetricDocumentsPerServer,
			"scaleUpAbove": 300, "scaleDownBelow": 10, "window": "3s", "cooldown": "5s"},
	}
	if code, err := d.api(http.MethodPut, "/v1/autoscale", policy, nil); err != nil || code != http.StatusOK {
		t.Fatalf("PUT /v1/autoscale: %d %v", code, err)
	}
	testharness.Eventually(t, time.Minute, func() error {
		st, err := d.autoscaleStatus()
		if err != nil {
			return err
		}
		if len(st.Decisions) == 0 {
			r := st.Roles["dbservers"]
			return fmt.Errorf("no decision yet (samples %d, last %+v)", r.Samples, r.Last)
		}
		if dec := st.Decisions[0]; dec.Role != "dbservers" || dec.From != 3 || dec.To != 4 || dec.Error != "" ||
			!strings.Contains(dec.Reason, "documents_per_dbserver stayed above 300") {
			t.Fatalf("first decision: %+v", dec)
		}
		return nil
	})
	d.waitCounts(3*time.Minute, 4, 2)
	// The new DBServer gets shards (rebalance after a scale-up), every
	// copy is in sync, and every document is there.
	testharness.Eventually(t, 2*time.Minute, func() error {
		counts, err := d.shardCounts("grow")
		if err != nil {
			return err
		}
		if len(counts) != 4 {
			return fmt.Errorf("shard copies on %d DBServers, want 4: %v", len(counts), counts)
		}
		return d.shardsInSync("grow", 2)
	})
	d.checkDocs(col, keys)

	// 4 is the policy's max: with more documents the role stays above its
	// threshold (1,200 copies over 4 would be exactly 300), for longer
	// than a window and a cooldown, and nothing is added.
	keys = append(keys, d.writeDocs(col, "h", 400)...)
	written := time.Now()
	testharness.Eventually(t, time.Minute, func() error {
		st, err := d.autoscaleStatus()
		if err != nil {
			return err
		}
		r := st.Roles["dbservers"]
		if r.Observed == nil || r.Observed.Members != 4 || r.Observed.Values[MetricDocumentsPerServer] <= 300 {
			return fmt.Errorf("observed %+v", r.Observed)
		}
		if r.Observed.Time.Before(written.Add(8*time.Second + 2*time.Duration(st.Interval))) {
			return fmt.Errorf("observed until %v", r.Observed.Time)
		}
		return nil
	})
	if st, _ := d.autoscaleStatus(); len(st.Decisions) != 1 || d.state().Targets.DBServers != 4 {
		t.Fatalf("max 4 not respected: %+v, targets %+v", st.Decisions, d.state().Targets)
	}
	d.checkDocs(col, keys)
}
