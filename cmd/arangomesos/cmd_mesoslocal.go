package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/arangomesos/arangomesos/internal/cli"
	"github.com/arangomesos/arangomesos/mesoslocal"
)

func init() {
	cli.Register(cli.Command{Name: "mesos-local", Summary: "run a Mesos master and agents in one process (v1 HTTP APIs)", Run: runMesosLocal})
}

func runMesosLocal(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("mesos-local", "[flags]", stderr)
	var cfg mesoslocal.Config
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:5050", "master listen address")
	fs.StringVar(&cfg.Hostname, "hostname", "", "master hostname (default: its IP)")
	fs.IntVar(&cfg.AgentCount, "agents", 3, "number of agents")
	fs.StringVar(&cfg.AgentResources, "agent-resources", mesoslocal.DefaultAgentResources,
		"agent resources in Mesos syntax; without ports each agent gets its own range")
	fs.StringVar(&cfg.AgentAttributes, "agent-attributes", "", "agent attributes in Mesos syntax, e.g. rack:r1;zone:a")
	fs.StringVar(&cfg.AgentBaseIP, "agent-base-ip", "127.0.1.1", "address of the first agent; agent i gets base+i")
	fs.IntVar(&cfg.AgentPort, "agent-port", 5051, "agent port (0: ephemeral)")
	fs.StringVar(&cfg.WorkDir, "work-dir", "", "work directory (default: a temporary one)")
	fs.BoolVar(&cfg.KeepWorkDir, "keep-work-dir", false, "keep the work directory on exit")
	t := &cfg.Timers
	fs.DurationVar(&t.Heartbeat, "heartbeat-interval", 0, "scheduler heartbeat interval (default 15s)")
	fs.DurationVar(&t.AllocationInterval, "allocation-interval", 0, "allocation interval (default 1s)")
	fs.DurationVar(&t.OfferTimeout, "offer-timeout", 0, "rescind offers after this long (default never)")
	fs.DurationVar(&t.RefuseDefault, "refuse-default", 0, "default offer filter (default 5s)")
	fs.DurationVar(&t.AgentPingTimeout, "agent-ping-timeout", 0, "agent ping timeout (default 15s)")
	fs.IntVar(&t.MaxAgentPingTimeouts, "max-agent-ping-timeouts", 0, "missed pings before an agent is unreachable (default 5)")
	fs.DurationVar(&t.AgentReregisterTimeout, "agent-reregister-timeout", 0, "disconnected agent grace (default 10m)")
	fs.DurationVar(&t.ExecutorRegistrationTimeout, "executor-registration-timeout", 0, "executor registration timeout (default 1m)")
	fs.DurationVar(&t.ExecutorShutdownGracePeriod, "executor-shutdown-grace-period", 0, "executor shutdown grace period (default 5s)")
	fs.DurationVar(&t.ExecutorReregistrationTimeout, "executor-reregistration-timeout", 0, "executor reregistration timeout after an agent restart (default 2s)")
	fs.DurationVar(&t.RecoveryTimeout, "recovery-timeout", 0, "executor recovery timeout (default 15m)")
	fs.DurationVar(&t.StatusUpdateRetryMin, "status-update-retry-min", 0, "first status update retry (default 10s)")
	fs.DurationVar(&t.StatusUpdateRetryMax, "status-update-retry-max", 0, "longest status update retry (default 10m)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return cli.Usagef("--log-level: %v", err)
	}
	if cfg.AgentCount == 0 {
		cfg.AgentCount = -1
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	return mesoslocal.Run(ctx, cfg, stdout)
}
