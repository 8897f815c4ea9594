package main

import (
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/arangomesos/arangomesos/internal/cli"
	"github.com/arangomesos/arangomesos/scheduler"
)

func init() {
	cli.Register(cli.Command{Name: "scheduler", Summary: "run the Mesos framework that deploys, heals and scales the cluster", Run: runScheduler})
}

func runScheduler(ctx context.Context, args []string, _, stderr io.Writer) error {
	cfg := scheduler.DefaultConfig()
	fs := cli.NewFlagSet("scheduler", "[--master HOST:PORT|zk://…] [--listen HOST:PORT] ...", stderr)
	cfg.RegisterFlags(fs)
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return cli.Usagef("%v", err)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: scheduler.LogLevel(cfg.LogLevel)}))
	s, err := scheduler.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}
