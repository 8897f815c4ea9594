package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/arangomesos/arangomesos/internal/cli"
	"github.com/arangomesos/arangomesos/internal/devcluster"
	"github.com/arangomesos/arangomesos/scheduler"
)

func init() {
	cli.Register(cli.Command{Name: "dev", Summary: "the whole system on this machine: a local Mesos, the scheduler and the default cluster", Run: runDev})
}

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := devcluster.Config{Agents: 3, Listen: "127.0.0.1:8080", Dir: ".dev/dev", Scheduler: scheduler.DefaultConfig()}
	fs := cli.NewFlagSet("dev", "[--agents 3] [--listen 127.0.0.1:8080] [--dir DIR] [--agent-base-ip 127.0.1.1]", stderr)
	fs.IntVar(&cfg.Agents, "agents", cfg.Agents, "number of Mesos agents (hosts) of the local Mesos")
	fs.StringVar(&cfg.AgentBaseIP, "agent-base-ip", "127.0.1.1", "loopback address of the first Mesos agent; agent i gets base+i")
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "HOST:PORT of the scheduler's web UI and REST API")
	fs.StringVar(&cfg.Dir, "dir", cfg.Dir, "directory for everything the cluster writes (removed on exit)")
	fs.BoolVar(&cfg.Keep, "keep", false, "keep the directory on exit")
	logFile := fs.String("log-file", "", "write the logs there (default: DIR/dev.log)")
	fs.IntVar(&cfg.Scheduler.DBServers, "dbservers", cfg.Scheduler.DBServers, "number of DBServers")
	fs.IntVar(&cfg.Scheduler.Coordinators, "coordinators", cfg.Scheduler.Coordinators, "number of coordinators")
	fs.StringVar(&cfg.Scheduler.Placement, "placement", cfg.Scheduler.Placement, "unique-host (one member of a role per Mesos agent; scale beyond --agents needs more agents) or any")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if cfg.Agents < 1 {
		return cli.Usagef("--agents must be at least 1")
	}
	path := *logFile
	if path == "" {
		if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
			return err
		}
		path = filepath.Join(cfg.Dir, "dev.log")
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	defer f.Close()
	cfg.Log = slog.New(slog.NewJSONHandler(f, &slog.HandlerOptions{Level: slog.LevelInfo}))
	return devcluster.Run(ctx, cfg, stdout, nil)
}
