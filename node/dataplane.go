package node

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/arangomesos/arangomesos/node/arangohttp"
	"github.com/arangomesos/arangomesos/node/cluster"
	"github.com/arangomesos/arangomesos/node/coordinator"
	"github.com/arangomesos/arangomesos/node/coordinator/clusteradmin"
	"github.com/arangomesos/arangomesos/node/dbserver"
)

// DataPlaneConfig holds the settings of DBServers and coordinators; the
// flag names (arangod's where it has one) are given in brackets.
type DataPlaneConfig struct {
	// ReplicationTimeout: a follower that has not acknowledged a write by
	// then is dropped from the in-sync list
	// (--cluster.synchronous-replication-timeout).
	ReplicationTimeout time.Duration
	// FailoverTimeout bounds a coordinator's retries against changing shard
	// leaders (--cluster.failover-timeout).
	FailoverTimeout time.Duration
	// ReplicationLogEntries bounds each shard leader's in-memory operation
	// log, from which returning followers catch up
	// (--cluster.replication-log-entries).
	ReplicationLogEntries int
	// RootPassword and RootPasswordFile set the root user's password on
	// coordinators (--server.root-password, --server.root-password-file).
	RootPassword     string
	RootPasswordFile string
	// DefaultReplicationFactor is a new collection's replicationFactor when
	// the client gives none (--cluster.default-replication-factor).
	DefaultReplicationFactor int
	// DrainDelay is how long a coordinator keeps serving after SIGTERM while
	// it tells clients, balancers and drivers to go elsewhere
	// (coordinator.Server.Drain; --server.drain-delay).
	DrainDelay time.Duration
}

// DefaultDataPlaneConfig returns the defaults.
func DefaultDataPlaneConfig() DataPlaneConfig {
	return DataPlaneConfig{ReplicationTimeout: 3 * time.Second, FailoverTimeout: 30 * time.Second,
		ReplicationLogEntries: 100000, DefaultReplicationFactor: 1, DrainDelay: time.Second}
}

// dataPlaneSetup starts the profiler (if asked for) and returns the
// server's token source and Agency client.
func dataPlaneSetup(cfg Config, log *slog.Logger, id string, secret cluster.Secret) (*cluster.TokenSource, *cluster.AgencyClient, error) {
	startProfiler(log)
	tokens := &cluster.TokenSource{Secret: secret, ServerID: id}
	ac, err := cluster.NewAgencyClient(cfg.AgencyEndpoints, tokens)
	return tokens, ac, err
}

func runDBServer(ctx context.Context, cfg Config, log *slog.Logger, dir *dataDir, id string, ln net.Listener, secret cluster.Secret, info serverInfo) error {
	// Short-lived request garbage dominates; the shards' documents are
	// long-lived, so the heap grows at most 3× their size.
	debug.SetGCPercent(200)
	tokens, ac, err := dataPlaneSetup(cfg, log, id, secret)
	if err != nil {
		ln.Close()
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	s, err := dbserver.Start(rctx, dbserver.Config{ID: id, Endpoint: cfg.Address, Version: Version, DataDir: dir.sub("dbserver"),
		Agency: ac, Cache: cluster.NewCache(ac, log), Tokens: tokens, Log: log,
		ReplicationTimeout: cfg.DataPlane.ReplicationTimeout, LeaseDuration: cfg.SupervisionOkThreshold,
		LogEntries: cfg.DataPlane.ReplicationLogEntries, ParseQuery: shardQueryParser})
	if err != nil {
		ln.Close()
		return fmt.Errorf("node: start DBServer: %w", err)
	}
	mux := info.routes()
	s.Register(mux)
	srv := &http.Server{Handler: arangohttp.RequireSuperuser(secret, mux, openPaths...), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("DBServer serving", "endpoint", cfg.Address)
	select {
	case <-ctx.Done():
		s.Drain(10 * time.Second)
	case err = <-served:
		log.Error("http server stopped", "err", err)
	}
	return shutdown(log, srv, inFlightWait, s.Close)
}

func runCoordinator(ctx context.Context, cfg Config, log *slog.Logger, id string, ln net.Listener, secret cluster.Secret, info serverInfo) error {
	// A coordinator's heap is small and almost all request garbage.
	debug.SetGCPercent(400)
	password := cfg.DataPlane.RootPassword
	if cfg.DataPlane.RootPasswordFile != "" {
		b, err := os.ReadFile(cfg.DataPlane.RootPasswordFile)
		if err != nil {
			ln.Close()
			return fmt.Errorf("node: read root password: %w", err)
		}
		password = strings.TrimSpace(string(b))
	}
	tokens, ac, err := dataPlaneSetup(cfg, log, id, secret)
	if err != nil {
		ln.Close()
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	s, err := coordinator.Start(rctx, coordinator.Config{ID: id, Endpoint: cfg.Address, Version: Version,
		Agency: ac, Cache: cluster.NewCache(ac, log), Secret: secret, Tokens: tokens, Log: log, RootPassword: password,
		FailoverTimeout: cfg.DataPlane.FailoverTimeout, DefaultReplicationFactor: cfg.DataPlane.DefaultReplicationFactor,
		Queries: queryEngine})
	if err != nil {
		ln.Close()
		return fmt.Errorf("node: start coordinator: %w", err)
	}
	clusteradmin.Register(s.Mux(), clusteradmin.Deps{Agency: ac, Cache: s.Cache(), ServerID: id,
		Database: coordinator.Database, Log: log})
	info.available = func() bool { return !s.Draining() }
	srv := &http.Server{Handler: s.Handler(info.routes()), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("coordinator serving", "endpoint", cfg.Address)
	select {
	case <-ctx.Done():
		s.Drain(cfg.DataPlane.DrainDelay)
	case err = <-served:
		log.Error("http server stopped", "err", err)
	}
	return shutdown(log, srv, coordinatorInFlightWait, func() error { s.Close(); return nil })
}
