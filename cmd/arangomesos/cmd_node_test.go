package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/internal/cli"
)

// Invalid node flags end the command at once with exit code 2 and the
// reason, before anything binds a port or touches the data directory.
func TestNodeRefusesInvalidFlags(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--cluster.my-role", "LEADER"}, "unknown role"},
		{[]string{"--cluster.my-role", "AGENT", "--agency.size", "2"}, "--agency.size must be odd"},
		{[]string{"--cluster.my-role", "COORDINATOR", "--server.drain-delay", "-1s"}, "--server.drain-delay must be between 0 and 4s"},
		{[]string{"--cluster.my-role", "COORDINATOR", "--server.drain-delay", "1m"}, "--server.drain-delay must be between 0 and 4s"},
		{[]string{"--cluster.my-role", "COORDINATOR", "--server.drain-delay", "soon"}, "invalid value"},
		{[]string{"--cluster.my-role", "COORDINATOR", "--server.endpoint", "localhost"}, "--server.endpoint"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			dir := t.TempDir()
			var stderr bytes.Buffer
			args := append([]string{"node", "--server.endpoint", "tcp://127.0.0.1:1", "--database.directory", dir,
				"--cluster.agency-endpoint", "tcp://127.0.0.1:2"}, c.args...)
			err := cli.Main(ctx, args, &stderr, &stderr)
			if cli.ExitCode(err) != 2 || !strings.Contains(err.Error()+stderr.String(), c.want) {
				t.Fatalf("exit %d, err %v, stderr %s; want exit 2 with %q", cli.ExitCode(err), err, stderr.String(), c.want)
			}
		})
	}
}
