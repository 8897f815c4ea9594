package agency_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/internal/testharness"
	"github.com/arangomesos/arangomesos/node/agency"
	"github.com/arangomesos/arangomesos/node/agency/agencytest"
	"github.com/arangomesos/arangomesos/node/cluster"
)

// scrape returns the unlabelled samples of an agent's /_admin/metrics page.
func scrape(t *testing.T, a *agency.Agent) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	a.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/_admin/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("metrics: %d %s", rec.Code, rec.Body)
	}
	samples := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(rec.Body.Bytes()))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") || strings.Contains(name, "{") {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", sc.Text(), err)
		}
		samples[name] = v
	}
	return samples
}

// TestAgentMetrics: every agent reports leadership, log, commit and apply
// progress and its log append times; the leader its writes' apply times and
// how many requests shared a log entry.
func TestAgentMetrics(t *testing.T) {
	c := agencytest.New(t, 3, agencytest.Options{Secret: cluster.Secret("m")})
	leader := c.WaitLeader()
	cl := c.Client()
	ctx := testharness.Context(t, 30*time.Second)
	const writers, each = 8, 10
	var last uint64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				res, err := cl.Write(ctx, cluster.Transaction{Ops: map[string]cluster.Operation{fmt.Sprintf("/m/%d", w): cluster.Set(i)}})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				last = max(last, res.Indexes[0])
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	m := scrape(t, leader.Agency())
	for name, want := range map[string]float64{
		"arangomesos_agency_leader":                       1,
		"arangomesos_agency_voters":                       3,
		"arangomesos_agency_last_contact_seconds":         0,
		"arangomesos_agency_write_requests_per_entry_sum": writers * each,
	} {
		if m[name] != want {
			t.Errorf("leader: %s = %v, want %v", name, m[name], want)
		}
	}
	if n := m["arangomesos_agency_apply_duration_seconds_count"]; n < 1 || n > writers*each+10 {
		t.Errorf("leader: %v applies timed for %d writes", n, writers*each)
	}
	if n := m["arangomesos_agency_write_requests_per_entry_count"]; n < 1 || n > writers*each {
		t.Errorf("leader: %v write entries for %d requests", n, writers*each)
	}
	for _, f := range c.Followers() {
		testharness.Eventually(t, 10*time.Second, func() error {
			m := scrape(t, f.Agency())
			switch {
			case m["arangomesos_agency_leader"] != 0:
				return fmt.Errorf("%s reports leading", f.Agency().ID())
			case m["arangomesos_agency_applied_index"] < float64(last):
				return fmt.Errorf("%s applied %v, want ≥ %d", f.Agency().ID(), m["arangomesos_agency_applied_index"], last)
			case m["arangomesos_agency_last_contact_seconds"] < 0 || m["arangomesos_agency_last_contact_seconds"] > 5:
				return fmt.Errorf("%s last contact %vs ago", f.Agency().ID(), m["arangomesos_agency_last_contact_seconds"])
			case m["arangomesos_agency_apply_duration_seconds_count"] != 0:
				return fmt.Errorf("%s timed proposals it never made", f.Agency().ID())
			}
			return nil
		})
	}
	for _, a := range c.Agents {
		m := scrape(t, a.Agency())
		for _, name := range []string{"arangomesos_agency_last_log_index", "arangomesos_agency_commit_index"} {
			if m[name] < float64(last) {
				t.Errorf("%s: %s = %v, want ≥ %d", a.Agency().ID(), name, m[name], last)
			}
		}
		appends, entries := m["arangomesos_agency_log_append_duration_seconds_count"], m["arangomesos_agency_log_entries_appended_total"]
		if appends < 1 || entries < appends || m["arangomesos_agency_log_append_duration_seconds_sum"] <= 0 {
			t.Errorf("%s: %v appends of %v entries, %vs", a.Agency().ID(), appends, entries, m["arangomesos_agency_log_append_duration_seconds_sum"])
		}
		if m["process_cpu_seconds_total"] <= 0 || m["go_goroutines"] <= 0 {
			t.Errorf("%s: no process or Go metrics", a.Agency().ID())
		}
	}
}
