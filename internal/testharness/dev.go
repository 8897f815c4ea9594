package testharness

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Dev is a running `arangomesos dev` (the real binary, as `make run` starts
// it): its process, its directory and what it wrote to dev.json.
type Dev struct {
	Process *Process
	Dir     string
	Listen  string
	Info    DevInfo
}

// DevInfo is what `arangomesos dev` writes to dev.json (devcluster.Info;
// read as JSON here, because the scheduler's own tests use this package
// and devcluster imports the scheduler).
type DevInfo struct {
	Scheduler    string   `json:"scheduler"`
	Token        string   `json:"token"`
	Coordinators []string `json:"coordinators"`
	RootPassword string   `json:"root_password"`
	Master       string   `json:"master"`
}

// StartDev starts `arangomesos dev` in a fresh directory, with agent
// addresses and a listen port of its own (tests run in parallel), plus
// args, and waits until its dev.json says the cluster serves. It fails the
// test when the process exits first or timeout passes. When the test ends
// the process gets Ctrl-C (SIGINT to its group, as a terminal sends it), and
// is killed if it has not exited a minute later.
func StartDev(t testing.TB, timeout time.Duration, args ...string) *Dev {
	t.Helper()
	d := &Dev{Dir: filepath.Join(t.TempDir(), "dev"), Listen: fmt.Sprintf("127.0.0.1:%d", FreePort(t))}
	d.Process = StartProcess(t, "dev", Binary(t), append([]string{"dev", "--dir", d.Dir, "--listen", d.Listen,
		"--agent-base-ip", AgentAddressBlock(t)}, args...))
	t.Cleanup(func() {
		if d.Process.Running() {
			d.Process.Signal(syscall.SIGINT)
			if !d.Process.Wait(time.Minute) {
				d.Process.Kill()
			}
		}
	})
	Eventually(t, timeout, func() error {
		if !d.Process.Running() {
			t.Fatalf("arangomesos dev exited: %v\n%s", d.Process.ExitError(), d.Process.Tail(30))
		}
		b, err := os.ReadFile(filepath.Join(d.Dir, "dev.json"))
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &d.Info)
	})
	return d
}
