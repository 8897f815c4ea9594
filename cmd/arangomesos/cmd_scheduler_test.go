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
	refusesFlags(t, []string{"scheduler", "--master", "127.0.0.1:5050", "--state-dir", t.TempDir(), "--listen", "127.0.0.1:0"}, []flagCase{
		{[]string{"--agents", "4"}, "--agents must be odd"},
		{[]string{"--dbservers", "0"}, "--dbservers must be at least 1"},
		{[]string{"--placement", "spread"}, "--placement must be"},
		{[]string{"--zk", "localhost:2181"}, "--zk must look like"},
		{[]string{"--agents", "three"}, "invalid value"},
	})
}

// flagCase is a command line's extra flags and what its error must say.
type flagCase struct {
	args []string
	want string
}

// refusesFlags runs the command base with each case's flags added and
// checks that it ends at once with exit code 2 and the reason.
func refusesFlags(t *testing.T, base []string, cases []flagCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var stderr bytes.Buffer
			err := cli.Main(ctx, append(append([]string(nil), base...), c.args...), &stderr, &stderr)
			if cli.ExitCode(err) != 2 || !strings.Contains(err.Error()+stderr.String(), c.want) {
				t.Fatalf("exit %d, err %v, stderr %s; want exit 2 with %q", cli.ExitCode(err), err, stderr.String(), c.want)
			}
		})
	}
}
