// Command arangomesos is the single binary of the project: the database node,
// the Mesos scheduler and executor, a local Mesos for development, and the
// one-command development cluster. Each subcommand lives in its own file and
// registers itself; this file only dispatches.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/arangomesos/arangomesos/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "arangomesos:", err)
		os.Exit(cli.ExitCode(err))
	}
}
