package scheduler

import "time"

// RolePolicy is the autoscaling policy of one role: keep the count between
// Min and Max; step up when Metric stays above ScaleUpAbove for Window, step
// down when it stays below ScaleDownBelow for Window; after a step, wait
// Cooldown.
type RolePolicy struct {
	Enabled        bool          `json:"enabled"`
	Min            int           `json:"min"`
	Max            int           `json:"max"`
	Metric         string        `json:"metric"`
	ScaleUpAbove   float64       `json:"scaleUpAbove"`
	ScaleDownBelow float64       `json:"scaleDownBelow"`
	Window         time.Duration `json:"window"`
	Cooldown       time.Duration `json:"cooldown"`
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
			Metric: "requests_per_second", ScaleUpAbove: 500, ScaleDownBelow: 50, Window: time.Minute, Cooldown: 3 * time.Minute},
		DBServers: RolePolicy{Enabled: cfg.Autoscale, Min: cfg.AutoscaleDBMin, Max: cfg.AutoscaleDBMax,
			Metric: "documents_per_dbserver", ScaleUpAbove: 10_000_000, ScaleDownBelow: 1_000_000, Window: 5 * time.Minute, Cooldown: 10 * time.Minute},
	}
}
