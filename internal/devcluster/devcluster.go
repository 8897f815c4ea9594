// Package devcluster is `arangomesos dev`: the whole system on one machine.
// It starts mesoslocal (a Mesos master and agents in this process) and the
// scheduler, which deploys the default cluster through the custom executor
// as real child processes; it prints how to reach everything, writes the same
// to DIR/dev.json for scripts and tests, and on Ctrl-C stops everything it
// started and removes DIR.
package devcluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/arangomesos/arangomesos/mesoslocal"
	"github.com/arangomesos/arangomesos/scheduler"
)

// Config configures a development cluster.
type Config struct {
	// Agents is the number of Mesos agents (hosts).
	Agents int
	// AgentBaseIP is the first agent's loopback address (agent i gets
	// base+i); default mesoslocal's 127.0.1.1. Two dev clusters on one
	// machine need different ones.
	AgentBaseIP string
	// Listen is the scheduler's API and UI address.
	Listen string
	// Dir holds everything the cluster writes; it is removed on exit unless
	// Keep.
	Dir  string
	Keep bool
	// Scheduler overrides the scheduler's settings (counts, resources, …);
	// Master, StateDir and Listen are set by Run.
	Scheduler scheduler.Config
	Log       *slog.Logger
}

// Info is what dev.json holds.
type Info struct {
	Scheduler    string   `json:"scheduler"`
	Token        string   `json:"token"`
	Coordinators []string `json:"coordinators"`
	RootPassword string   `json:"root_password"`
	Master       string   `json:"master"`
}

// ErrDirInUse: another dev cluster runs in the directory.
var ErrDirInUse = errors.New("devcluster: the directory holds a running dev cluster")

// Run starts the cluster and blocks until ctx ends (then stops everything)
// or the scheduler fails. ready, when set, is called once with the cluster's
// info when it serves.
func Run(ctx context.Context, cfg Config, out io.Writer, ready func(Info)) error {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "dev.json")); err == nil {
		return fmt.Errorf("%w: %s (remove it if no dev cluster runs)", ErrDirInUse, dir)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("devcluster: %w", err)
	}
	if !cfg.Keep {
		defer os.RemoveAll(dir)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	mc, err := mesoslocal.Start(ctx, mesoslocal.Config{WorkDir: filepath.Join(dir, "mesos"), KeepWorkDir: true,
		AgentCount: cfg.Agents, AgentBaseIP: cfg.AgentBaseIP, Logger: cfg.Log.With("component", "mesoslocal")})
	if err != nil {
		return fmt.Errorf("devcluster: start mesoslocal: %w", err)
	}
	defer mc.Close()
	sc := cfg.Scheduler
	sc.Master, sc.StateDir, sc.Listen = mc.MasterURL(), filepath.Join(dir, "state"), cfg.Listen
	s, err := scheduler.New(ctx, sc, cfg.Log.With("component", "scheduler"))
	if err != nil {
		return err
	}
	runErr := make(chan error, 1)
	go func() { runErr <- s.Run(ctx) }()
	fmt.Fprintf(out, "mesoslocal: %s (%d agents)\nscheduler:  %s — deploying…\n", mc.MasterURL(), cfg.Agents, s.URL)
	announced := false
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			cancel()
			err := <-runErr
			fmt.Fprintln(out, "stopped the cluster, the scheduler and mesoslocal")
			return err
		case err := <-runErr:
			return err
		case <-t.C:
		}
		if announced || s.Status().Code != 200 {
			continue
		}
		st := s.State()
		info := Info{Scheduler: s.URL, Token: s.APIToken(), Coordinators: s.Endpoints().Coordinators,
			RootPassword: s.RootPassword(), Master: mc.MasterURL()}
		b, _ := json.MarshalIndent(info, "", "  ")
		if err := os.WriteFile(filepath.Join(dir, "dev.json"), append(b, '\n'), 0o600); err != nil {
			return fmt.Errorf("devcluster: write dev.json: %w", err)
		}
		fmt.Fprintf(out, "\nthe cluster serves (%d members):\n  web UI and REST API  %s\n  API token            %s\n", len(st.Members), info.Scheduler, info.Token)
		for _, c := range info.Coordinators {
			fmt.Fprintf(out, "  coordinator          %s\n", c)
		}
		fmt.Fprintf(out, "  database user        root / %s\n  the same as JSON     %s\nCtrl-C stops everything.\n", info.RootPassword, filepath.Join(dir, "dev.json"))
		announced = true
		if ready != nil {
			ready(info)
		}
	}
}
