package executor

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/arangomesos/arangomesos/executor/spec"
)

// healthPath is what the executor probes when the task names no health
// check: the node's open availability endpoint.
const healthPath = "/_admin/server/availability"

// HealthPolicy is how the executor checks its node: Mesos's HealthCheck
// fields, with defaults suited to a database node where the task has none.
type HealthPolicy struct {
	// URL is probed with GET (HTTP checks; 200–399 is healthy); Address is
	// dialled (TCP checks). Exactly one is set.
	URL     string
	Address string
	// Delay is the wait before the first probe, Interval the time between
	// probes and Timeout the limit of one probe.
	Delay, Interval, Timeout time.Duration
	// GracePeriod: failures before the first success within this time of the
	// start are not counted (the node is still starting).
	GracePeriod time.Duration
	// ConsecutiveFailures counted failures make the executor kill the node;
	// 0 never kills.
	ConsecutiveFailures int
}

// Default health policy values, used where the task's HealthCheck leaves a
// field out. They differ from Mesos's defaults (delay 15s, interval 10s):
// a node answers within a second of starting and TASK_RUNNING waits for it.
const (
	defaultHealthDelay    = 500 * time.Millisecond
	defaultHealthInterval = 2 * time.Second
	defaultHealthTimeout  = 2 * time.Second
	defaultHealthGrace    = 60 * time.Second
	defaultHealthFailures = 3
)

// PolicyFor builds the health policy of a task from its HealthCheck (HTTP or
// TCP; the node's availability endpoint when there is none). It fails for
// COMMAND checks and HTTPS, which the executor does not run, and for values
// that make no sense (a zero interval, a port out of range).
func PolicyFor(hc *mesos.HealthCheck, sp *spec.NodeSpec) (HealthPolicy, error) {
	p := HealthPolicy{
		URL:   "http://" + net.JoinHostPort(sp.Address, strconv.Itoa(sp.Port)) + healthPath,
		Delay: defaultHealthDelay, Interval: defaultHealthInterval, Timeout: defaultHealthTimeout,
		GracePeriod: defaultHealthGrace, ConsecutiveFailures: defaultHealthFailures,
	}
	if hc == nil {
		return p, nil
	}
	seconds := func(v *float64, into *time.Duration, name string, positive bool) error {
		if v == nil {
			return nil
		}
		if *v < 0 || (positive && *v == 0) || *v > 24*3600 {
			return fmt.Errorf("%w: health check %s %vs is out of range", ErrBadTask, name, *v)
		}
		*into = time.Duration(*v * float64(time.Second))
		return nil
	}
	for _, f := range []struct {
		v        *float64
		into     *time.Duration
		name     string
		positive bool
	}{{hc.DelaySeconds, &p.Delay, "delay", false}, {hc.IntervalSeconds, &p.Interval, "interval", true},
		{hc.TimeoutSeconds, &p.Timeout, "timeout", true}, {hc.GracePeriodSeconds, &p.GracePeriod, "grace period", false}} {
		if err := seconds(f.v, f.into, f.name, f.positive); err != nil {
			return HealthPolicy{}, err
		}
	}
	if hc.ConsecutiveFailures != nil {
		p.ConsecutiveFailures = int(*hc.ConsecutiveFailures)
	}
	port := func(n uint32) (string, error) {
		if n == 0 || n > 65535 {
			return "", fmt.Errorf("%w: health check port %d is out of range", ErrBadTask, n)
		}
		return net.JoinHostPort(sp.Address, strconv.Itoa(int(n))), nil
	}
	switch hc.Type {
	case mesos.HealthCheck_HTTP:
		if hc.HTTP == nil {
			return HealthPolicy{}, fmt.Errorf("%w: HTTP health check without its http field", ErrBadTask)
		}
		if s := hc.HTTP.GetScheme(); s != "" && s != "http" {
			return HealthPolicy{}, fmt.Errorf("%w: health check scheme %q is not supported (the node serves http)", ErrBadTask, s)
		}
		hp, err := port(hc.HTTP.Port)
		if err != nil {
			return HealthPolicy{}, err
		}
		path := hc.HTTP.GetPath()
		if path == "" || path[0] != '/' {
			path = "/" + path
		}
		p.URL = "http://" + hp + path
	case mesos.HealthCheck_TCP:
		if hc.TCP == nil {
			return HealthPolicy{}, fmt.Errorf("%w: TCP health check without its tcp field", ErrBadTask)
		}
		hp, err := port(hc.TCP.Port)
		if err != nil {
			return HealthPolicy{}, err
		}
		p.URL, p.Address = "", hp
	default:
		return HealthPolicy{}, fmt.Errorf("%w: %s health checks are not supported (use HTTP or TCP)", ErrBadTask, hc.Type)
	}
	return p, nil
}

// Probe runs one check against the node; nil means healthy.
func (p HealthPolicy) Probe(ctx context.Context, client *http.Client) error {
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	if p.Address != "" {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", p.Address)
		if err != nil {
			return err
		}
		return c.Close()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("%s answered %d", p.URL, resp.StatusCode)
	}
	return nil
}

// HealthTracker follows a node's probe results under a policy and says when
// its health changes and when it must be killed (Mesos's rules: failures
// inside the grace period before the first success do not count; each
// change is reported once).
type HealthTracker struct {
	policy  HealthPolicy
	started time.Time

	everHealthy bool
	reported    *bool // the health last reported; nil: none yet
	failures    int
}

// NewHealthTracker starts tracking a node started at started.
func NewHealthTracker(p HealthPolicy, started time.Time) *HealthTracker {
	return &HealthTracker{policy: p, started: started}
}

// Verdict is what one probe result means.
type Verdict struct {
	// Report: the health changed to Healthy and must be reported.
	Report, Healthy bool
	// Kill: the node failed ConsecutiveFailures counted probes in a row.
	Kill bool
	// Failures is the number of counted consecutive failures.
	Failures int
}

// Observe records one probe result (nil: healthy) at now.
func (h *HealthTracker) Observe(probeErr error, now time.Time) Verdict {
	if probeErr == nil {
		h.failures = 0
		h.everHealthy = true
		v := Verdict{Healthy: true}
		if h.reported == nil || !*h.reported {
			v.Report = true
			h.reported = boolPtr(true)
		}
		return v
	}
	if !h.everHealthy && now.Sub(h.started) < h.policy.GracePeriod {
		return Verdict{}
	}
	h.failures++
	v := Verdict{Failures: h.failures}
	// A node that never was healthy stays TASK_STARTING: there is no health
	// to take back.
	if h.everHealthy && (h.reported == nil || *h.reported) {
		v.Report = true
		h.reported = boolPtr(false)
	}
	v.Kill = h.policy.ConsecutiveFailures > 0 && h.failures >= h.policy.ConsecutiveFailures
	return v
}

// EverHealthy says whether the node has passed a probe.
func (h *HealthTracker) EverHealthy() bool { return h.everHealthy }

func boolPtr(b bool) *bool { return &b }
