package main

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/internal/cli"
)

// mesos-local starts, prints the master and its agents, and stops cleanly
// when its context ends (Ctrl-C in the binary).
func TestMesosLocalCommand(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- cli.Main(runCtx, []string{"mesos-local", "--listen", "127.0.0.1:0", "--agents", "2", "--agent-port", "0",
			"--log-level", "warn"}, pw, io.Discard)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if strings.HasPrefix(sc.Text(), "control API:") {
			stop()
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("mesos-local: %v\n%s", err, strings.Join(lines, "\n"))
	}
	out := strings.Join(lines, "\n")
	for _, want := range []string{"mesoslocal master: http://127.0.0.1:", "agent-1", "agent-2", "127.0.1.2", "stopping mesoslocal"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if err := cli.Main(ctx, []string{"mesos-local", "--log-level", "loud"}, io.Discard, io.Discard); cli.ExitCode(err) != 2 {
		t.Errorf("bad flag: %v", err)
	}
}
