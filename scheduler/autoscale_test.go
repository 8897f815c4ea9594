package scheduler

import (
	"context"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// coordinatorRegistry is a registry with the coordinator's series, as
// node/coordinator/metrics.go registers them.
func coordinatorRegistry() (*prometheus.Registry, *prometheus.CounterVec, *prometheus.HistogramVec) {
	reg := prometheus.NewRegistry()
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: seriesCoordRequests}, []string{"method", "code"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: seriesCoordLatency,
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"method"})
	reg.MustRegister(requests, latency, collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector())
	return reg, requests, latency
}

func TestAutoscaleReadsARealExposition(t *testing.T) {
	reg, requests, latency := coordinatorRegistry()
	requests.WithLabelValues("GET", "200").Add(70)
	requests.WithLabelValues("POST", "201").Add(25)
	requests.WithLabelValues("GET", "404").Add(5)
	for range 90 {
		latency.WithLabelValues("GET").Observe(0.0007) // the 0.001 bucket
	}
	for range 10 {
		latency.WithLabelValues("POST").Observe(0.1) // the 0.128 bucket
	}
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	m, err := scrape(context.Background(), srv.Client(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if m.Requests != 100 {
		t.Errorf("requests: %v, want 100", m.Requests)
	}
	if n := len(m.Latency); n != 17 || !math.IsInf(m.Latency[n-1].UpperBound, 1) || m.Latency[n-1].Count != 100 {
		t.Fatalf("latency buckets: %+v", m.Latency)
	}
	if got := histogramQuantile(0.5, m.Latency); got <= 0.0005 || got > 0.001 {
		t.Errorf("median %v, want within (0.0005, 0.001]", got)
	}
	if got := histogramQuantile(0.99, m.Latency); got <= 0.064 || got > 0.128 {
		t.Errorf("p99 %v, want within (0.064, 0.128]", got)
	}
	if m.CPUSeconds < 0 {
		t.Errorf("cpu seconds %v", m.CPUSeconds)
	}
}

func TestAutoscaleParseExposition(t *testing.T) {
	page := `# HELP arangomesos_dbserver_documents Documents stored in local shards.
# TYPE arangomesos_dbserver_documents gauge
arangomesos_dbserver_documents 1234

arangomesos_dbserver_data_bytes{shard="s1",note="a \"quoted\", {braced} value\\"} 1e+06 1700000000000
arangomesos_dbserver_data_bytes{shard="s2",} 500
process_cpu_seconds_total 12.5
something_else{a="b"} NaN
`
	m, err := readNodeMetrics(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	if m.Documents != 1234 || m.DataBytes != 1_000_500 || m.CPUSeconds != 12.5 || m.Requests != 0 || m.Latency != nil {
		t.Fatalf("%+v", m)
	}
	series, _ := parseExposition(strings.NewReader(page))
	if got := series[1].Labels["note"]; got != `a "quoted", {braced} value\` {
		t.Errorf("escaped label value: %q", got)
	}
	for _, bad := range []string{"novalue", `x{a="b" 1`, `x{a=b} 1`, "x one", "x 1 2 3", `x{a="b} 1`} {
		if _, err := parseExposition(strings.NewReader(bad + "\n")); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestAutoscaleHistogramQuantile(t *testing.T) {
	inf := math.Inf(1)
	b := func(pairs ...float64) []bucket {
		var out []bucket
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, bucket{UpperBound: pairs[i], Count: pairs[i+1]})
		}
		return out
	}
	cases := []struct {
		name    string
		q       float64
		buckets []bucket
		want    float64
	}{
		{"no buckets", 0.99, nil, 0},
		{"no observations", 0.99, b(0.1, 0, 1, 0, inf, 0), 0},
		{"all in the first bucket: interpolated from 0", 0.5, b(0.1, 10, 1, 10, inf, 10), 0.05},
		{"interpolated inside the second bucket", 0.99, b(0.1, 90, 1, 100, inf, 100), 0.1 + 0.9*0.9},
		{"rank in +Inf: the largest finite bound", 0.99, b(0.1, 50, 1, 60, inf, 100), 1},
		{"only +Inf", 0.5, b(inf, 10), 0},
	}
	for _, c := range cases {
		if got := histogramQuantile(c.q, c.buckets); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestAutoscaleCounterDeltas(t *testing.T) {
	if counterDelta(10, 25) != 15 || counterDelta(100, 7) != 7 {
		t.Error("counterDelta: growth, or a reset counts from zero")
	}
	prev := []bucket{{0.1, 5}, {1, 8}, {math.Inf(1), 10}}
	cur := []bucket{{0.1, 6}, {1, 12}, {math.Inf(1), 20}}
	if got := bucketDeltas(prev, cur); fmt.Sprint(got) != fmt.Sprint([]bucket{{0.1, 1}, {1, 4}, {math.Inf(1), 10}}) {
		t.Errorf("deltas %v", got)
	}
	reset := []bucket{{0.1, 1}, {1, 1}, {math.Inf(1), 2}}
	if got := bucketDeltas(prev, reset); fmt.Sprint(got) != fmt.Sprint(reset) {
		t.Errorf("after a reset the new readings are the deltas: %v", got)
	}
	if got := addBuckets(nil, cur); fmt.Sprint(got) != fmt.Sprint(cur) {
		t.Errorf("addBuckets %v", got)
	}
}

func TestAutoscaleRoleMetrics(t *testing.T) {
	t0 := now
	t1 := now.Add(10 * time.Second)
	inf := math.Inf(1)
	sc := func(task string, at time.Time, m nodeMetrics) memberScrape {
		return memberScrape{Member: task, TaskID: task, At: at, M: m}
	}
	byTask := func(ss ...memberScrape) map[string]memberScrape {
		out := map[string]memberScrape{}
		for _, s := range ss {
			out[s.TaskID] = s
		}
		return out
	}
	lat := func(fast, slow float64) []bucket {
		return []bucket{{0.01, fast}, {1, fast + slow}, {inf, fast + slow}}
	}
	cases := []struct {
		name      string
		role      string
		prev, cur map[string]memberScrape
		want      map[string]float64
	}{
		{"first round: no rates", "coordinators", nil,
			byTask(sc("c1", t0, nodeMetrics{Requests: 500})), map[string]float64{}},
		{"rates averaged over coordinators", "coordinators",
			byTask(sc("c1", t0, nodeMetrics{Requests: 500, Latency: lat(0, 0)}), sc("c2", t0, nodeMetrics{Requests: 0, Latency: lat(0, 0)})),
			byTask(sc("c1", t1, nodeMetrics{Requests: 1500, Latency: lat(990, 10)}), sc("c2", t1, nodeMetrics{Requests: 1000, Latency: lat(0, 0)})),
			map[string]float64{MetricRequestsPerSecond: 100, MetricLatencyP99: 10}},
		{"a new coordinator (no earlier scrape) is not averaged in yet", "coordinators",
			byTask(sc("c1", t0, nodeMetrics{Requests: 0})),
			byTask(sc("c1", t1, nodeMetrics{Requests: 300}), sc("c3", t1, nodeMetrics{Requests: 5})),
			map[string]float64{MetricRequestsPerSecond: 30, MetricLatencyP99: 0}},
		{"a restarted coordinator counts from zero", "coordinators",
			byTask(sc("c1", t0, nodeMetrics{Requests: 9000})),
			byTask(sc("c1", t1, nodeMetrics{Requests: 200})),
			map[string]float64{MetricRequestsPerSecond: 20, MetricLatencyP99: 0}},
		{"slow requests: p99 in the slow bucket", "coordinators",
			byTask(sc("c1", t0, nodeMetrics{Latency: lat(0, 0)})),
			byTask(sc("c1", t1, nodeMetrics{Requests: 100, Latency: lat(50, 50)})),
			map[string]float64{MetricRequestsPerSecond: 10, MetricLatencyP99: (0.01 + 0.99*0.98) * 1000}},
		{"DBServers: documents and bytes per server, CPU cores", "dbservers",
			byTask(sc("d1", t0, nodeMetrics{CPUSeconds: 100}), sc("d2", t0, nodeMetrics{CPUSeconds: 50})),
			byTask(sc("d1", t1, nodeMetrics{Documents: 3000, DataBytes: 1e6, CPUSeconds: 115}), sc("d2", t1, nodeMetrics{Documents: 1000, DataBytes: 3e6, CPUSeconds: 55})),
			map[string]float64{MetricDocumentsPerServer: 2000, MetricDataBytesPerServer: 2e6, MetricCPUPerServer: 1}},
		{"DBServers, first round: gauges only", "dbservers", nil,
			byTask(sc("d1", t0, nodeMetrics{Documents: 10, DataBytes: 20, CPUSeconds: 3})),
			map[string]float64{MetricDocumentsPerServer: 10, MetricDataBytesPerServer: 20}},
		{"nobody answered", "dbservers", nil, nil, map[string]float64{}},
	}
	for _, c := range cases {
		got := roleMetrics(c.role, c.prev, c.cur)
		if len(got) != len(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
			continue
		}
		for k, v := range c.want {
			if g, ok := got[k]; !ok || math.Abs(g-v) > 1e-6 {
				t.Errorf("%s: %s = %v, want %v (all: %v)", c.name, k, g, v, got)
			}
		}
	}
}

func TestAutoscaleTrimSamples(t *testing.T) {
	var s []Sample
	for i := range 20 {
		s = append(s, Sample{Time: now.Add(time.Duration(i-19) * time.Second), Value: float64(i)})
	}
	got := trimSamples(s, now, 5*time.Second)
	// now-5s … now, and the one before the window.
	if len(got) != 7 || got[0].Value != 13 || got[6].Value != 19 {
		t.Fatalf("%v", got)
	}
	if got := trimSamples(s[:3], now, time.Minute); len(got) != 3 {
		t.Fatalf("a young series is kept whole: %v", got)
	}
}

// TestAutoscaleWindowWithSlowTicks: samples every 10s that drift a little
// late still make a full 60s window (the sample before the window shows it
// is covered).
func TestAutoscaleWindowWithSlowTicks(t *testing.T) {
	p := RolePolicy{Enabled: true, Min: 1, Max: 3, Metric: MetricRequestsPerSecond, ScaleUpAbove: 100, ScaleDownBelow: 10,
		Window: Duration(time.Minute), Cooldown: Duration(time.Minute)}
	var samples []Sample
	t0 := now.Add(-70 * time.Second)
	var at time.Time
	for i := range 8 {
		at = t0.Add(time.Duration(i) * 10010 * time.Millisecond)
		samples = trimSamples(append(samples, Sample{Time: at, Value: 150}), at, time.Duration(p.Window))
	}
	if to, reason, ok := p.Evaluate(1, samples, time.Time{}, at); !ok || to != 2 {
		t.Fatalf("no step after 70s above the threshold: %v %v %q (samples %v)", to, ok, reason, samples)
	}
}

// autoscaleFixture drives autoscaleStep of an unconnected scheduler with a
// fake clock and fake scrapes: no network, no Mesos.
type autoscaleFixture struct {
	*apiFixture
	now      time.Time
	requests map[string]float64 // cumulative requests by task id
	docs     float64
}

func newAutoscaleFixture(t *testing.T) *autoscaleFixture {
	f := &autoscaleFixture{apiFixture: newAPIFixture(t), now: now, requests: map[string]float64{}}
	f.s.mu.Lock()
	f.s.st.Deployed = true
	f.s.mu.Unlock()
	f.settle()
	return f
}

// settle creates the members of the targets (as a decision round does),
// lets retired ones go and marks every member running.
func (f *autoscaleFixture) settle() {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	Decide(f.s.st, f.s.world())
	f.s.st.Retired = nil
	for _, m := range f.s.st.Members {
		m.Phase, m.TaskState, m.TaskID = PhaseLaunched, "TASK_RUNNING", m.Name+"-task"
		m.Hostname, m.Port = "127.0.0.1", 1
	}
}

// tick advances the clock by a second, in which every running coordinator
// answered perCoordinator requests, and runs one autoscaler round.
func (f *autoscaleFixture) tick(perCoordinator float64) {
	f.now = f.now.Add(time.Second)
	targets := f.s.scrapeTargets()
	got := map[string]memberScrape{}
	for _, t := range targets {
		f.requests[t.TaskID] += perCoordinator
		got[t.TaskID] = memberScrape{Member: t.Member, TaskID: t.TaskID, At: f.now,
			M: nodeMetrics{Requests: f.requests[t.TaskID], Documents: f.docs}}
	}
	f.s.autoscaleStep(context.Background(), f.now, targets, got)
}

func (f *autoscaleFixture) targets() Targets {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	return f.s.st.Targets
}

// ticksUntil ticks until cond holds, at most n times; it returns the ticks.
func (f *autoscaleFixture) ticksUntil(n int, load float64, cond func() bool) int {
	for i := 1; i <= n; i++ {
		f.tick(load)
		if cond() {
			return i
		}
	}
	return -1
}

// metric reads a series of the scheduler's GET /metrics whose label
// values include every one of values (-1 if there is none).
func (f *autoscaleFixture) metric(name string, values ...string) float64 {
	f.t.Helper()
	resp, err := http.Get(f.srv.URL + "/metrics")
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	series, err := parseExposition(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
next:
	for _, s := range series {
		if s.Name != name {
			continue
		}
		for _, v := range values {
			if !slices.Contains(slices.Collect(maps.Values(s.Labels)), v) {
				continue next
			}
		}
		return s.Value
	}
	return -1
}

func (f *autoscaleFixture) events(kind string) []string {
	evs, _ := f.s.events.Since(0)
	var out []string
	for _, e := range evs {
		if e.Kind == kind {
			out = append(out, e.Message)
		}
	}
	return out
}

func TestAutoscaleStepCoordinatorsUpAndDown(t *testing.T) {
	f := newAutoscaleFixture(t)
	policy := `{"coordinators":{"enabled":true,"min":2,"max":3,"metric":"requests_per_second","scaleUpAbove":20,"scaleDownBelow":5,"window":"6s","cooldown":"10s"},
	            "dbservers":{"enabled":false,"min":2,"max":6,"metric":"documents_per_dbserver","scaleUpAbove":1000,"scaleDownBelow":10,"window":"1m","cooldown":"5m"}}`
	if code, m := f.call("PUT", "/v1/autoscale", policy, true); code != 200 {
		t.Fatalf("policy: %d %v", code, m)
	}
	coords := func(n int) func() bool { return func() bool { return f.targets().Coordinators == n } }

	// Load: 50 requests/s per coordinator. The first round has no rate;
	// the window of 6s is full after 7 samples.
	if n := f.ticksUntil(30, 50, coords(3)); n != 8 {
		t.Fatalf("scaled up after %d ticks, want 8 (targets %+v)", n, f.targets())
	}
	st := f.s.AutoscaleStatus()
	if len(st.Decisions) != 1 || st.Decisions[0].From != 2 || st.Decisions[0].To != 3 ||
		!strings.Contains(st.Decisions[0].Reason, "requests_per_second stayed above 20 for 6s (average 50.0") {
		t.Fatalf("decisions: %+v", st.Decisions)
	}
	if r := st.Roles["coordinators"]; r.Samples != 0 || r.LastStep == nil || !r.CooldownUntil.Equal(f.now.Add(10*time.Second)) {
		t.Fatalf("after a step the window starts again: %+v", r)
	}
	if evs := f.events(EventAutoscale); len(evs) != 2 || !strings.Contains(evs[1], "coordinators 2 → 3: requests_per_second stayed above 20") {
		t.Fatalf("autoscale events: %q", evs)
	}
	if evs := f.events(EventScale); len(evs) == 0 || !strings.Contains(evs[len(evs)-1], "set by the autoscaler") {
		t.Fatalf("scale events: %q", evs)
	}

	// coordinator-3 is not running yet: the role is not settled, no step.
	for range 20 {
		f.tick(50)
	}
	if got := f.targets().Coordinators; got != 3 || len(f.s.AutoscaleStatus().Decisions) != 1 {
		t.Fatalf("stepped while a coordinator was launching: %d", got)
	}
	// It runs: still above the threshold, but 3 is the max.
	f.settle()
	for range 30 {
		f.tick(50)
	}
	if got := f.targets().Coordinators; got != 3 || len(f.s.AutoscaleStatus().Decisions) != 1 {
		t.Fatalf("max 3 not respected: %d", got)
	}
	if r := f.s.AutoscaleStatus().Roles["coordinators"]; r.Last == nil || r.Last.Value != 50 || r.Observed.Members != 3 {
		t.Fatalf("status: %+v", r)
	}

	// Load stops: down after a window below 5, and never below min 2.
	if n := f.ticksUntil(30, 1, coords(2)); n < 7 {
		t.Fatalf("scaled down after %d ticks", n)
	}
	f.settle()
	for range 60 {
		f.tick(0)
	}
	st = f.s.AutoscaleStatus()
	if got := f.targets().Coordinators; got != 2 || len(st.Decisions) != 2 || st.Decisions[1].To != 2 ||
		!strings.Contains(st.Decisions[1].Reason, "stayed below 5") {
		t.Fatalf("min 2 not respected: %d %+v", got, st.Decisions)
	}
	if v := f.metric("arangomesos_autoscale_decisions_total", "coordinators", "up", "applied"); v != 1 {
		t.Errorf("decisions counter up: %v", v)
	}
	if v := f.metric("arangomesos_autoscale_decisions_total", "coordinators", "down", "applied"); v != 1 {
		t.Errorf("decisions counter down: %v", v)
	}
	if v := f.metric("arangomesos_autoscale_observed", "coordinators", MetricRequestsPerSecond); v != 0 {
		t.Errorf("observed gauge: %v", v)
	}
}

func TestAutoscaleStepRefusedByScale(t *testing.T) {
	f := newAutoscaleFixture(t)
	policy := `{"coordinators":{"enabled":false,"min":1,"max":3,"metric":"requests_per_second","scaleUpAbove":20,"scaleDownBelow":5,"window":"6s","cooldown":"10s"},
	            "dbservers":{"enabled":true,"min":1,"max":6,"metric":"documents_per_dbserver","scaleUpAbove":1000,"scaleDownBelow":10,"window":"3s","cooldown":"20s"}}`
	if code, m := f.call("PUT", "/v1/autoscale", policy, true); code != 200 {
		t.Fatalf("policy: %d %v", code, m)
	}
	f.s.mu.Lock()
	f.s.view.MaxReplicationFactor = 3
	f.s.mu.Unlock()
	f.docs = 1
	// 3 DBServers holding almost nothing: the policy wants 2, Scale
	// refuses (replicationFactor 3), and the autoscaler waits a cooldown
	// before it asks again.
	for range 15 {
		f.tick(0)
	}
	st := f.s.AutoscaleStatus()
	if f.targets().DBServers != 3 || len(st.Decisions) != 1 || !strings.Contains(st.Decisions[0].Error, "replicationFactor") {
		t.Fatalf("targets %+v, decisions %+v", f.targets(), st.Decisions)
	}
	if evs := f.events(EventAutoscale); !strings.Contains(evs[len(evs)-1], "refused") {
		t.Fatalf("events: %q", evs)
	}
	for range 20 {
		f.tick(0)
	}
	if n := len(f.s.AutoscaleStatus().Decisions); n != 2 {
		t.Fatalf("decisions after one more cooldown: %d, want 2", n)
	}
	if v := f.metric("arangomesos_autoscale_decisions_total", "dbservers", "down", "refused"); v != 2 {
		t.Errorf("refused counter: %v", v)
	}
}

func TestAutoscaleStepIdleWhenOff(t *testing.T) {
	f := newAutoscaleFixture(t)
	for range 20 {
		f.tick(1000)
	}
	st := f.s.AutoscaleStatus()
	if f.targets().Coordinators != 2 || len(st.Decisions) != 0 {
		t.Fatalf("a disabled policy stepped: %+v", st.Decisions)
	}
	// It still observes, for an operator choosing thresholds.
	if r := st.Roles["coordinators"]; r.Observed == nil || r.Observed.Values[MetricRequestsPerSecond] != 1000 {
		t.Fatalf("observed: %+v", r.Observed)
	}
	// A count changed by someone else starts a fresh window.
	if _, err := f.s.Scale(context.Background(), map[string]int{"coordinators": 3}, "a test"); err != nil {
		t.Fatal(err)
	}
	f.tick(1000)
	if r := f.s.AutoscaleStatus().Roles["coordinators"]; r.Samples != 1 {
		t.Fatalf("samples after an external scale: %d, want 1", r.Samples)
	}
}

func TestAutoscaleScrapeTimesOut(t *testing.T) {
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(hang)
	reg, requests, _ := coordinatorRegistry()
	requests.WithLabelValues("GET", "200").Add(3)
	fast := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer fast.Close()
	client := &http.Client{Timeout: scrapeTimeout(200 * time.Millisecond)}
	start := time.Now()
	got := scrapeAll(context.Background(), client, []scrapeTarget{
		{Role: "coordinators", Member: "coordinator-1", TaskID: "t1", URL: fast.URL},
		{Role: "coordinators", Member: "coordinator-2", TaskID: "t2", URL: slow.URL},
		{Role: "coordinators", Member: "coordinator-3", TaskID: "t3", URL: "http://127.0.0.1:1/_admin/metrics"},
	})
	if len(got) != 1 || got["t1"].M.Requests != 3 {
		t.Fatalf("scrapes: %+v", got)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("a hanging member held the round for %v", d)
	}
}

// The cooldown outlives a scheduler restart: the time of the last step is
// in the saved state, so a restarted scheduler whose window fills again
// does not step before the cooldown ends.
func TestAutoscaleCooldownSurvivesARestart(t *testing.T) {
	f := newAutoscaleFixture(t)
	policy := `{"coordinators":{"enabled":true,"min":2,"max":4,"metric":"requests_per_second","scaleUpAbove":20,"scaleDownBelow":5,"window":"6s","cooldown":"30s"},
	            "dbservers":{"enabled":false,"min":2,"max":6,"metric":"documents_per_dbserver","scaleUpAbove":1000,"scaleDownBelow":10,"window":"1m","cooldown":"5m"}}`
	if code, m := f.call("PUT", "/v1/autoscale", policy, true); code != 200 {
		t.Fatalf("policy: %d %v", code, m)
	}
	coords := func(n int) func() bool { return func() bool { return f.targets().Coordinators == n } }
	if n := f.ticksUntil(30, 50, coords(3)); n < 0 {
		t.Fatalf("no scale-up: %+v", f.targets())
	}
	stepped := f.now

	// The restart: the state as saved, the autoscaler's memory empty.
	saved, err := f.s.store.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := saved.AutoscaleSteps["coordinators"]; !got.Equal(stepped) {
		t.Fatalf("saved last step %v, want %v", got, stepped)
	}
	f.s.mu.Lock()
	f.s.st, f.s.as = saved, autoscaler{}
	f.s.mu.Unlock()
	f.settle()
	if r := f.s.AutoscaleStatus().Roles["coordinators"]; r.CooldownUntil == nil || !r.CooldownUntil.Equal(stepped.Add(30*time.Second)) {
		t.Fatalf("after the restart the status shows no cooldown: %+v", r)
	}
	// The window fills in 7 rounds; the cooldown holds until 30 s after
	// the step.
	n := f.ticksUntil(40, 50, coords(4))
	if n < 0 || f.now.Sub(stepped) < 30*time.Second {
		t.Fatalf("stepped %v after the last step (tick %d), within the cooldown of 30s", f.now.Sub(stepped), n)
	}
}
