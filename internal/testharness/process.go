package testharness

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Process is a real child process started by a test: in its own process
// group, with its output in a log file in the test's temp dir. The test that
// starts it stops it (Cleanup); when the test failed, the tail of its log is
// printed.
type Process struct {
	Name string
	Args []string
	Env  []string
	Log  string

	t       testing.TB
	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	exitErr error
	starts  int
}

// StartProcess starts path with args (and extra environment entries).
func StartProcess(t testing.TB, name, path string, args []string, env ...string) *Process {
	t.Helper()
	p := &Process{Name: name, Args: append([]string{path}, args...), Env: env, t: t,
		Log: filepath.Join(t.TempDir(), name+".log")}
	if err := p.start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("--- last lines of %s (%s) ---\n%s", name, p.Log, p.Tail(40))
		}
	})
	return p
}

func (p *Process) start() error {
	f, err := os.OpenFile(p.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	p.starts++
	fmt.Fprintf(f, "=== start %d: %s\n", p.starts, strings.Join(p.Args, " "))
	cmd := exec.Command(p.Args[0], p.Args[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), p.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return err
	}
	done := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.done, p.exitErr = cmd, done, nil
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		f.Close()
		p.mu.Lock()
		p.exitErr = err
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

// Pid returns the process id of the current run.
func (p *Process) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd.Process.Pid
}

// Running reports whether the current run has not exited.
func (p *Process) Running() bool {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// Signal sends sig to the process group.
func (p *Process) Signal(sig syscall.Signal) {
	p.mu.Lock()
	pid := p.cmd.Process.Pid
	p.mu.Unlock()
	_ = syscall.Kill(-pid, sig)
}

// Kill sends SIGKILL to the process group (kill -9) and waits for the exit.
func (p *Process) Kill() {
	if !p.Running() {
		return
	}
	p.Signal(syscall.SIGCONT)
	p.Signal(syscall.SIGKILL)
	p.Wait(10 * time.Second)
}

// Stop sends SIGTERM, waits up to grace, then kills.
func (p *Process) Stop(grace time.Duration) {
	if !p.Running() {
		return
	}
	p.Signal(syscall.SIGCONT)
	p.Signal(syscall.SIGTERM)
	if !p.Wait(grace) {
		p.Kill()
	}
}

// Pause stops the process (SIGSTOP): a hung process, not a dead one.
func (p *Process) Pause() { p.Signal(syscall.SIGSTOP) }

// Resume continues a paused process (SIGCONT).
func (p *Process) Resume() { p.Signal(syscall.SIGCONT) }

// Wait waits up to timeout for the current run to exit; it reports whether
// it did.
func (p *Process) Wait(timeout time.Duration) bool {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	select {
	case <-done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// ExitError returns the exit error of the last run (nil while running or
// after a clean exit).
func (p *Process) ExitError() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exitErr
}

// Restart starts the process again with the same arguments; the previous
// run must have exited.
func (p *Process) Restart() {
	p.t.Helper()
	if p.Running() {
		p.t.Fatalf("restart %s: still running", p.Name)
	}
	if err := p.start(); err != nil {
		p.t.Fatalf("restart %s: %v", p.Name, err)
	}
}

// Tail returns the last n lines of the process's log.
func (p *Process) Tail(n int) string {
	b, err := os.ReadFile(p.Log)
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
