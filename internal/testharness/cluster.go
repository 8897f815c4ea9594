package testharness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/internal/localcluster"
	"github.com/arangomesos/arangomesos/node/cluster"
)

// ClusterOptions describe a cluster of real node processes on loopback.
type ClusterOptions struct {
	// Agents is the Agency size (default 3).
	Agents int
	// NoAuth runs the cluster without a JWT secret.
	NoAuth bool
	// AgentArgs are extra flags for every agent.
	AgentArgs []string
	// DBServers and Coordinators are how many of each to start (default
	// none); StartCluster returns once all are registered and serving.
	DBServers    int
	Coordinators int
	// RootPassword is the coordinators' root password (default "test").
	RootPassword string
	// DBServerArgs and CoordinatorArgs are extra flags for those roles.
	DBServerArgs    []string
	CoordinatorArgs []string
	// Profile serves Go's profiles on every node (ARANGOMESOS_PPROF), at
	// the address in its Node.Pprof.
	Profile bool
}

// Cluster is a cluster of real arangomesos node processes started by a test.
type Cluster struct {
	t          testing.TB
	bin        string
	SecretFile string
	Secret     cluster.Secret
	Agents     []*Node
	agentArgs  []string

	// DBServers and Coordinators are the data plane's processes.
	DBServers    []*Node
	Coordinators []*Node
	RootPassword string
	opts         ClusterOptions
}

// Node is one node process of a Cluster.
type Node struct {
	*Process
	ID       string
	Endpoint string // tcp://127.0.0.1:port
	Dir      string
	// Pprof is the host:port of the node's profiler (ClusterOptions.Profile).
	Pprof string
}

// StartCluster builds the binary (once) and starts the cluster's processes;
// it returns once the Agency has a leader. Every process is killed when the
// test ends.
func StartCluster(t testing.TB, opts ClusterOptions) *Cluster {
	t.Helper()
	if opts.Agents == 0 {
		opts.Agents = 3
	}
	c := &Cluster{t: t, bin: Binary(t), agentArgs: opts.AgentArgs, opts: opts}
	if !opts.NoAuth {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		c.Secret = cluster.Secret(hex.EncodeToString(b))
		c.SecretFile = filepath.Join(t.TempDir(), "secret")
		if err := os.WriteFile(c.SecretFile, c.Secret, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < opts.Agents; i++ {
		c.Agents = append(c.Agents, &Node{
			ID:       fmt.Sprintf("AGNT-%04d", i+1),
			Endpoint: fmt.Sprintf("tcp://127.0.0.1:%d", FreePort(t)),
			Dir:      t.TempDir(),
		})
	}
	peers := c.AgentEndpoints()
	for _, a := range c.Agents {
		a.Process = StartProcess(t, strings.ToLower(a.ID), c.bin, c.agentFlags(a, peers, opts.Agents), c.profileEnv(a)...)
	}
	c.WaitAgencyLeader()
	c.startDataPlane()
	return c
}

func (c *Cluster) agentFlags(a *Node, peers []string, size int) []string {
	return localcluster.NodeArgs(localcluster.NodeSpec{Role: cluster.RoleAgent, ID: a.ID, Endpoint: a.Endpoint,
		DataDir: a.Dir, Agency: peers, AgencySize: size, SecretFile: c.SecretFile,
		ElectionTimeout: 500 * time.Millisecond, LogLevel: "info", Extra: c.agentArgs})
}

// AgentEndpoints returns the endpoints of the cluster's agents.
func (c *Cluster) AgentEndpoints() []string {
	var eps []string
	for _, a := range c.Agents {
		eps = append(eps, a.Endpoint)
	}
	return eps
}

// Tokens signs requests as a cluster-internal server.
func (c *Cluster) Tokens() *cluster.TokenSource {
	return &cluster.TokenSource{Secret: c.Secret, ServerID: "CRDN-testharness"}
}

// AgencyClient returns a client for all agents.
func (c *Cluster) AgencyClient() *cluster.AgencyClient {
	cl, err := cluster.NewAgencyClient(c.AgentEndpoints(), c.Tokens())
	if err != nil {
		c.t.Fatal(err)
	}
	return cl
}

// AgentConfig asks one agent for its config.
func (c *Cluster) AgentConfig(a *Node) (cluster.AgencyConfig, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return c.AgencyClient().Config(ctx, a.Endpoint)
}

// WaitAgencyLeader waits until a running agent leads (and is ready), and
// returns it.
func (c *Cluster) WaitAgencyLeader() *Node {
	c.t.Helper()
	var leader *Node
	Eventually(c.t, 60*time.Second, func() error {
		for _, a := range c.Agents {
			if !a.Running() {
				continue
			}
			if conf, err := c.AgentConfig(a); err == nil && conf.Raft.Leading {
				leader = a
				return nil
			}
		}
		return errors.New("no agent leads")
	})
	return leader
}

// profileEnv gives n a profiler address when the cluster profiles.
func (c *Cluster) profileEnv(n *Node) []string {
	if !c.opts.Profile {
		return nil
	}
	n.Pprof = fmt.Sprintf("127.0.0.1:%d", FreePort(c.t))
	return []string{"ARANGOMESOS_PPROF=" + n.Pprof}
}

// AddAgent starts a fresh agent with a new id that knows the cluster's
// endpoints; the Agency does not list it, so it waits to be added.
func (c *Cluster) AddAgent(id string) *Node {
	c.t.Helper()
	a := &Node{ID: id, Endpoint: fmt.Sprintf("tcp://127.0.0.1:%d", FreePort(c.t)), Dir: c.t.TempDir()}
	peers := append(c.AgentEndpoints(), a.Endpoint)
	size := len(c.Agents)
	if size%2 == 0 {
		size--
	}
	c.Agents = append(c.Agents, a)
	a.Process = StartProcess(c.t, strings.ToLower(a.ID), c.bin, c.agentFlags(a, peers, size))
	return a
}
