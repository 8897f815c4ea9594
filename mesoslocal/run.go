package mesoslocal

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
)

// Run starts a cluster, prints the master URL and the agents to out, and
// runs until ctx is cancelled; then it closes the cluster (every executor
// killed, temporary work directory removed unless kept). It is the body of
// `arangomesos mesos-local`.
func Run(ctx context.Context, cfg Config, out io.Writer) error {
	c, err := Start(ctx, cfg)
	if err != nil {
		return fmt.Errorf("mesos-local: %w", err)
	}
	fmt.Fprintf(out, "mesoslocal master: %s (scheduler API %s/api/v1/scheduler)\n", c.MasterURL(), c.MasterURL())
	fmt.Fprintf(out, "work dir: %s\n", c.WorkDir())
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AGENT\tID\tENDPOINT\tHOSTNAME")
	for _, a := range c.Agents() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Name(), a.ID(), a.Endpoint(), a.Hostname())
	}
	tw.Flush()
	fmt.Fprintln(out, "control API:", c.MasterURL()+"/sim/v1/agents", "— Ctrl-C stops everything")
	<-ctx.Done()
	fmt.Fprintln(out, "stopping mesoslocal")
	if err := c.Close(); err != nil {
		return fmt.Errorf("mesos-local: close: %w", err)
	}
	return nil
}
