package executor

import (
	"errors"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/arangomesos/arangomesos/executor/spec"
)

func TestPolicyFor(t *testing.T) {
	sp := &spec.NodeSpec{Address: "127.0.1.2", Port: 31005}
	cases := []struct {
		name    string
		hc      *mesos.HealthCheck
		want    HealthPolicy
		wantErr string
	}{
		{"none: the node's availability endpoint", nil, HealthPolicy{URL: "http://127.0.1.2:31005/_admin/server/availability",
			Delay: 500 * time.Millisecond, Interval: 2 * time.Second, Timeout: 2 * time.Second, GracePeriod: time.Minute, ConsecutiveFailures: 3}, ""},
		{"http with every field", &mesos.HealthCheck{Type: mesos.HealthCheck_HTTP,
			HTTP: &mesos.HealthCheck_HTTPCheckInfo{Port: 31006, Path: strPtr("x")}, DelaySeconds: f64(1), IntervalSeconds: f64(0.5),
			TimeoutSeconds: f64(3), GracePeriodSeconds: f64(0), ConsecutiveFailures: u32(0)},
			HealthPolicy{URL: "http://127.0.1.2:31006/x", Delay: time.Second, Interval: 500 * time.Millisecond, Timeout: 3 * time.Second}, ""},
		{"tcp", &mesos.HealthCheck{Type: mesos.HealthCheck_TCP, TCP: &mesos.HealthCheck_TCPCheckInfo{Port: 31005}},
			HealthPolicy{Address: "127.0.1.2:31005", Delay: 500 * time.Millisecond, Interval: 2 * time.Second, Timeout: 2 * time.Second,
				GracePeriod: time.Minute, ConsecutiveFailures: 3}, ""},
		{"command", &mesos.HealthCheck{Type: mesos.HealthCheck_COMMAND}, HealthPolicy{}, "COMMAND health checks are not supported"},
		{"https", &mesos.HealthCheck{Type: mesos.HealthCheck_HTTP, HTTP: &mesos.HealthCheck_HTTPCheckInfo{Port: 1, Scheme: strPtr("https")}},
			HealthPolicy{}, `scheme "https"`},
		{"http without its field", &mesos.HealthCheck{Type: mesos.HealthCheck_HTTP}, HealthPolicy{}, "without its http field"},
		{"port 0", &mesos.HealthCheck{Type: mesos.HealthCheck_TCP, TCP: &mesos.HealthCheck_TCPCheckInfo{}}, HealthPolicy{}, "port 0"},
		{"zero interval", &mesos.HealthCheck{Type: mesos.HealthCheck_HTTP, HTTP: &mesos.HealthCheck_HTTPCheckInfo{Port: 1},
			IntervalSeconds: f64(0)}, HealthPolicy{}, "interval"},
		{"negative delay", &mesos.HealthCheck{Type: mesos.HealthCheck_HTTP, HTTP: &mesos.HealthCheck_HTTPCheckInfo{Port: 1},
			DelaySeconds: f64(-1)}, HealthPolicy{}, "delay"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := PolicyFor(c.hc, sp)
			if c.wantErr != "" {
				if !errors.Is(err, ErrBadTask) || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want ErrBadTask with %q", err, c.wantErr)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %+v %v, want %+v", got, err, c.want)
			}
		})
	}
}

func TestHealthTracker(t *testing.T) {
	policy := HealthPolicy{GracePeriod: 10 * time.Second, ConsecutiveFailures: 3}
	t0 := time.Unix(1000, 0)
	fail := errors.New("refused")
	type step struct {
		at   time.Duration
		err  error
		want Verdict
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"failures in the grace period do not count", []step{
			{1 * time.Second, fail, Verdict{}},
			{9 * time.Second, fail, Verdict{}},
			{9500 * time.Millisecond, nil, Verdict{Report: true, Healthy: true}},
			{10 * time.Second, nil, Verdict{Healthy: true}},
		}},
		{"after the first success failures count at once", []step{
			{1 * time.Second, nil, Verdict{Report: true, Healthy: true}},
			{2 * time.Second, fail, Verdict{Report: true, Failures: 1}},
			{3 * time.Second, fail, Verdict{Failures: 2}},
			{4 * time.Second, nil, Verdict{Report: true, Healthy: true}},
			{5 * time.Second, fail, Verdict{Report: true, Failures: 1}},
			{6 * time.Second, fail, Verdict{Failures: 2}},
			{7 * time.Second, fail, Verdict{Failures: 3, Kill: true}},
		}},
		{"never healthy: killed after the grace period, no health to take back", []step{
			{9 * time.Second, fail, Verdict{}},
			{11 * time.Second, fail, Verdict{Failures: 1}},
			{12 * time.Second, fail, Verdict{Failures: 2}},
			{13 * time.Second, fail, Verdict{Failures: 3, Kill: true}},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := NewHealthTracker(policy, t0)
			for i, s := range c.steps {
				if got := h.Observe(s.err, t0.Add(s.at)); got != s.want {
					t.Fatalf("step %d: got %+v, want %+v", i, got, s.want)
				}
			}
		})
	}
	t.Run("zero consecutive failures never kills", func(t *testing.T) {
		h := NewHealthTracker(HealthPolicy{}, t0)
		for i := range 10 {
			if v := h.Observe(fail, t0.Add(time.Duration(i)*time.Second)); v.Kill {
				t.Fatalf("killed at failure %d", i)
			}
		}
	})
}
