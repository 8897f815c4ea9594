package main

import (
	"context"
	"io"
	"os"

	"github.com/arangomesos/arangomesos/internal/cli"
	"github.com/arangomesos/arangomesos/internal/localcluster"
)

func init() {
	cli.Register(cli.Command{Name: "local", Summary: "run a cluster of node processes on this machine, without Mesos", Run: runLocal})
}

func runLocal(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := localcluster.Config{Agents: 3, DBServers: 3, Coordinators: 2}
	fs := cli.NewFlagSet("local", "[--agents 3] [--dbservers 3] [--coordinators 2] [--dir DIR]", stderr)
	fs.IntVar(&cfg.Agents, "agents", cfg.Agents, "number of agents (odd)")
	fs.IntVar(&cfg.DBServers, "dbservers", cfg.DBServers, "number of DBServers")
	fs.IntVar(&cfg.Coordinators, "coordinators", cfg.Coordinators, "number of coordinators")
	fs.StringVar(&cfg.Dir, "dir", ".dev/local", "directory for data, logs and the cluster's layout; reused by the next run")
	fs.StringVar(&cfg.IP, "ip", "127.0.0.1", "loopback address the nodes listen on")
	fs.IntVar(&cfg.BasePort, "base-port", 8529, "first port: coordinators at +0, DBServers at +1, agents at +2, then +10 per node; 0 picks free ports")
	fs.StringVar(&cfg.LogLevel, "log-level", "info", "log level of the nodes")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if cfg.Agents < 1 || cfg.Agents%2 == 0 {
		return cli.Usagef("--agents must be odd, got %d", cfg.Agents)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cfg.Binary = exe
	return localcluster.Run(ctx, cfg, stdout)
}
