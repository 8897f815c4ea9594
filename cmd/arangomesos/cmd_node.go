package main

import (
	"context"
	"io"

	"github.com/arangomesos/arangomesos/internal/cli"
	"github.com/arangomesos/arangomesos/node"
	"github.com/arangomesos/arangomesos/node/cluster"
)

func init() {
	cli.Register(cli.Command{Name: "node", Summary: "run a database server: agent, coordinator or DBServer", Run: runNode})
}

func runNode(ctx context.Context, args []string, _, stderr io.Writer) error {
	cfg := node.DefaultConfig()
	fs := cli.NewFlagSet("node", "--cluster.my-role ROLE --server.endpoint tcp://IP:PORT ...", stderr)
	role := fs.String("cluster.my-role", "", "role of this server: AGENT, COORDINATOR or DBSERVER")
	fs.StringVar(&cfg.ID, "cluster.my-id", "", "server id (default: the one stored in the data directory, else a new one)")
	fs.StringVar(&cfg.Endpoint, "server.endpoint", "", "endpoint to listen on, tcp://IP:PORT")
	fs.StringVar(&cfg.Address, "cluster.my-address", "", "endpoint the other servers use to reach this one (default: --server.endpoint)")
	var agencyEPs cli.StringList
	fs.Var(&agencyEPs, "cluster.agency-endpoint", "endpoint of an agent, tcp://IP:PORT (repeatable)")
	fs.IntVar(&cfg.AgencySize, "agency.size", cfg.AgencySize, "number of agents in the Agency (odd)")
	fs.StringVar(&cfg.DataDir, "database.directory", "", "data directory (locked; bound to this server id)")
	fs.StringVar(&cfg.SecretFile, "server.jwt-secret-keyfile", "", "file with the cluster's JWT secret; when set every intra-cluster request must carry a JWT signed with it")
	fs.StringVar(&cfg.LogLevel, "log.level", cfg.LogLevel, "log level: debug, info, warn or error")
	fs.IntVar(&cfg.MaxProcs, "server.max-procs", 0, "threads running Go code at once (GOMAXPROCS); 0: the GOMAXPROCS environment variable, else 1 for agents and the cores (or the container's CPU limit) for other roles; the scheduler passes the task's CPUs rounded up")
	fs.DurationVar(&cfg.Agency.ElectionTimeout, "agency.election-timeout", cfg.Agency.ElectionTimeout, "Raft election timeout of agents")
	fs.Uint64Var(&cfg.Agency.SnapshotThreshold, "agency.compaction-step-size", cfg.Agency.SnapshotThreshold, "log entries between Agency snapshots (log compaction)")
	fs.DurationVar(&cfg.SupervisionFrequency, "agency.supervision-frequency", cfg.SupervisionFrequency, "interval of supervision rounds")
	fs.DurationVar(&cfg.SupervisionOkThreshold, "agency.supervision-ok-threshold", cfg.SupervisionOkThreshold, "heartbeat age after which a server is BAD")
	fs.DurationVar(&cfg.SupervisionGracePeriod, "agency.supervision-grace-period", cfg.SupervisionGracePeriod, "heartbeat age after which a server is FAILED")
	dp := &cfg.DataPlane
	fs.DurationVar(&dp.ReplicationTimeout, "cluster.synchronous-replication-timeout", dp.ReplicationTimeout, "DBServer: drop a follower that has not acknowledged a write within this time")
	fs.DurationVar(&dp.FailoverTimeout, "cluster.failover-timeout", dp.FailoverTimeout, "coordinator: how long to retry an operation against changing shard leaders before answering 503/1478")
	fs.IntVar(&dp.ReplicationLogEntries, "cluster.replication-log-entries", dp.ReplicationLogEntries, "DBServer: operations each shard leader keeps in memory for followers that catch up")
	fs.IntVar(&dp.DefaultReplicationFactor, "cluster.default-replication-factor", dp.DefaultReplicationFactor, "coordinator: replicationFactor of collections created without one")
	fs.DurationVar(&dp.DrainDelay, "server.drain-delay", dp.DrainDelay, "coordinator: after SIGTERM keep serving this long while availability answers 503, cluster endpoints no longer list it and responses close their connections")
	fs.StringVar(&dp.RootPassword, "server.root-password", "", "coordinator: password of the root user (prefer --server.root-password-file)")
	fs.StringVar(&dp.RootPasswordFile, "server.root-password-file", "", "coordinator: file holding the password of the root user")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	cfg.AgencyEndpoints = agencyEPs
	if *role != "" {
		r, ok := cluster.ParseRole(*role)
		if !ok {
			return cli.Usagef("--cluster.my-role: unknown role %q (AGENT, COORDINATOR or DBSERVER)", *role)
		}
		cfg.Role = r
	}
	if err := cfg.Validate(); err != nil {
		return cli.Usagef("%v", err)
	}
	return node.Run(ctx, cfg)
}
