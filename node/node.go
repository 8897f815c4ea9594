package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/arangomesos/arangomesos/node/agency"
	"github.com/arangomesos/arangomesos/node/arangohttp"
	"github.com/arangomesos/arangomesos/node/cluster"
	"github.com/arangomesos/arangomesos/node/supervision"
)

// Config configures a node; the flag names of arangod are given in brackets.
type Config struct {
	Role cluster.Role // --cluster.my-role
	// ID is the server id (--cluster.my-id); empty means the one stored in
	// the data directory, or a new one.
	ID string
	// Endpoint is where the node listens (--server.endpoint tcp://ip:port).
	Endpoint string
	// Address is the endpoint others use to reach it (--cluster.my-address);
	// empty means Endpoint.
	Address         string
	AgencyEndpoints []string // --cluster.agency-endpoint (repeatable)
	AgencySize      int      // --agency.size
	DataDir         string   // --database.directory
	SecretFile      string   // --server.jwt-secret-keyfile
	LogLevel        string   // --log.level
	// MaxProcs is how many threads run Go code at once (GOMAXPROCS,
	// --server.max-procs); 0 means maxProcs' default.
	MaxProcs int

	Agency agency.Timing
	// Data plane settings of DBServers and coordinators (dataplane.go).
	DataPlane DataPlaneConfig
	// Supervision thresholds (--agency.supervision-*).
	SupervisionFrequency   time.Duration
	SupervisionOkThreshold time.Duration
	SupervisionGracePeriod time.Duration
}

// DefaultConfig returns the defaults of every setting.
func DefaultConfig() Config {
	return Config{
		AgencySize: 3, LogLevel: "info", Agency: agency.DefaultTiming,
		SupervisionFrequency: 500 * time.Millisecond, SupervisionOkThreshold: 5 * time.Second, SupervisionGracePeriod: 10 * time.Second,
		DataPlane: DefaultDataPlaneConfig(),
	}
}

// Validate checks the configuration and fills derived fields.
func (c *Config) Validate() error {
	if c.Role == "" {
		return fmt.Errorf("node: --cluster.my-role is required (AGENT, COORDINATOR or DBSERVER)")
	}
	if c.Endpoint == "" {
		return fmt.Errorf("node: --server.endpoint is required (tcp://ip:port)")
	}
	if _, err := agency.HostPort(c.Endpoint); err != nil {
		return fmt.Errorf("node: --server.endpoint: %w", err)
	}
	if c.Address == "" {
		c.Address = c.Endpoint
	}
	if _, err := agency.HostPort(c.Address); err != nil {
		return fmt.Errorf("node: --cluster.my-address: %w", err)
	}
	if c.DataDir == "" {
		return fmt.Errorf("node: --database.directory is required")
	}
	if len(c.AgencyEndpoints) == 0 {
		return fmt.Errorf("node: at least one --cluster.agency-endpoint is required")
	}
	for _, ep := range c.AgencyEndpoints {
		if _, err := agency.HostPort(ep); err != nil {
			return fmt.Errorf("node: --cluster.agency-endpoint: %w", err)
		}
	}
	if c.Role == cluster.RoleAgent {
		if c.AgencySize < 1 || c.AgencySize%2 == 0 {
			return fmt.Errorf("node: --agency.size must be odd (1, 3 or 5), got %d", c.AgencySize)
		}
		if len(c.AgencyEndpoints) < c.AgencySize {
			return fmt.Errorf("node: --agency.size is %d but only %d --cluster.agency-endpoint given", c.AgencySize, len(c.AgencyEndpoints))
		}
	}
	if c.SupervisionOkThreshold <= 0 || c.SupervisionGracePeriod < c.SupervisionOkThreshold || c.SupervisionFrequency <= 0 {
		return fmt.Errorf("node: supervision needs 0 < frequency, 0 < ok-threshold <= grace-period")
	}
	if c.MaxProcs < 0 || c.MaxProcs > maxMaxProcs {
		return fmt.Errorf("node: --server.max-procs must be between 0 (the default) and %d, got %d", maxMaxProcs, c.MaxProcs)
	}
	if d := c.DataPlane.DrainDelay; d < 0 || d > maxDrainDelay {
		return fmt.Errorf("node: --server.drain-delay must be between 0 and %v (the scheduler's kill grace period leaves no more), got %v", maxDrainDelay, d)
	}
	return nil
}

// Run runs the node until ctx ends, then shuts it down gracefully. It fails
// when the configuration is invalid, the data directory is held by another
// process or belongs to another server, or the endpoint cannot be bound.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel).With("role", string(cfg.Role))
	slog.SetDefault(log)
	procs := maxProcs(cfg.Role, cfg.MaxProcs, os.Getenv("GOMAXPROCS") != "")
	if procs > 0 {
		runtime.GOMAXPROCS(procs)
	}
	log.Debug("threads running Go code", "gomaxprocs", runtime.GOMAXPROCS(0))
	var secret cluster.Secret
	if cfg.SecretFile != "" {
		s, err := cluster.ReadSecretFile(cfg.SecretFile)
		if err != nil {
			return err
		}
		secret = s
	}
	dir, id, err := openDataDir(cfg.DataDir, cfg.Role, cfg.ID)
	if err != nil {
		return err
	}
	defer dir.close()
	log = log.With("id", id)
	hp, _ := agency.HostPort(cfg.Endpoint)
	ln, err := net.Listen("tcp", hp)
	if err != nil {
		return fmt.Errorf("node: listen on %s: %w", hp, err)
	}
	info := serverInfo{role: cfg.Role, id: id, address: cfg.Address}

	switch cfg.Role {
	case cluster.RoleAgent:
		return runAgent(ctx, cfg, log, dir, id, ln, secret, info)
	case cluster.RoleDBServer:
		return runDBServer(ctx, cfg, log, dir, id, ln, secret, info)
	case cluster.RoleCoordinator:
		return runCoordinator(ctx, cfg, log, id, ln, secret, info)
	default:
		ln.Close()
		return fmt.Errorf("node: role %s is not available in this build", cfg.Role)
	}
}

func runAgent(ctx context.Context, cfg Config, log *slog.Logger, dir *dataDir, id string, ln net.Listener, secret cluster.Secret, info serverInfo) error {
	// An agent's heap is small and short-lived garbage dominates; collecting
	// less often saves CPU on every write.
	debug.SetGCPercent(400)
	startProfiler(log)
	a, err := agency.Start(agency.Config{
		ID: id, Endpoint: cfg.Address, Listener: ln, Peers: cfg.AgencyEndpoints, Size: cfg.AgencySize,
		DataDir: dir.sub("agency"), Secret: secret, Timing: cfg.Agency, Logger: log,
	})
	if err != nil {
		ln.Close()
		return err
	}
	a.SetSupervisionInfo(agency.SupervisionInfo{Enabled: true, Frequency: cfg.SupervisionFrequency,
		GracePeriod: cfg.SupervisionGracePeriod, OkThreshold: cfg.SupervisionOkThreshold})
	info.available = func() bool { id, _ := a.Leader(); return id != "" }
	supCfg := supervision.DefaultConfig
	supCfg.OkThreshold, supCfg.GracePeriod = cfg.SupervisionOkThreshold, cfg.SupervisionGracePeriod
	supCtx, stopSupervision := context.WithCancel(ctx)
	defer stopSupervision()
	go supervision.NewRunner(a, supCfg, cfg.SupervisionFrequency, log).Run(supCtx)
	mux := info.routes()
	mux.Handle("/_api/agency/", a.Handler())
	mux.Handle("GET /_admin/metrics", a.MetricsHandler())
	srv := &http.Server{Handler: arangohttp.RequireSuperuser(secret, mux, openPaths...), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(a.HTTPListener()) }()
	log.Info("agent serving", "endpoint", cfg.Address)
	select {
	case <-ctx.Done():
	case err = <-served:
		log.Error("http server stopped", "err", err)
	}
	return shutdown(log, srv, inFlightWait, a.Close)
}

// inFlightWait is how long shutdown waits for an agent's or DBServer's
// requests in flight (a DBServer has drained its writes before);
// coordinatorInFlightWait is a coordinator's, whose requests may be
// queries. Both fit in the scheduler's kill grace period (10 s for
// coordinators, with the drain delay).
const (
	inFlightWait            = 2 * time.Second
	coordinatorInFlightWait = 5 * time.Second
)

// maxMaxProcs bounds --server.max-procs.
const maxMaxProcs = 1024

// maxProcs returns the GOMAXPROCS a node sets, 0 for none (Go's default:
// the GOMAXPROCS environment variable, else the cores or the container's
// CPU limit). An explicit --server.max-procs wins; the scheduler passes
// the task's CPUs rounded up, so that a node on a big host does not run a
// thread per core of the host for a fraction of one (with several nodes
// per host, idle threads spinning for work cost measurable CPU). An agent
// defaults to 1: its work is a chain of hand-overs around fdatasync (HTTP,
// Raft's main loop, the log commit, the FSM), and with more threads each
// hand-over wakes an idle one on another core. On 2 cores that gave
// sequential Agency writes 392 → 468/s and 64 writers 4,755 → 5,014/s
// (medians of 7 alternated runs, docs/benchmarks.md).
func maxProcs(role cluster.Role, flag int, envSet bool) int {
	switch {
	case flag > 0:
		return flag
	case role == cluster.RoleAgent && !envSet:
		return 1
	}
	return 0
}

// maxDrainDelay bounds a coordinator's --server.drain-delay: with
// coordinatorInFlightWait it must fit in the scheduler's kill grace period.
const maxDrainDelay = 4 * time.Second

// shutdown stops the HTTP server (waiting up to wait for requests in
// flight, cutting long polls) and then the role's service.
func shutdown(log *slog.Logger, srv *http.Server, wait time.Duration, closeRole func() error) error {
	sctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_ = srv.Shutdown(sctx)
	srv.Close()
	err := closeRole()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		log.Error("shutdown", "err", err)
		return err
	}
	log.Info("stopped")
	return nil
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	switch strings.ToLower(level) {
	case "trace", "debug":
		l = slog.LevelDebug
	case "warn", "warning":
		l = slog.LevelWarn
	case "error", "fatal":
		l = slog.LevelError
	default:
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}
