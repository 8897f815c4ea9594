package scheduler

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// apiFixture is a scheduler that is not connected to Mesos, serving its API.
type apiFixture struct {
	t   *testing.T
	s   *Scheduler
	srv *httptest.Server
}

func newAPIFixture(t *testing.T) *apiFixture {
	t.Helper()
	cfg := DefaultConfig()
	cfg.StateDir, cfg.Listen = t.TempDir(), "127.0.0.1:0"
	s, err := New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Listener.Close(); s.store.Close() })
	s.mu.Lock()
	Decide(s.st, s.world()) // the first round creates the members, as Run does
	s.mu.Unlock()
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &apiFixture{t: t, s: s, srv: srv}
}

func (f *apiFixture) call(method, path, body string, auth bool) (int, map[string]any) {
	f.t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if auth {
		req.Header.Set("Authorization", "Bearer "+f.s.APIToken())
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

func TestAPIAuthentication(t *testing.T) {
	f := newAPIFixture(t)
	if code, _ := f.call("GET", "/v1/health", "", false); code != 202 {
		t.Fatalf("health is open and says deploying: %d", code)
	}
	if code, _ := f.call("GET", "/metrics", "", false); code != 200 {
		t.Fatalf("metrics are open: %d", code)
	}
	for _, p := range []string{"/v1/state", "/v1/endpoints", "/v1/members", "/v1/autoscale", "/v1/events", "/v1/uninstall"} {
		code, m := f.call("GET", p, "", false)
		if code != 401 || m["error"] == nil || m["code"] != float64(401) {
			t.Errorf("%s without a token: %d %v", p, code, m)
		}
	}
	req, _ := http.NewRequest("GET", f.srv.URL+"/v1/state", nil)
	req.SetBasicAuth("admin", f.s.APIToken())
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("basic auth with the token: %v %v", resp, err)
	}
	resp.Body.Close()
	if code, _ := f.call("GET", "/v1/state", "", true); code != 200 {
		t.Fatalf("bearer: %d", code)
	}
}

func TestAPIScaleValidation(t *testing.T) {
	f := newAPIFixture(t)
	for _, body := range []string{`{"dbservers":0}`, `{"dbservers":-1}`, `{"dbservers":2.5}`, `{"coordinators":"two"}`,
		`{"agents":4}`, `{"agents":9}`, `{"agents":1}`, `{}`, `{"trolls":1}`, `not json`, `{"dbservers":3} trailing`} {
		if code, m := f.call("PUT", "/v1/scale", body, true); code != 400 || m["error"] == nil {
			t.Errorf("PUT /v1/scale %s: %d %v", body, code, m)
		}
	}
	if code, _ := f.call("POST", "/v1/scale/trolls/up", "", true); code != 400 {
		t.Errorf("unknown role: %d", code)
	}
	if code, _ := f.call("POST", "/v1/scale/dbservers/sideways", "", true); code != 400 {
		t.Errorf("unknown direction: %d", code)
	}
	if got := f.s.State().Targets; got != (Targets{Agents: 3, DBServers: 3, Coordinators: 2}) {
		t.Fatalf("refused requests changed the targets: %+v", got)
	}
	if code, m := f.call("PUT", "/v1/scale", `{"dbservers":5,"coordinators":4}`, true); code != 202 || m["dbservers"] != float64(5) {
		t.Fatalf("scale: %d %v", code, m)
	}
	if code, m := f.call("POST", "/v1/scale/agents/up", "", true); code != 202 || m["agents"] != float64(5) {
		t.Fatalf("agents up: %d %v", code, m)
	}
	f.s.mu.Lock()
	f.s.view.MaxReplicationFactor = 3
	f.s.mu.Unlock()
	if code, m := f.call("PUT", "/v1/scale", `{"dbservers":2}`, true); code != 400 || !strings.Contains(m["error"].(string), "replicationFactor") {
		t.Fatalf("below the replication factor: %d %v", code, m)
	}
}

func TestAPIAutoscalePolicy(t *testing.T) {
	f := newAPIFixture(t)
	good := `{"coordinators":{"enabled":true,"min":1,"max":4,"metric":"requests_per_second","scaleUpAbove":100,"scaleDownBelow":10,"window":"30s","cooldown":"1m"},
	          "dbservers":{"enabled":false,"min":2,"max":6,"metric":"documents_per_dbserver","scaleUpAbove":1000,"scaleDownBelow":10,"window":60,"cooldown":"5m"}}`
	if code, m := f.call("PUT", "/v1/autoscale", good, true); code != 200 {
		t.Fatalf("good policy: %d %v", code, m)
	}
	_, m := f.call("GET", "/v1/autoscale", "", true)
	p := m["policy"].(map[string]any)["coordinators"].(map[string]any)
	if p["window"] != "30s" || p["max"] != float64(4) {
		t.Fatalf("policy after reload: %v", m)
	}
	for _, bad := range []string{
		strings.Replace(good, `"min":1,"max":4`, `"min":5,"max":4`, 1),
		strings.Replace(good, `"window":"30s"`, `"window":"0s"`, 1),
		strings.Replace(good, `"min":1,"max":4`, `"min":0,"max":4`, 1),
		strings.Replace(good, `"requests_per_second"`, `"vibes"`, 1),
		strings.Replace(good, `"scaleDownBelow":10,"window":"30s"`, `"scaleDownBelow":200,"window":"30s"`, 1),
		strings.Replace(good, `"window":"30s"`, `"window":"soon"`, 1),
	} {
		if code, _ := f.call("PUT", "/v1/autoscale", bad, true); code != 400 {
			t.Errorf("bad policy accepted (%d): %s", code, bad)
		}
	}
}

func TestAPIConflictsDuringUninstall(t *testing.T) {
	f := newAPIFixture(t)
	if code, _ := f.call("POST", "/v1/uninstall", "", true); code != 202 {
		t.Fatalf("uninstall: %d", code)
	}
	if code, _ := f.call("PUT", "/v1/scale", `{"dbservers":4}`, true); code != 409 {
		t.Fatalf("scale during uninstall: %d", code)
	}
	if code, _ := f.call("POST", "/v1/members/dbserver-1/replace", "", true); code != 409 {
		t.Fatalf("replace during uninstall: %d", code)
	}
	if code, m := f.call("GET", "/v1/health", "", false); code != 202 || m["status"] != HealthUninstalling {
		t.Fatalf("health during uninstall: %d %v", code, m)
	}
}

func TestAutoscaleEvaluate(t *testing.T) {
	p := RolePolicy{Enabled: true, Min: 1, Max: 3, Metric: MetricRequestsPerSecond, ScaleUpAbove: 100, ScaleDownBelow: 10,
		Window: Duration(30 * time.Second), Cooldown: Duration(time.Minute)}
	at := func(vals ...float64) []Sample {
		var out []Sample
		for i, v := range vals {
			out = append(out, Sample{Time: now.Add(time.Duration(i-len(vals)+1) * 5 * time.Second), Value: v})
		}
		return out
	}
	cases := []struct {
		name     string
		current  int
		samples  []Sample
		lastStep time.Time
		want     int
		step     bool
	}{
		{"high for the window: up", 1, at(150, 150, 150, 150, 150, 150, 150), time.Time{}, 2, true},
		{"one dip: no step", 1, at(150, 150, 50, 150, 150, 150, 150), time.Time{}, 1, false},
		{"low for the window: down", 2, at(1, 1, 1, 1, 1, 1, 1), time.Time{}, 1, true},
		{"not a full window yet", 1, at(150, 150), time.Time{}, 1, false},
		{"at max: no step", 3, at(150, 150, 150, 150, 150, 150, 150), time.Time{}, 3, false},
		{"at min: no step", 1, at(1, 1, 1, 1, 1, 1, 1), time.Time{}, 1, false},
		{"cooldown", 1, at(150, 150, 150, 150, 150, 150, 150), now.Add(-30 * time.Second), 1, false},
		{"below min is raised", 0, nil, time.Time{}, 1, true},
		{"above max is lowered, one step", 5, nil, time.Time{}, 4, true},
	}
	for _, c := range cases {
		got, reason, step := p.Evaluate(c.current, c.samples, c.lastStep, now)
		if got != c.want || step != c.step || (step && reason == "") {
			t.Errorf("%s: got %d %v %q, want %d %v", c.name, got, step, reason, c.want, c.step)
		}
	}
	p.Enabled = false
	if _, _, step := p.Evaluate(1, at(150, 150, 150, 150, 150, 150, 150), time.Time{}, now); step {
		t.Error("a disabled policy never steps")
	}
}
