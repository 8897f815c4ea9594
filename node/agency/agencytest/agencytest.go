// Package agencytest runs an in-process Agency on loopback TCP for tests of
// this and other packages: real Raft, real raft-boltdb files, real HTTP, no
// child processes. Agents can be stopped and restarted on the same port and
// data directory.
package agencytest

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/internal/testharness"
	"github.com/arangomesos/arangomesos/node/agency"
	"github.com/arangomesos/arangomesos/node/arangohttp"
	"github.com/arangomesos/arangomesos/node/cluster"
)

// FastTiming makes elections quick enough for tests yet stable on a busy
// two-core machine.
var FastTiming = agency.Timing{ElectionTimeout: 400 * time.Millisecond, LeaderLease: 200 * time.Millisecond,
	ExpiryInterval: 100 * time.Millisecond}

// Options tune a test cluster.
type Options struct {
	Secret cluster.Secret
	Timing agency.Timing
	// SnapshotThreshold, when set, makes agents snapshot and compact often.
	SnapshotThreshold uint64
}

// Cluster is an in-process Agency.
type Cluster struct {
	t      testing.TB
	opts   Options
	Agents []*Agent
}

// Agent is one agent of a Cluster.
type Agent struct {
	ID       string
	Endpoint string // tcp://127.0.0.1:port
	Dir      string

	c     *Cluster
	mu    sync.Mutex
	agent *agency.Agent
	srv   *http.Server
}

// New starts an Agency of n agents and waits until it has a ready leader.
// Everything is stopped when the test ends.
func New(t testing.TB, n int, opts Options) *Cluster {
	t.Helper()
	if opts.Timing == (agency.Timing{}) {
		opts.Timing = FastTiming
	}
	if opts.SnapshotThreshold > 0 {
		opts.Timing.SnapshotThreshold = opts.SnapshotThreshold
		opts.Timing.TrailingLogs = opts.SnapshotThreshold
		opts.Timing.SnapshotInterval = 200 * time.Millisecond
	}
	c := &Cluster{t: t, opts: opts}
	for i := 0; i < n; i++ {
		c.Agents = append(c.Agents, &Agent{
			ID:       fmt.Sprintf("AGNT-test%04d", i+1),
			Endpoint: fmt.Sprintf("tcp://127.0.0.1:%d", testharness.FreePort(t)),
			Dir:      t.TempDir(), c: c,
		})
	}
	for _, a := range c.Agents {
		a.Start()
	}
	t.Cleanup(func() {
		for _, a := range c.Agents {
			a.Stop()
		}
	})
	c.WaitLeader()
	return c
}

// Peers returns all agents' endpoints.
func (c *Cluster) Peers() []string {
	var eps []string
	for _, a := range c.Agents {
		eps = append(eps, a.Endpoint)
	}
	return eps
}

// Start starts (or restarts) the agent on its port and data directory.
func (a *Agent) Start() {
	a.c.t.Helper()
	a.StartWith(a.c.Peers(), len(a.c.Agents))
}

// StartWith starts the agent with the given peers and size (for agents that
// join an existing Agency).
func (a *Agent) StartWith(peers []string, size int) {
	t := a.c.t
	t.Helper()
	hp, _ := agency.HostPort(a.Endpoint)
	var ln net.Listener
	testharness.Eventually(t, 10*time.Second, func() (err error) {
		ln, err = net.Listen("tcp", hp)
		return err
	})
	// AGENCYTEST_VERBOSE=1 shows the agents' and Raft's logs.
	level, raftLog := slog.LevelWarn, io.Discard
	if os.Getenv("AGENCYTEST_VERBOSE") != "" {
		level, raftLog = slog.LevelDebug, io.Writer(os.Stderr)
	}
	ag, err := agency.Start(agency.Config{ID: a.ID, Endpoint: a.Endpoint, Listener: ln, Peers: peers, Size: size,
		DataDir: a.Dir, Secret: a.c.opts.Secret, Timing: a.c.opts.Timing, RaftLog: raftLog,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))})
	if err != nil {
		t.Fatalf("start agent %s: %v", a.ID, err)
	}
	srv := &http.Server{Handler: arangohttp.RequireSuperuser(a.c.opts.Secret, ag.Handler())}
	go func() { _ = srv.Serve(ag.HTTPListener()) }()
	a.mu.Lock()
	a.agent, a.srv = ag, srv
	a.mu.Unlock()
}

// Stop stops the agent (like a clean shutdown; its data stays).
func (a *Agent) Stop() {
	a.mu.Lock()
	ag, srv := a.agent, a.srv
	a.agent, a.srv = nil, nil
	a.mu.Unlock()
	if ag == nil {
		return
	}
	srv.Close()
	_ = ag.Close()
}

// Running reports whether the agent runs.
func (a *Agent) Running() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.agent != nil
}

// Agency returns the running agency.Agent, or nil.
func (a *Agent) Agency() *agency.Agent {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.agent
}

// WaitLeader waits until a running agent is the ready leader and returns it.
func (c *Cluster) WaitLeader() *Agent {
	c.t.Helper()
	var leader *Agent
	testharness.Eventually(c.t, 20*time.Second, func() error {
		for _, a := range c.Agents {
			if ag := a.Agency(); ag != nil && ag.IsLeader() {
				leader = a
				return nil
			}
		}
		return errors.New("no ready leader")
	})
	return leader
}

// Followers returns the running agents that are not the leader.
func (c *Cluster) Followers() []*Agent {
	var fs []*Agent
	for _, a := range c.Agents {
		if ag := a.Agency(); ag != nil && !ag.IsLeader() {
			fs = append(fs, a)
		}
	}
	return fs
}

// Client returns an Agency client for all agents, signing with the
// cluster's secret.
func (c *Cluster) Client() *cluster.AgencyClient {
	c.t.Helper()
	cl, err := cluster.NewAgencyClient(c.Peers(), &cluster.TokenSource{Secret: c.opts.Secret, ServerID: "CRDN-agencytest"})
	if err != nil {
		c.t.Fatal(err)
	}
	return cl
}

// AddAgent starts a new agent with the given id that knows the cluster's
// endpoints. The Agency it finds does not list it, so it waits to be added
// (see agency.Agent.ChangeMembership). It is stopped when the test ends.
func (c *Cluster) AddAgent(id string) *Agent {
	c.t.Helper()
	a := &Agent{ID: id, Endpoint: fmt.Sprintf("tcp://127.0.0.1:%d", testharness.FreePort(c.t)), Dir: c.t.TempDir(), c: c}
	peers := append(c.Peers(), a.Endpoint)
	size := len(c.Agents)
	c.Agents = append(c.Agents, a)
	a.StartWith(peers, size)
	return a
}
