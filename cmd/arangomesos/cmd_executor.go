package main

import (
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/arangomesos/arangomesos/executor"
	"github.com/arangomesos/arangomesos/internal/cli"
)

func init() {
	cli.Register(cli.Command{Name: "executor", Summary: "the Mesos executor: run one database node for a task (started by a Mesos agent)", Run: runExecutor})
}

func runExecutor(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := cli.NewFlagSet("executor", "(configured by the MESOS_* environment a Mesos agent sets)", stderr)
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	cfg, err := executor.ConfigFromEnv()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("component", "executor")
	return executor.New(cfg, log).Run(ctx)
}
