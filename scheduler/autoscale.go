package scheduler

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// RolePolicy is the autoscaling policy of one role: keep the count between
// Min and Max; step up when Metric stays above ScaleUpAbove for Window, step
// down when it stays below ScaleDownBelow for Window; after a step, wait
// Cooldown.
type RolePolicy struct {
	Enabled        bool     `json:"enabled"`
	Min            int      `json:"min"`
	Max            int      `json:"max"`
	Metric         string   `json:"metric"`
	ScaleUpAbove   float64  `json:"scaleUpAbove"`
	ScaleDownBelow float64  `json:"scaleDownBelow"`
	Window         Duration `json:"window"`
	Cooldown       Duration `json:"cooldown"`
}

// Policy is the autoscaling policy per role.
type Policy struct {
	Coordinators RolePolicy `json:"coordinators"`
	DBServers    RolePolicy `json:"dbservers"`
}

// DefaultPolicy is the policy a new framework starts with.
func DefaultPolicy(cfg Config) Policy {
	return Policy{
		Coordinators: RolePolicy{Enabled: cfg.Autoscale, Min: cfg.AutoscaleCoordMin, Max: cfg.AutoscaleCoordMax,
			Metric: "requests_per_second", ScaleUpAbove: 500, ScaleDownBelow: 50, Window: Duration(time.Minute), Cooldown: Duration(3 * time.Minute)},
		DBServers: RolePolicy{Enabled: cfg.Autoscale, Min: cfg.AutoscaleDBMin, Max: cfg.AutoscaleDBMax,
			Metric: "documents_per_dbserver", ScaleUpAbove: 10_000_000, ScaleDownBelow: 1_000_000, Window: Duration(5 * time.Minute), Cooldown: Duration(10 * time.Minute)},
	}
}

// Autoscale metrics a policy can use.
const (
	MetricRequestsPerSecond  = "requests_per_second"    // coordinators: client requests per second per coordinator
	MetricLatencyP99         = "latency_p99_ms"         // coordinators: 99th percentile request latency
	MetricDocumentsPerServer = "documents_per_dbserver" // DBServers: documents per DBServer
	MetricDataBytesPerServer = "data_bytes_per_dbserver"
	MetricCPUPerServer       = "cpu_per_dbserver" // DBServers: CPU cores used per DBServer
)

var metricsOf = map[string][]string{
	"coordinators": {MetricRequestsPerSecond, MetricLatencyP99},
	"dbservers":    {MetricDocumentsPerServer, MetricDataBytesPerServer, MetricCPUPerServer},
}

// Validate checks a role's policy (400 on error).
func (p RolePolicy) Validate(role string) error {
	bad := func(format string, args ...any) error {
		return apiErr(400, "%s: %s", role, fmt.Sprintf(format, args...))
	}
	switch {
	case p.Min < 1:
		return bad("min must be at least 1, got %d", p.Min)
	case p.Max < p.Min:
		return bad("max %d is below min %d", p.Max, p.Min)
	case p.Window <= 0:
		return bad("window must be positive")
	case p.Cooldown < 0:
		return bad("cooldown must not be negative")
	case !slices.Contains(metricsOf[role], p.Metric):
		return bad("metric %q is not one of %v", p.Metric, metricsOf[role])
	case p.ScaleDownBelow >= p.ScaleUpAbove:
		return bad("scaleDownBelow (%g) must be below scaleUpAbove (%g)", p.ScaleDownBelow, p.ScaleUpAbove)
	}
	return nil
}

// Sample is one observation of a role's metric.
type Sample struct {
	Time  time.Time `json:"time"`
	Value float64   `json:"value"`
}

// Decision is one autoscaling decision, with its reason; Error is set when
// the scale request was refused (e.g. DBServers below the largest
// replicationFactor).
type Decision struct {
	Time   time.Time `json:"time"`
	Role   string    `json:"role"`
	Metric string    `json:"metric,omitempty"`
	From   int       `json:"from"`
	To     int       `json:"to"`
	Reason string    `json:"reason"`
	Error  string    `json:"error,omitempty"`
}

// Evaluate decides one autoscaling step for a role from its recent samples
// (oldest first): up when every sample of the last window is above
// ScaleUpAbove, down when every one is below ScaleDownBelow; one member at a
// time, within [Min, Max], not during the cooldown after the last step, and
// only once the samples cover the window (one sample older than the window,
// or the oldest in it at least 90% of the window old) with at least two in
// it. A count outside [Min, Max] moves one step towards it at once. It
// returns the new count and the reason, or ok false for no step.
func (p RolePolicy) Evaluate(current int, samples []Sample, lastStep, now time.Time) (int, string, bool) {
	if !p.Enabled {
		return current, "", false
	}
	if current < p.Min {
		return current + 1, fmt.Sprintf("%d is below the policy's min %d", current, p.Min), true
	}
	if current > p.Max {
		return current - 1, fmt.Sprintf("%d is above the policy's max %d", current, p.Max), true
	}
	if !lastStep.IsZero() && now.Sub(lastStep) < time.Duration(p.Cooldown) {
		return current, "", false
	}
	start := now.Add(-time.Duration(p.Window))
	var window []Sample
	covered := false
	for _, s := range samples {
		switch {
		case s.Time.Before(start):
			covered = true
		case !s.Time.After(now):
			window = append(window, s)
		}
	}
	if len(window) < 2 {
		return current, "", false
	}
	if !covered && now.Sub(window[0].Time) < time.Duration(p.Window)*9/10 {
		return current, "", false // not a full window yet
	}
	above, below := true, true
	sum := 0.0
	for _, s := range window {
		above = above && s.Value > p.ScaleUpAbove
		below = below && s.Value < p.ScaleDownBelow
		sum += s.Value
	}
	avg := sum / float64(len(window))
	switch {
	case above && current < p.Max:
		return current + 1, fmt.Sprintf("%s stayed above %g for %v (average %.1f over %d samples)", p.Metric, p.ScaleUpAbove, time.Duration(p.Window), avg, len(window)), true
	case below && current > p.Min:
		return current - 1, fmt.Sprintf("%s stayed below %g for %v (average %.1f over %d samples)", p.Metric, p.ScaleDownBelow, time.Duration(p.Window), avg, len(window)), true
	}
	return current, "", false
}

// Duration is a time.Duration that JSON reads and writes as a Go duration
// string ("90s", "5m"); a plain number is read as seconds.
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "90s" or 90.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("duration %q: %w", s, err)
		}
		*d = Duration(v)
		return nil
	}
	var secs float64
	if err := json.Unmarshal(b, &secs); err != nil {
		return fmt.Errorf("a duration is a string like \"90s\" or a number of seconds")
	}
	*d = Duration(secs * float64(time.Second))
	return nil
}
