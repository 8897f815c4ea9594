package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/internal/cli"
)

// Invalid scheduler flags end the command at once with exit code 2 and the
// reason, before anything is registered with Mesos or written to a store.
func TestSchedulerRefusesInvalidFlags(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--agents", "4"}, "--agents must be odd"},
		{[]string{"--dbservers", "0"}, "--dbservers must be at least 1"},
		{[]string{"--placement", "spread"}, "--placement must be"},
		{[]string{"--zk", "localhost:2181"}, "--zk must look like"},
		{[]string{"--agents", "three"}, "invalid value"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			dir := t.TempDir()
			var stderr bytes.Buffer
			args := append([]string{"scheduler", "--master", "127.0.0.1:5050", "--state-dir", dir, "--listen", "127.0.0.1:0"}, c.args...)
			err := cli.Main(ctx, args, &stderr, &stderr)
			if cli.ExitCode(err) != 2 || !strings.Contains(err.Error()+stderr.String(), c.want) {
				t.Fatalf("exit %d, err %v, stderr %s; want exit 2 with %q", cli.ExitCode(err), err, stderr.String(), c.want)
			}
		})
	}
}
