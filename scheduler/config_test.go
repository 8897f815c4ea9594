package scheduler

import (
	"errors"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Config)
		want   string // "" means valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"five agents", func(c *Config) { c.Agents = 5 }, ""},
		{"even agent count", func(c *Config) { c.Agents = 4 }, "--agents must be odd"},
		{"no agents", func(c *Config) { c.Agents = 0 }, "--agents must be odd"},
		{"eleven agents", func(c *Config) { c.Agents = 11 }, "--agents must be odd"},
		{"zero DBServers", func(c *Config) { c.DBServers = 0 }, "--dbservers must be at least 1"},
		{"negative coordinators", func(c *Config) { c.Coordinators = -1 }, "--coordinators must be at least 1"},
		{"framework name with a slash", func(c *Config) { c.FrameworkName = "a/b" }, "--framework-name"},
		{"role *", func(c *Config) { c.Role = "*" }, "--role must name a role"},
		{"zero DBServer memory", func(c *Config) { c.DBServerRes.Mem = 0 }, "--dbserver-cpus and --dbserver-mem must be positive"},
		{"no agent volume", func(c *Config) { c.AgentRes.Disk = 0 }, "size the persistent volumes"},
		{"unknown placement", func(c *Config) { c.Placement = "spread" }, "--placement must be"},
		{"tiny replace timeout", func(c *Config) { c.ReplaceTimeout = time.Millisecond }, "--replace-timeout"},
		{"grace below the ok threshold", func(c *Config) { c.SupervisionGracePeriod = c.SupervisionOkThreshold / 2 }, "supervision"},
		{"listen without a port", func(c *Config) { c.Listen = "localhost" }, "--listen"},
		{"zk without scheme", func(c *Config) { c.ZK = "host:2181/x" }, "--zk must look like"},
		{"no state store", func(c *Config) { c.ZK, c.StateDir = "", "" }, "either --zk or --state-dir"},
		{"artifact URL without scheme", func(c *Config) { c.ArtifactURL = "just-a-file" }, "--artifact-url"},
		{"autoscale min above max", func(c *Config) { c.AutoscaleDBMin, c.AutoscaleDBMax = 5, 3 }, "autoscale bounds"},
		{"zero autoscale interval", func(c *Config) { c.AutoscaleInterval = 0 }, "--autoscale-interval"},
		{"no master", func(c *Config) { c.Master = "" }, "--master is required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Master, cfg.StateDir = "127.0.0.1:5050", t.TempDir()
			c.change(&cfg)
			err := cfg.Validate()
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("valid config refused: %v", err)
			case c.want != "" && (err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("got %v, want ErrConfig with %q", err, c.want)
			}
		})
	}
}

// A role whose resources no agent can offer keeps the deploy waiting with
// the reason in the health, never a healthy or half-deployed cluster.
func TestImpossibleResourcesAreAVisibleReasonNotAHealthyCluster(t *testing.T) {
	cfg := testConfig()
	cfg.DBServerRes.Mem = 1 << 20 // 1 TB: no offer of 8 GB agents fits
	st, tf := deployed(t, cfg)
	up := World{Now: now, Config: cfg, Agency: AgencyView{Up: true}}
	_, waiting := MatchOffers(st, []mesos.Offer{offer("h1", 31100), offer("h2", 32100), offer("h3", 33100)}, up, tf)
	if !strings.Contains(waiting["dbserver-1"], "mem 1048") {
		t.Fatalf("waiting %v", waiting)
	}
	v := AgencyView{Up: true}
	h := ComputeHealth(st, v, waiting, true)
	if h.Code == 200 || !strings.Contains(h.Reason, "waiting for an offer") {
		t.Fatalf("health %s %d %q", h.Status, h.Code, h.Reason)
	}
}
