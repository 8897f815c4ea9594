package member

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/internal/testharness"
	"github.com/arangomesos/arangomesos/node/agency/agencytest"
	"github.com/arangomesos/arangomesos/node/cluster"
)

func TestRegisterHeartbeatLease(t *testing.T) {
	ag := agencytest.New(t, 1, agencytest.Options{})
	client := ag.Client()
	ctx := testharness.Context(t, time.Minute)
	cache := cluster.NewCache(client, slog.Default())
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go cache.Run(cctx)

	cfg := Config{ID: "PRMR-0001", Role: cluster.RoleDBServer, Endpoint: "tcp://127.0.0.1:1", Version: "3.11.0",
		HeartbeatInterval: 50 * time.Millisecond, LeaseDuration: time.Second}
	m, err := Register(ctx, cfg, client, cache, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	if m.ShortName != "DBServer0001" || m.RebootID != 1 {
		t.Fatalf("short name %q, rebootId %d", m.ShortName, m.RebootID)
	}
	var reg cluster.ServerRegistered
	if ok, _ := client.Get(ctx, cluster.Join(cluster.CurrentServersReg, "PRMR-0001"), &reg); !ok || reg.Endpoint != cfg.Endpoint {
		t.Fatalf("not in Current/ServersRegistered: %+v", reg)
	}
	if ok, _ := client.Get(ctx, cluster.Join(cluster.PlanDBServers, "PRMR-0001"), nil); !ok {
		t.Fatal("not in Plan/DBServers")
	}
	testharness.Eventually(t, 10*time.Second, func() error {
		if !m.HasLease() {
			return errors.New("no lease after an acknowledged heartbeat")
		}
		return nil
	})
	// Without heartbeats the lease runs out.
	testharness.Eventually(t, 10*time.Second, func() error {
		if m.HasLease() {
			return errors.New("lease still held without heartbeats")
		}
		return nil
	})
	// Heartbeats renew it.
	go m.Run(cctx)
	testharness.Eventually(t, 10*time.Second, func() error {
		if !m.HasLease() {
			return errors.New("heartbeats do not renew the lease")
		}
		return nil
	})

	// A restart keeps the short name and gets a new rebootId.
	again, err := Register(ctx, cfg, client, cache, slog.Default())
	if err != nil || again.ShortName != "DBServer0001" || again.RebootID != 2 {
		t.Fatalf("re-register: %+v %v", again, err)
	}
	// A second server gets the next short name.
	cfg2 := cfg
	cfg2.ID = "PRMR-0002"
	other, err := Register(ctx, cfg2, client, cache, slog.Default())
	if err != nil || other.ShortName != "DBServer0002" {
		t.Fatalf("second server: %+v %v", other, err)
	}
	// A removed server may not start again.
	if _, err := client.Write(ctx, cluster.Transaction{Ops: map[string]cluster.Operation{
		cluster.Join(cluster.TargetRemovedServers, "PRMR-0002"): cluster.Set("2024-01-01T00:00:00Z")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := Register(ctx, cfg2, client, cache, slog.Default()); !errors.Is(err, ErrRemoved) {
		t.Fatalf("removed server registered: %v", err)
	}
}
