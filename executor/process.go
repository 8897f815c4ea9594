package executor

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// nodeProcess is a database node the executor started: a child in its own
// process group, killed by the kernel if the executor dies (so no node
// outlives its executor), with its output copied to the executor's
// stdout/stderr (the sandbox files) and its last lines kept for the
// TASK_FAILED message.
type nodeProcess struct {
	cmd  *exec.Cmd
	pid  int
	tail *lineTail
	done chan struct{} // closed once the process is reaped

	state   *os.ProcessState
	waitErr error
}

// startNode starts path with args in dir. It returns once the process runs,
// or with the reason it could not start.
func startNode(path string, args []string, dir string, stdout, stderr io.Writer) (*nodeProcess, error) {
	p := &nodeProcess{tail: newLineTail(20, 4096), done: make(chan struct{})}
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	cmd.Stdout = io.MultiWriter(stdout, p.tail)
	cmd.Stderr = io.MultiWriter(stderr, p.tail)
	// Its own process group, so that signals reach the node (and anything it
	// starts) and not the executor; SIGKILL when the starting thread, and so
	// the executor, dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 2 * time.Second
	p.cmd = cmd
	started := make(chan error, 1)
	go func() {
		// Pdeathsig fires when the thread that forked exits: keep this
		// goroutine on its thread for the node's whole life.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			close(p.done)
			return
		}
		p.pid = cmd.Process.Pid
		started <- nil
		p.waitErr = cmd.Wait()
		p.state = cmd.ProcessState
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start node %s: %w", path, err)
	}
	return p, nil
}

// Done is closed when the node has exited and been reaped.
func (p *nodeProcess) Done() <-chan struct{} { return p.done }

// Signal sends sig to the node's process group; a group that is gone is
// not an error.
func (p *nodeProcess) Signal(sig syscall.Signal) error {
	if err := syscall.Kill(-p.pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal %v to node group %d: %w", sig, p.pid, err)
	}
	return nil
}

// ExitStatus describes how the node ended, e.g. "exited with status 1" or
// "killed by signal 9 (killed)"; valid after Done.
func (p *nodeProcess) ExitStatus() string {
	if p.state == nil {
		if p.waitErr != nil {
			return "ended: " + p.waitErr.Error()
		}
		return "ended"
	}
	if ws, ok := p.state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return fmt.Sprintf("killed by signal %d (%v)", int(ws.Signal()), ws.Signal())
	}
	return fmt.Sprintf("exited with status %d", p.state.ExitCode())
}

// CleanExit says whether the node exited on its own with status 0.
func (p *nodeProcess) CleanExit() bool { return p.state != nil && p.state.ExitCode() == 0 }

// Tail returns the node's last output lines.
func (p *nodeProcess) Tail() string { return p.tail.String() }

// lineTail keeps the last lines written to it, at most maxLines and about
// maxBytes; writers may be concurrent.
type lineTail struct {
	mu       sync.Mutex
	maxLines int
	maxBytes int
	lines    []string
	partial  []byte
}

func newLineTail(maxLines, maxBytes int) *lineTail {
	return &lineTail{maxLines: maxLines, maxBytes: maxBytes}
}

// Write implements io.Writer.
func (t *lineTail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			t.partial = append(t.partial, b...)
			if len(t.partial) > t.maxBytes {
				t.partial = t.partial[len(t.partial)-t.maxBytes:]
			}
			break
		}
		t.push(string(append(t.partial, b[:i]...)))
		t.partial = t.partial[:0]
		b = b[i+1:]
	}
	return n, nil
}

func (t *lineTail) push(line string) {
	if len(line) > t.maxBytes/4 {
		line = line[:t.maxBytes/4] + "…"
	}
	t.lines = append(t.lines, line)
	size := 0
	for _, l := range t.lines {
		size += len(l) + 1
	}
	for len(t.lines) > t.maxLines || (size > t.maxBytes && len(t.lines) > 1) {
		size -= len(t.lines[0]) + 1
		t.lines = t.lines[1:]
	}
}

// String returns the kept lines, oldest first.
func (t *lineTail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := strings.Join(t.lines, "\n")
	if len(t.partial) > 0 {
		if out != "" {
			out += "\n"
		}
		out += string(t.partial)
	}
	return out
}
