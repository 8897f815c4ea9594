package mesoslocal

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"
)

// Cluster is a running master with its agents. Create it with Start, stop
// it with Close.
type Cluster struct {
	cfg     Config
	workDir string
	tempDir bool
	tap     *tap
	master  *master
	srv     *http.Server
	url     string
	standby []*http.Server
	sbURLs  []string

	mu     sync.Mutex
	agents []*agent
	closed bool
}

// Start starts a master and the configured agents and waits until every
// agent is registered. It fails with ErrBadConfig for a bad configuration,
// or with the listener's error. Close the cluster when done.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Cluster{cfg: cfg, tap: newTap()}
	if cfg.WorkDir == "" {
		d, err := os.MkdirTemp("", "mesoslocal-")
		if err != nil {
			return nil, fmt.Errorf("mesoslocal: work dir: %w", err)
		}
		c.workDir, c.tempDir = d, true
	} else {
		if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
			return nil, fmt.Errorf("mesoslocal: work dir: %w", err)
		}
		c.workDir = cfg.WorkDir
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		c.removeWorkDir()
		return nil, fmt.Errorf("mesoslocal: master listen %s: %w", cfg.Listen, err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	ip := addr.IP.String()
	if addr.IP.IsUnspecified() {
		ip = "127.0.0.1"
	}
	c.master = newMaster(cfg, c.tap, ip, addr.Port)
	c.url = "http://" + net.JoinHostPort(ip, strconv.Itoa(addr.Port))
	c.srv = &http.Server{Handler: c.handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = c.srv.Serve(ln) }()
	c.master.run()
	c.cfg.Logger.Info("mesoslocal master started", "url", c.url, "id", cfg.MasterID)
	for i := 0; i < cfg.Standbys; i++ {
		sln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("mesoslocal: standby master listen: %w", err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(c.master.serveStandby), ReadHeaderTimeout: 10 * time.Second}
		c.standby = append(c.standby, srv)
		c.sbURLs = append(c.sbURLs, "http://"+sln.Addr().String())
		go func() { _ = srv.Serve(sln) }()
	}
	for _, spec := range cfg.Agents {
		if _, err := c.addAgent(spec); err != nil {
			c.Close()
			return nil, err
		}
	}
	for _, a := range c.agentList() {
		if err := a.waitRegistered(ctx); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

func (c *Cluster) addAgent(spec AgentSpec) (*agent, error) {
	a, err := newAgent(c, spec)
	if err != nil {
		return nil, err
	}
	if err := a.start(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.agents = append(c.agents, a)
	c.mu.Unlock()
	c.cfg.Logger.Info("mesoslocal agent started", "agent", spec.Name, "endpoint", a.endpoint())
	return a, nil
}

// AddAgent starts one more agent and waits until it is registered. Empty
// fields of spec take the defaults of the next agent index. It fails with
// ErrBadConfig for a bad spec or a duplicate name, ErrClosed after Close.
func (c *Cluster) AddAgent(ctx context.Context, spec AgentSpec) (*Agent, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	n := len(c.agents)
	for _, a := range c.agents {
		if spec.Name != "" && a.name == spec.Name {
			c.mu.Unlock()
			return nil, fmt.Errorf("%w: duplicate agent name %q", ErrBadConfig, spec.Name)
		}
	}
	c.mu.Unlock()
	base := net.ParseIP(c.cfg.AgentBaseIP).To4()
	spec, err := spec.withDefaults(n, max(n+1, len(c.cfg.Agents)), base, c.cfg.AgentResources)
	if err != nil {
		return nil, err
	}
	a, err := c.addAgent(spec)
	if err != nil {
		return nil, err
	}
	if err := a.waitRegistered(ctx); err != nil {
		return nil, err
	}
	return &Agent{a: a}, nil
}

func (c *Cluster) agentList() []*agent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*agent(nil), c.agents...)
}

// MasterURL is the master's base URL, e.g. http://127.0.0.1:5050; the
// scheduler endpoint is MasterURL()+"/api/v1/scheduler".
func (c *Cluster) MasterURL() string { return c.url }

// StandbyURLs are the base URLs of the non-leading masters (Config.Standbys).
func (c *Cluster) StandbyURLs() []string { return append([]string(nil), c.sbURLs...) }

// WorkDir is the directory holding every agent's work directory.
func (c *Cluster) WorkDir() string { return c.workDir }

// Agents returns handles of all agents in start order.
func (c *Cluster) Agents() []*Agent {
	var out []*Agent
	for _, a := range c.agentList() {
		out = append(out, &Agent{a: a})
	}
	return out
}

// Agent returns the agent with the given name, or nil.
func (c *Cluster) Agent(name string) *Agent {
	for _, a := range c.agentList() {
		if a.name == name {
			return &Agent{a: a}
		}
	}
	return nil
}

// agentByNameOrID finds an agent by name or current id.
func (c *Cluster) agentByNameOrID(s string) *agent {
	for _, a := range c.agentList() {
		a.mu.Lock()
		id := a.id
		a.mu.Unlock()
		if a.name == s || id == s {
			return a
		}
	}
	return nil
}

// Close stops the master and every agent: streams are closed, every
// executor process group is killed and waited for, and a temporary work
// directory is removed unless KeepWorkDir is set. Close is idempotent.
func (c *Cluster) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	agents := append([]*agent(nil), c.agents...)
	c.mu.Unlock()
	c.master.shutdown()
	var dones []chan struct{}
	for _, a := range agents {
		a.mu.Lock()
		for _, e := range a.sortedExecutorsLocked() {
			if e.pid > 0 {
				dones = append(dones, e.done)
			}
		}
		a.mu.Unlock()
		a.close()
	}
	timeout := time.After(10 * time.Second)
	var errs []error
	for _, d := range dones {
		select {
		case <-d:
		case <-timeout:
			errs = append(errs, errors.New("mesoslocal: an executor did not exit after SIGKILL"))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = c.srv.Shutdown(ctx)
	_ = c.srv.Close()
	for _, srv := range c.standby {
		_ = srv.Close()
	}
	if !c.cfg.KeepWorkDir {
		if err := c.removeWorkDir(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (c *Cluster) removeWorkDir() error {
	if c.tempDir {
		if err := os.RemoveAll(c.workDir); err != nil {
			return fmt.Errorf("mesoslocal: remove work dir: %w", err)
		}
	}
	return nil
}

// Agent is a handle on one agent for fault injection.
type Agent struct{ a *agent }

// Name is the agent's name.
func (h *Agent) Name() string { return h.a.name }

// ID is the agent's current id ("" while it is not registered).
func (h *Agent) ID() string {
	h.a.mu.Lock()
	defer h.a.mu.Unlock()
	return h.a.id
}

// Endpoint is the agent's ip:port (MESOS_AGENT_ENDPOINT of its executors).
func (h *Agent) Endpoint() string {
	h.a.mu.Lock()
	defer h.a.mu.Unlock()
	return h.a.endpoint()
}

// Hostname is the hostname the agent advertises in offers.
func (h *Agent) Hostname() string { return h.a.spec.Hostname }

// WorkDir is the agent's work directory (sandboxes under slaves/, volumes
// under volumes/roles/).
func (h *Agent) WorkDir() string { return h.a.workDir }

// Link reports the link state: "connected", "partitioned" or "severed"
// (killed, or restarting).
func (h *Agent) Link() string {
	h.a.mu.Lock()
	defer h.a.mu.Unlock()
	if h.a.link == nil {
		return linkSevered.String()
	}
	return h.a.link.getMode().String()
}

// Kill models the death of the agent's host: executors are SIGKILLed, the
// master sees the connection close. It fails with ErrAgentState if the
// agent is already dead.
func (h *Agent) Kill() error { return h.a.kill() }

// Partition drops all messages between the agent and the master silently;
// the master notices through missed pings. It fails with ErrAgentState if
// the agent is not connected.
func (h *Agent) Partition() error { return h.a.partition() }

// Heal ends a partition: the agent reregisters with its id. It fails with
// ErrAgentState if the agent is not partitioned.
func (h *Agent) Heal() error { return h.a.heal() }

// Restart restarts the agent process on the same address and port:
// executors of checkpointing frameworks keep running and are adopted when
// they resubscribe; the agent keeps its id (also after Kill). It fails with
// ErrAgentState before the agent registered, or when the port cannot be
// bound again.
func (h *Agent) Restart() error { return h.a.restart() }

// Reboot models a host reboot: executors are killed and the agent comes
// back with a new id, keeping its reservations and volumes.
func (h *Agent) Reboot() error { return h.a.reboot() }

// MarkGone is the operator's MARK_AGENT_GONE for this agent's current id:
// its tasks become TASK_GONE_BY_OPERATOR (TASK_LOST for frameworks that are
// not PARTITION_AWARE), the agent shuts down, and that id can never
// reregister. It fails with ErrUnknownAgent when the master does not know
// the id.
func (h *Agent) MarkGone() error {
	id := h.ID()
	m := h.a.c.master
	m.mu.Lock()
	defer m.mu.Unlock()
	if id == "" || !m.markGoneLocked(id) {
		return fmt.Errorf("mark gone %s: %w", h.a.name, ErrUnknownAgent)
	}
	m.notifyLocked()
	return nil
}

// WaitRegistered blocks until the agent is registered (after Restart,
// Reboot or Heal) and returns its id.
func (h *Agent) WaitRegistered(ctx context.Context) (string, error) {
	for {
		h.a.mu.Lock()
		ok, id, ch := h.a.registered && h.a.id != "" && h.a.run == agentRunning, h.a.id, h.a.changed
		h.a.mu.Unlock()
		if ok {
			return id, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return "", fmt.Errorf("agent %s: waiting for registration: %w", h.a.name, ctx.Err())
		}
	}
}

// ExecutorPIDs returns the process ids (= process group ids) of the
// agent's live executors.
func (h *Agent) ExecutorPIDs() []int {
	h.a.mu.Lock()
	defer h.a.mu.Unlock()
	var out []int
	for _, e := range h.a.sortedExecutorsLocked() {
		if e.pid > 0 && !e.exited {
			out = append(out, e.pid)
		}
	}
	sort.Ints(out)
	return out
}

// Sandbox returns the sandbox directory of a framework's executor on this
// agent, "" if there is none.
func (h *Agent) Sandbox(frameworkID, executorID string) string {
	h.a.mu.Lock()
	defer h.a.mu.Unlock()
	if fw := h.a.frameworks[frameworkID]; fw != nil {
		if e := fw.executors[executorID]; e != nil {
			return e.sandbox
		}
	}
	return ""
}
