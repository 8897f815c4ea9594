package scheduler

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"
)

// Resources is what one task of a role asks of an offer.
type Resources struct {
	CPUs float64
	Mem  float64 // MB
	Disk float64 // MB; the persistent volume for agents and DBServers
}

// Config is the scheduler's configuration. Every field is a flag; every flag
// can also be set as ARANGOMESOS_<FLAG>, as DC/OS packages expect.
type Config struct {
	// Master is the Mesos master: host:port, http(s)://host:port, or
	// zk://host:2181/mesos (master detection through ZooKeeper).
	Master string
	// ZK, when set (zk://host:2181/path), keeps the state in ZooKeeper so that
	// a scheduler restarted on another host takes over; otherwise StateDir
	// holds a buntdb file.
	ZK       string
	StateDir string
	// Listen is HOST:PORT of the REST API and web UI; AdvertiseURL is how
	// agents and users reach it (default derived from Listen and Hostname).
	Listen       string
	AdvertiseURL string
	Hostname     string

	FrameworkName   string
	Role            string
	Principal       string
	SecretFile      string // Mesos framework secret (HTTP basic auth to the master)
	AuthTokenFile   string // bearer token of the /v1 API; generated and kept in the state when empty
	FailoverTimeout time.Duration

	Agents, DBServers, Coordinators int
	AgentRes, DBServerRes, CoordRes Resources
	ExecutorRes                     Resources
	// Placement is "unique-host" (one member of a role per host) or "any".
	Placement      string
	ReplaceTimeout time.Duration
	// ArtifactURL is where tasks fetch the arangomesos binary; empty means
	// the scheduler's own /v1/artifacts/arangomesos.
	ArtifactURL string
	// RebalanceOnScaleUp moves shards to new DBServers automatically.
	RebalanceOnScaleUp bool

	// Settings passed on to the database nodes.
	LogLevel               string
	RootPasswordFile       string
	SupervisionOkThreshold time.Duration
	SupervisionGracePeriod time.Duration
	ReplicationTimeout     time.Duration

	// Autoscaling defaults, used until a policy is set over REST.
	Autoscale                            bool
	AutoscaleCoordMin, AutoscaleCoordMax int
	AutoscaleDBMin, AutoscaleDBMax       int
	// AutoscaleInterval is how often the autoscaler reads the coordinators'
	// and DBServers' metrics and evaluates the policy.
	AutoscaleInterval time.Duration
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Master: "127.0.0.1:5050", StateDir: "state", Listen: "127.0.0.1:8080",
		FrameworkName: "arangomesos", Role: "arangomesos", Principal: "arangomesos",
		FailoverTimeout: 7 * 24 * time.Hour,
		Agents:          3, DBServers: 3, Coordinators: 2,
		AgentRes:    Resources{CPUs: 0.25, Mem: 256, Disk: 512},
		DBServerRes: Resources{CPUs: 0.5, Mem: 512, Disk: 2048},
		CoordRes:    Resources{CPUs: 0.5, Mem: 512},
		ExecutorRes: Resources{CPUs: 0.05, Mem: 32},
		Placement:   "unique-host", ReplaceTimeout: 5 * time.Minute, RebalanceOnScaleUp: true,
		LogLevel:               "info",
		SupervisionOkThreshold: 5 * time.Second, SupervisionGracePeriod: 10 * time.Second,
		ReplicationTimeout: 3 * time.Second,
		AutoscaleCoordMin:  1, AutoscaleCoordMax: 8, AutoscaleDBMin: 2, AutoscaleDBMax: 8,
		AutoscaleInterval: 10 * time.Second,
	}
}

// RegisterFlags defines the scheduler's flags on fs, bound to c.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Master, "master", c.Master, "Mesos master: host:port, http://host:port or zk://host:2181/mesos")
	fs.StringVar(&c.ZK, "zk", c.ZK, "keep the state in ZooKeeper, zk://host:2181/path (default: a buntdb file in --state-dir)")
	fs.StringVar(&c.StateDir, "state-dir", c.StateDir, "directory of the state file when --zk is not set")
	fs.StringVar(&c.Listen, "listen", c.Listen, "HOST:PORT of the REST API and the web UI")
	fs.StringVar(&c.AdvertiseURL, "advertise-url", c.AdvertiseURL, "URL under which agents and users reach the scheduler (default: http://HOSTNAME:PORT)")
	fs.StringVar(&c.Hostname, "hostname", c.Hostname, "hostname of the scheduler (default: the machine's)")
	fs.StringVar(&c.FrameworkName, "framework-name", c.FrameworkName, "Mesos framework name; also names the tasks' DNS records")
	fs.StringVar(&c.Role, "role", c.Role, "Mesos role for offers, reservations and volumes")
	fs.StringVar(&c.Principal, "principal", c.Principal, "Mesos principal of the framework and its reservations")
	fs.StringVar(&c.SecretFile, "secret-file", c.SecretFile, "file with the Mesos framework secret (HTTP basic auth to the master)")
	fs.StringVar(&c.AuthTokenFile, "auth-token-file", c.AuthTokenFile, "file with the bearer token of the /v1 API (default: generated once and kept in the state)")
	fs.DurationVar(&c.FailoverTimeout, "failover-timeout", c.FailoverTimeout, "how long Mesos keeps the tasks running while the scheduler is away")
	fs.IntVar(&c.Agents, "agents", c.Agents, "number of Agency agents (odd: 3 or 5)")
	fs.IntVar(&c.DBServers, "dbservers", c.DBServers, "number of DBServers")
	fs.IntVar(&c.Coordinators, "coordinators", c.Coordinators, "number of coordinators")
	resFlags(fs, "agent", &c.AgentRes, true)
	resFlags(fs, "dbserver", &c.DBServerRes, true)
	resFlags(fs, "coordinator", &c.CoordRes, false)
	fs.Float64Var(&c.ExecutorRes.CPUs, "executor-cpus", c.ExecutorRes.CPUs, "CPUs of each executor")
	fs.Float64Var(&c.ExecutorRes.Mem, "executor-mem", c.ExecutorRes.Mem, "memory (MB) of each executor")
	fs.StringVar(&c.Placement, "placement", c.Placement, "unique-host (one member of a role per host) or any")
	fs.DurationVar(&c.ReplaceTimeout, "replace-timeout", c.ReplaceTimeout, "how long a member waits for its lost host before it is replaced elsewhere")
	fs.StringVar(&c.ArtifactURL, "artifact-url", c.ArtifactURL, "URL of the arangomesos binary for the tasks (default: the scheduler serves its own)")
	fs.BoolVar(&c.RebalanceOnScaleUp, "rebalance-on-scale-up", c.RebalanceOnScaleUp, "move shards to new DBServers after a scale-up")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log level of the scheduler and the nodes: debug, info, warn, error")
	fs.StringVar(&c.RootPasswordFile, "root-password-file", c.RootPasswordFile, "file with the database root password (default: generated once and kept in the state)")
	fs.DurationVar(&c.SupervisionOkThreshold, "supervision-ok-threshold", c.SupervisionOkThreshold, "heartbeat age after which a server is BAD")
	fs.DurationVar(&c.SupervisionGracePeriod, "supervision-grace-period", c.SupervisionGracePeriod, "heartbeat age after which a server is FAILED and fails over")
	fs.DurationVar(&c.ReplicationTimeout, "replication-timeout", c.ReplicationTimeout, "how long a shard leader waits for a follower before dropping it")
	fs.BoolVar(&c.Autoscale, "autoscale", c.Autoscale, "start with the default autoscale policy enabled")
	fs.IntVar(&c.AutoscaleCoordMin, "autoscale-coordinators-min", c.AutoscaleCoordMin, "autoscaling: fewest coordinators")
	fs.IntVar(&c.AutoscaleCoordMax, "autoscale-coordinators-max", c.AutoscaleCoordMax, "autoscaling: most coordinators")
	fs.IntVar(&c.AutoscaleDBMin, "autoscale-dbservers-min", c.AutoscaleDBMin, "autoscaling: fewest DBServers")
	fs.IntVar(&c.AutoscaleDBMax, "autoscale-dbservers-max", c.AutoscaleDBMax, "autoscaling: most DBServers")
	fs.DurationVar(&c.AutoscaleInterval, "autoscale-interval", c.AutoscaleInterval, "autoscaling: how often the members' metrics are read and the policy evaluated")
}

func resFlags(fs *flag.FlagSet, role string, r *Resources, disk bool) {
	fs.Float64Var(&r.CPUs, role+"-cpus", r.CPUs, "CPUs of each "+role)
	fs.Float64Var(&r.Mem, role+"-mem", r.Mem, "memory (MB) of each "+role)
	if disk {
		fs.Float64Var(&r.Disk, role+"-disk", r.Disk, "persistent volume size (MB) of each "+role)
	}
}

// ErrConfig marks an invalid configuration.
var ErrConfig = errors.New("scheduler: invalid configuration")

// Validate checks the configuration and fills derived values.
func (c *Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
	}
	if c.Agents < 1 || c.Agents%2 == 0 || c.Agents > 9 {
		return bad("--agents must be odd (1, 3, 5, 7 or 9), got %d", c.Agents)
	}
	if c.DBServers < 1 {
		return bad("--dbservers must be at least 1, got %d", c.DBServers)
	}
	if c.Coordinators < 1 {
		return bad("--coordinators must be at least 1, got %d", c.Coordinators)
	}
	if c.FrameworkName == "" || strings.ContainsAny(c.FrameworkName, " /") {
		return bad("--framework-name %q must be non-empty, without spaces or slashes", c.FrameworkName)
	}
	if c.Role == "" || c.Role == "*" {
		return bad("--role must name a role (not *): reservations and persistent volumes need one")
	}
	for name, r := range map[string]Resources{"agent": c.AgentRes, "dbserver": c.DBServerRes, "coordinator": c.CoordRes} {
		if r.CPUs <= 0 || r.Mem <= 0 || r.Disk < 0 {
			return bad("--%s-cpus and --%s-mem must be positive", name, name)
		}
	}
	if c.AgentRes.Disk <= 0 || c.DBServerRes.Disk <= 0 {
		return bad("--agent-disk and --dbserver-disk must be positive: they size the persistent volumes")
	}
	if c.Placement != "unique-host" && c.Placement != "any" {
		return bad("--placement must be unique-host or any, got %q", c.Placement)
	}
	if c.ReplaceTimeout < time.Second || c.FailoverTimeout < time.Second {
		return bad("--replace-timeout and --failover-timeout must be at least 1s")
	}
	if c.SupervisionOkThreshold <= 0 || c.SupervisionGracePeriod < c.SupervisionOkThreshold {
		return bad("need 0 < --supervision-ok-threshold <= --supervision-grace-period")
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return bad("--listen %q is not HOST:PORT", c.Listen)
	}
	if c.ZK != "" && !strings.HasPrefix(c.ZK, "zk://") {
		return bad("--zk must look like zk://host:2181/path, got %q", c.ZK)
	}
	if c.ZK == "" && c.StateDir == "" {
		return bad("either --zk or --state-dir is needed")
	}
	if c.ArtifactURL != "" {
		if u, err := url.Parse(c.ArtifactURL); err != nil || u.Scheme == "" {
			return bad("--artifact-url %q is not a URL", c.ArtifactURL)
		}
	}
	if c.AutoscaleCoordMin < 1 || c.AutoscaleCoordMax < c.AutoscaleCoordMin || c.AutoscaleDBMin < 1 || c.AutoscaleDBMax < c.AutoscaleDBMin {
		return bad("autoscale bounds need 1 <= min <= max")
	}
	if c.AutoscaleInterval < 100*time.Millisecond {
		return bad("--autoscale-interval must be at least 100ms, got %v", c.AutoscaleInterval)
	}
	if c.Master == "" {
		return bad("--master is required")
	}
	return nil
}

// LogLevel maps a --log-level value to slog's level.
func LogLevel(s string) slog.Level {
	switch strings.ToLower(s) {
	case "debug", "trace":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}
