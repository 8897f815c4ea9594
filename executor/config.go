package executor

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/mesos/mesos-go/api/v1/lib/executor/config"
)

// Config is what the executor runs with: the Mesos environment the agent
// set (MESOS_FRAMEWORK_ID, MESOS_EXECUTOR_ID, MESOS_SANDBOX,
// MESOS_AGENT_ENDPOINT, MESOS_CHECKPOINT, the grace and recovery durations)
// and where the node binary and its output go.
type Config struct {
	config.Config
	// NodeBinary is the arangomesos binary that runs the node: by default
	// the executor's own (the binary Mesos fetched into the sandbox);
	// ARANGOMESOS_NODE_BINARY names another (relative to the sandbox, or
	// absolute), e.g. a build installed on the hosts.
	NodeBinary string
	// Stdout and Stderr take the node's output (default: the executor's,
	// which the agent points at the sandbox's stdout and stderr files).
	Stdout, Stderr io.Writer
}

// ConfigFromEnv reads the Mesos executor environment. It fails with
// ErrEnv, naming every missing or malformed variable, when the process was
// not started by a Mesos agent.
func ConfigFromEnv() (Config, error) {
	mc, err := config.FromEnv()
	if err != nil {
		return Config{}, fmt.Errorf("%w: %v (arangomesos executor must be started by a Mesos agent)", ErrEnv, err)
	}
	bin, err := os.Executable()
	if err != nil {
		return Config{}, fmt.Errorf("%w: cannot find the executor's own binary: %v", ErrEnv, err)
	}
	if nb := os.Getenv("ARANGOMESOS_NODE_BINARY"); nb != "" {
		bin = nb
		if !filepath.IsAbs(bin) {
			bin = filepath.Join(mc.Sandbox, bin)
		}
	}
	cfg := Config{Config: mc, NodeBinary: bin, Stdout: os.Stdout, Stderr: os.Stderr}
	return cfg, cfg.Validate()
}

// Validate checks the values the environment left to chance: an agent
// endpoint that is host:port, a sandbox that is a directory, durations
// that are positive.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.AgentEndpoint); err != nil {
		return fmt.Errorf("%w: MESOS_AGENT_ENDPOINT %q is not host:port", ErrEnv, c.AgentEndpoint)
	}
	if st, err := os.Stat(c.Sandbox); err != nil || !st.IsDir() {
		return fmt.Errorf("%w: MESOS_SANDBOX %q is not a directory", ErrEnv, c.Sandbox)
	}
	if c.ExecutorShutdownGracePeriod <= 0 {
		return fmt.Errorf("%w: MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD must be positive", ErrEnv)
	}
	if c.Checkpoint && (c.RecoveryTimeout <= 0 || c.SubscriptionBackoffMax <= 0) {
		return fmt.Errorf("%w: MESOS_RECOVERY_TIMEOUT and MESOS_SUBSCRIPTION_BACKOFF_MAX must be positive", ErrEnv)
	}
	if st, err := os.Stat(c.NodeBinary); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return fmt.Errorf("%w: node binary %q is not an executable file", ErrEnv, c.NodeBinary)
	}
	return nil
}

// backoff is the wait before the n-th (0-based) resubscription attempt:
// doubling from 500ms, at most MESOS_SUBSCRIPTION_BACKOFF_MAX, with ±20%
// jitter so executors on one agent do not resubscribe in lockstep.
func (c Config) backoff(n int, jitter float64) time.Duration {
	d := 500 * time.Millisecond
	for i := 0; i < n && d < c.SubscriptionBackoffMax; i++ {
		d *= 2
	}
	if c.SubscriptionBackoffMax > 0 {
		d = min(d, c.SubscriptionBackoffMax)
	}
	return time.Duration(float64(d) * (0.8 + 0.4*jitter))
}
