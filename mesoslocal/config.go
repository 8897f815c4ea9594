package mesoslocal

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"
)

// Config configures a cluster started with Start. The zero value is usable:
// three agents on 127.0.1.1–127.0.1.3, a master on an ephemeral port of
// 127.0.0.1, a temporary work directory and Mesos's default timers.
type Config struct {
	// WorkDir holds every agent's work directory (sandboxes, volumes). A
	// temporary directory is made and removed on Close when it is empty.
	WorkDir string
	// KeepWorkDir keeps WorkDir on Close, even a temporary one.
	KeepWorkDir bool
	// Listen is the master's listen address; default "127.0.0.1:0".
	Listen string
	// Hostname is the master's advertised hostname; default its IP.
	Hostname string
	// Standbys is the number of extra "non-leading master" listeners (on
	// ephemeral ports of the master's IP) that answer every request with a
	// 307 to the leader, to exercise clients' redirect handling.
	Standbys int
	// MasterID is the master id; default a random UUID.
	MasterID string
	// Agents describes the agents to start. Empty means AgentCount default
	// agents.
	Agents []AgentSpec
	// AgentCount is the number of default agents when Agents is empty;
	// default 3. Negative means none.
	AgentCount int
	// AgentResources is the resource string of default agents; default
	// "cpus:4;mem:8192;disk:20480". Ports are added when absent (see
	// AgentSpec.Resources).
	AgentResources string
	// AgentBaseIP is the first agent address; agent i gets base+i. Default
	// 127.0.1.1.
	AgentBaseIP string
	// AgentPort is the port of agents whose spec has none; 0 (the default)
	// picks an ephemeral port per agent. The command line uses 5051: every
	// agent has its own IP, so they can share the port as real agents do.
	AgentPort int
	// AgentAttributes are the attributes of default agents.
	AgentAttributes string
	// Timers are the master and agent timers; zero fields take Mesos's
	// defaults.
	Timers Timers
	// Logger receives structured logs; default a logger that drops them.
	Logger *slog.Logger
	// ExecutorEnv is added to every executor's environment (like the agent
	// flag --executor_environment_variables); CommandInfo.environment wins.
	ExecutorEnv map[string]string
	// NoInheritEnv stops executors from inheriting PATH and HOME from this
	// process.
	NoInheritEnv bool
	// FrameworksHome resolves relative fetcher URIs.
	FrameworksHome string
}

// AgentSpec describes one agent.
type AgentSpec struct {
	// Name identifies the agent in the Go and control APIs; default
	// "agent-<i>" (1-based).
	Name string
	// IP is the agent's listen address; default AgentBaseIP + index.
	IP string
	// Port is the agent's port; 0 picks an ephemeral one (kept across
	// restarts).
	Port int
	// Hostname is advertised in offers; default IP.
	Hostname string
	// Resources in Mesos syntax, e.g. "cpus:4;mem:4096;disk:10240;
	// ports:[31000-31999];cpus(role):1", or a JSON array of Resource.
	// Without a ports resource the agent gets its own disjoint range.
	Resources string
	// Attributes in Mesos syntax, e.g. "rack:r1;zone:a".
	Attributes string
}

// Timers are the durations of master and agent behaviour. Zero takes the
// Mesos default written after each field.
type Timers struct {
	Heartbeat                     time.Duration // 15s
	AllocationInterval            time.Duration // 1s
	OfferTimeout                  time.Duration // never (0)
	RefuseDefault                 time.Duration // 5s
	AgentPingTimeout              time.Duration // 15s
	MaxAgentPingTimeouts          int           // 5
	AgentReregisterTimeout        time.Duration // 10min
	ExecutorRegistrationTimeout   time.Duration // 1min
	ExecutorShutdownGracePeriod   time.Duration // 5s
	ExecutorReregistrationTimeout time.Duration // 2s
	RecoveryTimeout               time.Duration // 15min
	ExecutorHeartbeat             time.Duration // 30min
	StatusUpdateRetryMin          time.Duration // 10s
	StatusUpdateRetryMax          time.Duration // 10min
	FetchTimeout                  time.Duration // 5min (http(s) downloads)
	MaxCompletedFrameworks        int           // 50
	MaxCompletedTasks             int           // 1000 per framework
}

func (t Timers) withDefaults() Timers {
	d := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	d(&t.Heartbeat, 15*time.Second)
	d(&t.AllocationInterval, time.Second)
	d(&t.RefuseDefault, 5*time.Second)
	d(&t.AgentPingTimeout, 15*time.Second)
	if t.MaxAgentPingTimeouts <= 0 {
		t.MaxAgentPingTimeouts = 5
	}
	d(&t.AgentReregisterTimeout, 10*time.Minute)
	d(&t.ExecutorRegistrationTimeout, time.Minute)
	d(&t.ExecutorShutdownGracePeriod, 5*time.Second)
	d(&t.ExecutorReregistrationTimeout, 2*time.Second)
	d(&t.RecoveryTimeout, 15*time.Minute)
	d(&t.ExecutorHeartbeat, 30*time.Minute)
	d(&t.StatusUpdateRetryMin, 10*time.Second)
	d(&t.StatusUpdateRetryMax, 10*time.Minute)
	d(&t.FetchTimeout, 5*time.Minute)
	if t.MaxCompletedFrameworks <= 0 {
		t.MaxCompletedFrameworks = 50
	}
	if t.MaxCompletedTasks <= 0 {
		t.MaxCompletedTasks = 1000
	}
	if t.StatusUpdateRetryMax < t.StatusUpdateRetryMin {
		t.StatusUpdateRetryMax = t.StatusUpdateRetryMin
	}
	return t
}

// DefaultAgentResources is the resource string of default agents.
const DefaultAgentResources = "cpus:4;mem:8192;disk:20480"

// withDefaults fills defaults and validates; it returns ErrBadConfig wrapped
// with the reason.
func (c Config) withDefaults() (Config, error) {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:0"
	}
	if c.MasterID == "" {
		c.MasterID = newUUID()
	}
	if c.AgentBaseIP == "" {
		c.AgentBaseIP = "127.0.1.1"
	}
	if c.AgentResources == "" {
		c.AgentResources = DefaultAgentResources
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.Timers = c.Timers.withDefaults()
	if len(c.Agents) == 0 {
		n := c.AgentCount
		if n == 0 {
			n = 3
		}
		for i := 0; i < n; i++ {
			c.Agents = append(c.Agents, AgentSpec{})
		}
	}
	base := net.ParseIP(c.AgentBaseIP).To4()
	if base == nil {
		return c, fmt.Errorf("%w: agent base IP %q is not an IPv4 address", ErrBadConfig, c.AgentBaseIP)
	}
	seen := map[string]bool{}
	specs := make([]AgentSpec, len(c.Agents))
	for i, s := range c.Agents {
		if s.Port == 0 {
			s.Port = c.AgentPort
		}
		if s.Attributes == "" {
			s.Attributes = c.AgentAttributes
		}
		s, err := s.withDefaults(i, len(c.Agents), base, c.AgentResources)
		if err != nil {
			return c, err
		}
		if seen[s.Name] {
			return c, fmt.Errorf("%w: duplicate agent name %q", ErrBadConfig, s.Name)
		}
		seen[s.Name] = true
		specs[i] = s
	}
	c.Agents = specs
	return c, nil
}

// withDefaults completes the i-th of n agent specs.
func (s AgentSpec) withDefaults(i, n int, base net.IP, resources string) (AgentSpec, error) {
	if s.Name == "" {
		s.Name = "agent-" + strconv.Itoa(i+1)
	}
	if s.IP == "" {
		ip, err := addIPv4(base, i)
		if err != nil {
			return s, err
		}
		s.IP = ip
	}
	if net.ParseIP(s.IP) == nil {
		return s, fmt.Errorf("%w: agent %s: bad IP %q", ErrBadConfig, s.Name, s.IP)
	}
	if s.Hostname == "" {
		s.Hostname = s.IP
	}
	if s.Resources == "" {
		s.Resources = resources
	}
	rs, err := ParseResources(s.Resources)
	if err != nil {
		return s, fmt.Errorf("%w: agent %s: %w", ErrBadConfig, s.Name, err)
	}
	if !hasResource(rs, "ports") {
		lo, hi := defaultPorts(i, n)
		s.Resources += fmt.Sprintf(";ports:[%d-%d]", lo, hi)
	}
	if _, err := ParseAttributes(s.Attributes); err != nil {
		return s, fmt.Errorf("%w: agent %s: %w", ErrBadConfig, s.Name, err)
	}
	return s, nil
}

// defaultPorts gives agent i of n a port range of its own: [31000+1000i,
// 31999+1000i] while that fits below 65536, narrower ranges for more agents.
func defaultPorts(i, n int) (int, int) {
	width := 1000
	if n*width > 65536-31000 {
		width = (65536 - 31000) / n
	}
	lo := 31000 + width*i
	return lo, lo + width - 1
}

func addIPv4(base net.IP, i int) (string, error) {
	v := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	v += uint32(i)
	if v>>24 != uint32(base[0]) {
		return "", fmt.Errorf("%w: too many agents for base IP %s", ErrBadConfig, base)
	}
	return net.IPv4(byte(v>>24), byte(v>>16), byte(v>>8), byte(v)).String(), nil
}
