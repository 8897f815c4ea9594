package mesoslocal

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The mesos-go example programs, built once per test binary run in a
// scratch module with the pins their old dependencies need.
var (
	exampleOnce sync.Once
	exampleDir  string
	exampleErr  error
)

const exampleGoMod = `module scratch

go 1.26

require (
	github.com/mesos/mesos-go v0.0.11
	github.com/prometheus/client_golang v0.9.4
	github.com/prometheus/common v0.4.1
)
`

func exampleBinaries(t *testing.T) (scheduler, executor string) {
	t.Helper()
	exampleOnce.Do(func() {
		dir := filepath.Join(testBinDirOrTemp(), "examples")
		if exampleErr = os.MkdirAll(dir, 0o755); exampleErr != nil {
			return
		}
		exampleDir = dir
		if exampleErr = os.WriteFile(filepath.Join(dir, "go.mod"), []byte(exampleGoMod), 0o644); exampleErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "bin")+"/",
			"github.com/mesos/mesos-go/api/v1/cmd/example-scheduler", "github.com/mesos/mesos-go/api/v1/cmd/example-executor")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			exampleErr = fmt.Errorf("build mesos-go examples: %v\n%s", err, out)
		}
	})
	if exampleErr != nil {
		t.Fatal(exampleErr)
	}
	return filepath.Join(exampleDir, "bin", "example-scheduler"), filepath.Join(exampleDir, "bin", "example-executor")
}

func testBinDirOrTemp() string {
	testExecutorPathOnce()
	return testBinDir
}

func testExecutorPathOnce() {
	testBinOnce.Do(func() {
		testBinDir, testBinErr = os.MkdirTemp("", "mesoslocal-bin-")
		if testBinErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(testBinDir, "testexecutor"), "./internal/testexecutor").CombinedOutput()
		if err != nil {
			testBinErr = fmt.Errorf("build testexecutor: %v\n%s", err, out)
		}
	})
}

// T-1: mesos-go's unmodified example scheduler and executor run their five
// tasks to completion, with both codecs.
func TestExampleSchedulerConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds mesos-go's examples")
	}
	schedBin, execBin := exampleBinaries(t)
	for _, codec := range []string{"json", "protobuf"} {
		t.Run(codec, func(t *testing.T) {
			c := startCluster(t, Config{AgentCount: 2})
			url := c.MasterURL()
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, schedBin, "-url", url+"/api/v1/scheduler", "-executor", execBin,
				"-server.address", "127.0.0.1", "-metrics.port", "0", "-codec", codec, "-verbose")
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			// After "mission accomplished" the example cancels its own context
			// and may exit 1 with "context canceled": that is mesos-go's doing.
			err := cmd.Run()
			if !strings.Contains(out.String(), "mission accomplished") || strings.Contains(out.String(), "Exiting because task") {
				t.Fatalf("example-scheduler: %v\n%s", err, out.String())
			}
			acks := 0
			executors := map[string]int{}
			for _, e := range c.Events(0) {
				if e.Kind == TapSchedulerEvent && e.Type == "UPDATE" {
					switch e.State {
					case "TASK_LOST", "TASK_FAILED", "TASK_ERROR", "TASK_KILLED":
						t.Errorf("unexpected update %+v", e)
					}
				}
				if e.Kind == TapSchedulerEvent && e.Type == "ERROR" {
					t.Errorf("unexpected ERROR %+v", e)
				}
				if e.Kind == TapSchedulerCall && e.Type == "ACKNOWLEDGE" {
					acks++
				}
				if e.Kind == TapExecutorEvent && e.Type == "SUBSCRIBED" {
					executors[e.AgentID]++
				}
			}
			if acks < 10 { // RUNNING and FINISHED of five tasks
				t.Errorf("want at least 10 acknowledgements, got %d", acks)
			}
			for agent, n := range executors {
				if n != 1 {
					t.Errorf("agent %s: %d executors subscribed, want 1", agent, n)
				}
			}
			if t.Name() != "TestExampleSchedulerConformance/protobuf" {
				return
			}
			// S-7.3: the example executor (checkpointing) survives an agent
			// restart: it resubscribes and is adopted, same process.
			var agent *Agent
			for _, a := range c.Agents() {
				if len(a.ExecutorPIDs()) == 1 {
					agent = a
				}
			}
			if agent == nil {
				t.Fatal("no agent with an example executor")
			}
			pid := agent.ExecutorPIDs()[0]
			evs := c.Events(0)
			after := evs[len(evs)-1].Seq
			if err := agent.Restart(); err != nil {
				t.Fatal(err)
			}
			if _, err := c.WaitForEvent(testCtx(t, 20*time.Second), after, func(e TapEvent) bool {
				return e.Kind == TapExecutorCall && e.Type == "SUBSCRIBE"
			}); err != nil {
				t.Fatal(err)
			}
			if _, err := agent.WaitRegistered(testCtx(t, 20*time.Second)); err != nil {
				t.Fatal(err)
			}
			if got := agent.ExecutorPIDs(); len(got) != 1 || got[0] != pid {
				t.Fatalf("example executor not adopted: %v (was %d)", got, pid)
			}
		})
	}
}

// S-8.3: pointed at a non-leading master, mesos-go's scheduler follows the
// 307 and subscribes at the leader. (httpsched v0.0.11 redirects only
// SUBSCRIBE: its later calls go to the standby again, get 307 and drop the
// subscription, as they would against a real non-leading Mesos master.)
func TestExampleSchedulerViaStandby(t *testing.T) {
	if testing.Short() {
		t.Skip("builds mesos-go's examples")
	}
	schedBin, execBin := exampleBinaries(t)
	c := startCluster(t, Config{AgentCount: 1, Standbys: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, schedBin, "-url", c.StandbyURLs()[0]+"/api/v1/scheduler", "-executor", execBin,
		"-server.address", "127.0.0.1", "-metrics.port", "0", "-codec", "json")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		_ = cmd.Wait()
	}()
	if _, err := c.WaitForEvent(testCtx(t, 30*time.Second), 0, func(e TapEvent) bool {
		return e.Kind == TapSchedulerEvent && e.Type == "SUBSCRIBED" && e.Delivered
	}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
}
