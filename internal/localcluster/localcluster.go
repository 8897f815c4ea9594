package localcluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// Config describes a local cluster.
type Config struct {
	// Binary is the arangomesos binary to start nodes with.
	Binary string
	// Dir holds the nodes' data, logs, the secret and the layout; a second
	// run with the same Dir resumes the same cluster on the same ports.
	Dir          string
	Agents       int
	DBServers    int
	Coordinators int
	// IP is the loopback address the nodes listen on.
	IP string
	// BasePort numbers the nodes like ArangoDB's starter: coordinator i on
	// BasePort+10i, DBServer i on BasePort+1+10i, agent i on BasePort+2+10i.
	// 0 picks free ports.
	BasePort int
	LogLevel string
}

// Layout is what a local cluster is made of; it is kept in Dir/local.json.
type Layout struct {
	Agents       []NodeSpec `json:"agents"`
	DBServers    []NodeSpec `json:"dbservers"`
	Coordinators []NodeSpec `json:"coordinators"`
	SecretFile   string     `json:"secret_file"`
	// AgencyToken is a superuser JWT for talking to the agents with curl.
	AgencyToken string `json:"agency_token"`
	// CoordinatorURLs are where clients connect; RootPassword is the root
	// user's password (generated once, kept in RootPasswordFile).
	CoordinatorURLs  []string `json:"coordinator_urls"`
	RootPassword     string   `json:"root_password"`
	RootPasswordFile string   `json:"root_password_file"`
}

// Run starts the cluster (or resumes it from cfg.Dir), prints its endpoints
// to out, restarts nodes that die, and stops every node when ctx ends.
func Run(ctx context.Context, cfg Config, out io.Writer) error {
	if cfg.Agents < 1 || cfg.Agents%2 == 0 {
		return fmt.Errorf("localcluster: the agent count must be odd, got %d", cfg.Agents)
	}
	if cfg.IP == "" {
		cfg.IP = "127.0.0.1"
	}
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return fmt.Errorf("localcluster: %w", err)
	}
	lay, err := loadOrCreate(cfg)
	if err != nil {
		return err
	}
	secret, err := cluster.ReadSecretFile(lay.SecretFile)
	if err != nil {
		return err
	}
	if lay.AgencyToken, err = cluster.SuperuserToken(secret, "CRDN-local-admin"); err != nil {
		return err
	}
	if lay.RootPassword, err = rootPassword(lay.RootPasswordFile); err != nil {
		return err
	}
	lay.CoordinatorURLs = nil
	for _, c := range lay.Coordinators {
		lay.CoordinatorURLs = append(lay.CoordinatorURLs, httpURL(c.Endpoint))
	}
	if err := writeJSON(filepath.Join(cfg.Dir, "local.json"), lay); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(cfg.Dir, "token"), []byte(lay.AgencyToken+"\n"), 0o600); err != nil {
		return fmt.Errorf("localcluster: write token: %w", err)
	}
	var wg sync.WaitGroup
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	all := append(append(append([]NodeSpec(nil), lay.Agents...), lay.DBServers...), lay.Coordinators...)
	for _, spec := range all {
		wg.Add(1)
		go func(spec NodeSpec) {
			defer wg.Done()
			supervise(runCtx, cfg, spec)
		}(spec)
	}
	printLayout(out, cfg, lay)
	<-ctx.Done()
	stop()
	wg.Wait()
	fmt.Fprintln(out, "stopped every node")
	return nil
}

func loadOrCreate(cfg Config) (Layout, error) {
	var lay Layout
	path := filepath.Join(cfg.Dir, "local.json")
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &lay); err != nil {
			return lay, fmt.Errorf("localcluster: %s is corrupt: %w", path, err)
		}
		if len(lay.Agents) != cfg.Agents || len(lay.DBServers) > cfg.DBServers || len(lay.Coordinators) > cfg.Coordinators {
			return lay, fmt.Errorf("localcluster: %s holds a cluster of %d agents, %d DBServers and %d coordinators; use another --dir for another size",
				cfg.Dir, len(lay.Agents), len(lay.DBServers), len(lay.Coordinators))
		}
		// A directory of an earlier, smaller layout grows to the asked size.
		if err := grow(cfg, &lay); err != nil {
			return lay, err
		}
		return lay, nil
	}
	lay.SecretFile = filepath.Join(cfg.Dir, "secret")
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return lay, err
	}
	if err := os.WriteFile(lay.SecretFile, []byte(hex.EncodeToString(b)), 0o600); err != nil {
		return lay, fmt.Errorf("localcluster: write secret: %w", err)
	}
	mk := func(role cluster.Role, n int, name string, offset int) ([]NodeSpec, error) {
		var specs []NodeSpec
		for i := 1; i <= n; i++ {
			port, err := pickPort(cfg, offset+10*(i-1))
			if err != nil {
				return nil, err
			}
			specs = append(specs, NodeSpec{Role: role, Endpoint: fmt.Sprintf("tcp://%s:%d", cfg.IP, port),
				DataDir: filepath.Join(cfg.Dir, fmt.Sprintf("%s-%d", name, i)), SecretFile: lay.SecretFile, LogLevel: cfg.LogLevel})
		}
		return specs, nil
	}
	var err error
	if lay.Agents, err = mk(cluster.RoleAgent, cfg.Agents, "agent", 2); err != nil {
		return lay, err
	}
	var eps []string
	for _, a := range lay.Agents {
		eps = append(eps, a.Endpoint)
	}
	for i := range lay.Agents {
		lay.Agents[i].AgencySize = cfg.Agents
	}
	for i := range lay.Agents {
		lay.Agents[i].Agency = eps
	}
	return lay, grow(cfg, &lay)
}

// supervise runs one node until ctx ends, restarting it (after a short,
// growing pause) whenever it exits on its own.
func supervise(ctx context.Context, cfg Config, spec NodeSpec) {
	name := filepath.Base(spec.DataDir)
	logPath := spec.DataDir + ".log"
	pause := time.Second
	for ctx.Err() == nil {
		started := time.Now()
		err := runOnce(ctx, cfg.Binary, NodeArgs(spec), logPath)
		if ctx.Err() != nil {
			return
		}
		slog.Warn("node exited; restarting", "node", name, "err", err, "log", logPath)
		if time.Since(started) > time.Minute {
			pause = time.Second
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(pause*2, 30*time.Second)
	}
}

// runOnce runs the node until it exits or ctx ends; then it sends SIGTERM
// and, after 10 s, SIGKILL to its process group.
func runOnce(ctx context.Context, bin string, args []string, logPath string) error {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	defer f.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			return errors.Join(errors.New("killed after 10 s"), <-done)
		}
	}
}

// grow adds the DBServers and coordinators a layout lacks (all of them for
// a new one), and gives coordinators the root password file.
func grow(cfg Config, lay *Layout) error {
	if lay.RootPasswordFile == "" {
		lay.RootPasswordFile = filepath.Join(cfg.Dir, "root-password")
	}
	var eps []string
	for _, a := range lay.Agents {
		eps = append(eps, a.Endpoint)
	}
	add := func(specs []NodeSpec, role cluster.Role, n int, name string, offset int) ([]NodeSpec, error) {
		for i := len(specs) + 1; i <= n; i++ {
			port, err := pickPort(cfg, offset+10*(i-1))
			if err != nil {
				return nil, err
			}
			specs = append(specs, NodeSpec{Role: role, Endpoint: fmt.Sprintf("tcp://%s:%d", cfg.IP, port), Agency: eps,
				DataDir: filepath.Join(cfg.Dir, fmt.Sprintf("%s-%d", name, i)), SecretFile: lay.SecretFile, LogLevel: cfg.LogLevel})
		}
		return specs, nil
	}
	var err error
	if lay.DBServers, err = add(lay.DBServers, cluster.RoleDBServer, cfg.DBServers, "dbserver", 1); err != nil {
		return err
	}
	if lay.Coordinators, err = add(lay.Coordinators, cluster.RoleCoordinator, cfg.Coordinators, "coordinator", 0); err != nil {
		return err
	}
	for i := range lay.Coordinators {
		lay.Coordinators[i].RootPasswordFile = lay.RootPasswordFile
	}
	return nil
}

// rootPassword reads the root password from path, creating a random one
// the first time.
func rootPassword(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	pw := hex.EncodeToString(b)
	if err := os.WriteFile(path, []byte(pw+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("localcluster: write root password: %w", err)
	}
	return pw, nil
}

func printLayout(out io.Writer, cfg Config, lay Layout) {
	fmt.Fprintf(out, "local cluster in %s (logs: %s/*.log)\n", cfg.Dir, cfg.Dir)
	for _, a := range lay.Agents {
		fmt.Fprintf(out, "  agent        %s\n", httpURL(a.Endpoint))
	}
	for _, d := range lay.DBServers {
		fmt.Fprintf(out, "  dbserver     %s\n", httpURL(d.Endpoint))
	}
	for _, c := range lay.Coordinators {
		fmt.Fprintf(out, "  coordinator  %s\n", httpURL(c.Endpoint))
	}
	fmt.Fprintf(out, "clients connect to the coordinators: %s\n", strings.Join(lay.CoordinatorURLs, " "))
	fmt.Fprintf(out, "  user root, password %s (kept in %s)\n", lay.RootPassword, lay.RootPasswordFile)
	fmt.Fprintf(out, "agency token (cluster-internal, for curl):\n  export TOKEN=$(cat %s)\n", filepath.Join(cfg.Dir, "token"))
	fmt.Fprintf(out, "the same as JSON: %s\nCtrl-C stops every node.\n", filepath.Join(cfg.Dir, "local.json"))
}

func httpURL(ep string) string {
	u, err := cluster.BaseURL(ep)
	if err != nil {
		return ep
	}
	return u
}

// pickPort returns BasePort+offset if it is free, or any free port when
// BasePort is 0.
func pickPort(cfg Config, offset int) (int, error) {
	port := 0
	if cfg.BasePort > 0 {
		port = cfg.BasePort + offset
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.IP, fmt.Sprint(port)))
	if err != nil {
		return 0, fmt.Errorf("localcluster: port %d is taken (try --base-port 0 for free ports): %w", port, err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o640)
}
