package testharness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/mesoslocal"
)

// MesosTimers are mesoslocal timers for tests: quick allocation, refusals
// and status-update retries, and agent-loss detection in about 3 s, still
// slow enough that a loaded machine does not trip it by accident.
func MesosTimers() mesoslocal.Timers {
	return mesoslocal.Timers{
		Heartbeat: 2 * time.Second, AllocationInterval: 100 * time.Millisecond, RefuseDefault: 500 * time.Millisecond,
		AgentPingTimeout: 500 * time.Millisecond, MaxAgentPingTimeouts: 6, AgentReregisterTimeout: 3 * time.Second,
		ExecutorRegistrationTimeout: 30 * time.Second, ExecutorShutdownGracePeriod: 5 * time.Second,
		ExecutorReregistrationTimeout: 3 * time.Second, RecoveryTimeout: time.Minute,
		StatusUpdateRetryMin: 500 * time.Millisecond, StatusUpdateRetryMax: 3 * time.Second,
	}
}

// StartMesos starts mesoslocal for a test, in the test's temporary
// directory unless cfg names one, with MesosTimers unless cfg sets timers,
// and three agents unless cfg says otherwise. Its agents get addresses of
// their own (AgentAddressBlock) unless cfg names a base address. When the test ends it closes
// the cluster and fails the test if any process is left running under the
// work directory (killing it, so nothing outlives the test).
func StartMesos(t testing.TB, cfg mesoslocal.Config) *mesoslocal.Cluster {
	t.Helper()
	if cfg.WorkDir == "" {
		cfg.WorkDir = filepath.Join(t.TempDir(), "mesos")
	}
	if cfg.Timers == (mesoslocal.Timers{}) {
		cfg.Timers = MesosTimers()
	}
	if cfg.AgentCount == 0 && len(cfg.Agents) == 0 {
		cfg.AgentCount = 3
	}
	if cfg.AgentBaseIP == "" {
		cfg.AgentBaseIP = AgentAddressBlock(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	mc, err := mesoslocal.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("start mesoslocal: %v", err)
	}
	work := cfg.WorkDir
	t.Cleanup(func() {
		if err := mc.Close(); err != nil {
			t.Errorf("close mesoslocal: %v", err)
		}
		// The nodes die with their executors (their parent-death signal),
		// a moment after them.
		var left []string
		_ = Poll(context.Background(), 10*time.Second, func() error {
			if left = ProcessesUnder(work); len(left) > 0 {
				return fmt.Errorf("%d left", len(left))
			}
			return nil
		})
		if len(left) > 0 {
			t.Errorf("processes left running under %s:\n%s", work, strings.Join(left, "\n"))
			KillProcesses(left)
		}
	})
	return mc
}

// ProcessesUnder lists the live processes (other than this one; zombies
// excluded) whose working directory is dir or below it, as "pid command
// line", sorted.
func ProcessesUnder(dir string) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if err == nil && (cwd == dir || strings.HasPrefix(cwd, dir+"/")) && !zombie(e.Name()) {
			cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			out = append(out, fmt.Sprintf("%d %s", pid, strings.ReplaceAll(string(cmdline), "\x00", " ")))
		}
	}
	sort.Strings(out)
	return out
}

// KillProcesses SIGKILLs the processes ProcessesUnder listed; a test calls
// it after reporting them, so that nothing outlives it.
func KillProcesses(lines []string) {
	for _, l := range lines {
		if pid, err := strconv.Atoi(strings.Fields(l)[0]); err == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// zombie says whether process pid has exited and waits to be reaped.
func zombie(pid string) bool {
	b, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
	if err != nil {
		return true // gone
	}
	s := string(b)
	i := strings.LastIndex(s, ")")
	return i < 0 || i+3 > len(s) || s[i+2] == 'Z' || s[i+2] == 'X'
}
