package member

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// ErrRemoved: the server's id is listed in Target/RemovedServers; it must
// not start again.
var ErrRemoved = errors.New("member: this server was removed from the cluster")

// Config describes the server that registers.
type Config struct {
	ID       string
	Role     cluster.Role // RoleDBServer or RoleCoordinator
	Endpoint string       // tcp://host:port others use to reach it
	Version  string       // the ArangoDB version it reports
	// HeartbeatInterval defaults to 1 s.
	HeartbeatInterval time.Duration
	// LeaseDuration is how long an acknowledged heartbeat keeps the lease:
	// the supervision's ok threshold (default 5 s).
	LeaseDuration time.Duration
}

// Member is a registered server.
type Member struct {
	cfg    Config
	client *cluster.AgencyClient
	cache  *cluster.Cache
	log    *slog.Logger

	RebootID  uint64
	ShortName string

	mu         sync.Mutex
	leaseSent  time.Time // when the last acknowledged heartbeat was sent
	leaseIndex uint64    // the Agency commit index it returned
	status     string
	// sending serializes heartbeats, so that the last one sent carries
	// the latest status (a SHUTDOWN is never overwritten by an older beat).
	sending sync.Mutex
}

// Heartbeat statuses (the "Status" of Sync/ServerStates, which Supervision
// copies into a health record's SyncStatus).
const (
	StatusServing  = "SERVING"
	StatusStopping = "STOPPING" // shutting down, still answering
	StatusShutdown = "SHUTDOWN" // stopped serving; the process ends
)

// Register registers the server (docs/internals.md, "Who writes what") and
// returns once the Agency acknowledged it. It fails with ErrRemoved when the
// server was removed from the cluster, and when ctx ends first.
func Register(ctx context.Context, cfg Config, client *cluster.AgencyClient, cache *cluster.Cache, log *slog.Logger) (*Member, error) {
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = time.Second
	}
	if cfg.LeaseDuration <= 0 {
		cfg.LeaseDuration = 5 * time.Second
	}
	m := &Member{cfg: cfg, client: client, cache: cache, log: log, status: StatusServing}
	if removed, err := client.Get(ctx, cluster.Join(cluster.TargetRemovedServers, cfg.ID), nil); err != nil {
		return nil, fmt.Errorf("member: check removed servers: %w", err)
	} else if removed {
		return nil, fmt.Errorf("%w: %s is listed in Target/RemovedServers", ErrRemoved, cfg.ID)
	}
	planKey, curKey := cluster.PlanDBServers, cluster.CurrentDBServers
	if cfg.Role == cluster.RoleCoordinator {
		planKey, curKey = cluster.PlanCoordinators, cluster.CurrentCoordinators
	}
	host, _ := os.Hostname()
	reg := cluster.ServerRegistered{Endpoint: cfg.Endpoint, Host: host, Version: versionNumber(cfg.Version),
		VersionString: cfg.Version, Engine: "buntdb", Timestamp: cluster.FormatTime(time.Now())}
	// Plan membership is created once (oldEmpty); the rest is set on every start.
	if _, err := client.Write(ctx, cluster.Transaction{
		Ops:      map[string]cluster.Operation{cluster.Join(planKey, cfg.ID): cluster.Set("none"), cluster.PlanVersion: cluster.Increment(1)},
		Preconds: map[string]cluster.Precondition{cluster.Join(planKey, cfg.ID): cluster.OldEmpty(true)},
	}); err != nil {
		return nil, fmt.Errorf("member: register in Plan: %w", err)
	}
	knownKey := cluster.Join(cluster.CurrentServersKnown, cfg.ID, "rebootId")
	res, err := client.Transact(ctx,
		cluster.TransactItem{Write: &cluster.Transaction{Ops: map[string]cluster.Operation{
			cluster.Join(cluster.CurrentServersReg, cfg.ID):    cluster.Set(reg),
			cluster.Join(cluster.CurrentServersReg, "Version"): cluster.Increment(1),
			knownKey:                     cluster.Increment(1),
			cluster.Join(curKey, cfg.ID): cluster.Set("none"),
			cluster.CurrentVersion:       cluster.Increment(1),
		}}},
		cluster.TransactItem{Read: cluster.ReadQuery{knownKey}})
	if err != nil {
		return nil, fmt.Errorf("member: register in Current: %w", err)
	}
	if len(res) < 2 {
		return nil, fmt.Errorf("member: register in Current: short answer")
	}
	var reboot json.Number
	if _, err := cluster.ExtractPath(res[1], knownKey, &reboot); err != nil {
		return nil, fmt.Errorf("member: read rebootId: %w", err)
	}
	n, _ := reboot.Int64()
	m.RebootID = uint64(n)
	if err := m.shortName(ctx); err != nil {
		return nil, err
	}
	if err := m.beat(ctx); err != nil {
		return nil, fmt.Errorf("member: first heartbeat: %w", err)
	}
	log.Info("registered", "shortName", m.ShortName, "rebootId", m.RebootID, "endpoint", cfg.Endpoint)
	return m, nil
}

func versionNumber(v string) int {
	var a, b, c int
	_, _ = fmt.Sscanf(v, "%d.%d.%d", &a, &b, &c)
	return a*10000 + b*100 + c
}

// shortName finds or assigns Target/MapUniqueToShortID/<id>.
func (m *Member) shortName(ctx context.Context) error {
	key := cluster.Join(cluster.TargetMapShortID, m.cfg.ID)
	var rec struct {
		ShortName string `json:"ShortName"`
	}
	if ok, err := m.client.Get(ctx, key, &rec); err != nil {
		return fmt.Errorf("member: read short name: %w", err)
	} else if ok {
		m.ShortName = rec.ShortName
		return nil
	}
	counter, prefix := cluster.TargetLatestDBServer, "DBServer"
	if m.cfg.Role == cluster.RoleCoordinator {
		counter, prefix = cluster.TargetLatestCoord, "Coordinator"
	}
	res, err := m.client.Transact(ctx,
		cluster.TransactItem{Write: &cluster.Transaction{Ops: map[string]cluster.Operation{counter: cluster.Increment(1)}}},
		cluster.TransactItem{Read: cluster.ReadQuery{counter}})
	if err != nil || len(res) < 2 {
		return fmt.Errorf("member: allocate short name: %v", err)
	}
	var n json.Number
	if _, err := cluster.ExtractPath(res[1], counter, &n); err != nil {
		return fmt.Errorf("member: allocate short name: %w", err)
	}
	id, _ := n.Int64()
	name := fmt.Sprintf("%s%04d", prefix, id)
	w, err := m.client.Write(ctx, cluster.Transaction{
		Ops:      map[string]cluster.Operation{key: cluster.Set(map[string]any{"ShortName": name, "TransactionID": id})},
		Preconds: map[string]cluster.Precondition{key: cluster.OldEmpty(true)},
	})
	if err != nil {
		return fmt.Errorf("member: store short name: %w", err)
	}
	if !w.OK() { // a previous attempt of ours won
		return m.shortName(ctx)
	}
	m.ShortName = name
	return nil
}

// Join starts following the Agency (cache), registers the server, and
// sends heartbeats until run ends: what every coordinator and DBServer does
// first. It fails as Register does.
func Join(ctx, run context.Context, cfg Config, client *cluster.AgencyClient, cache *cluster.Cache, log *slog.Logger) (*Member, error) {
	go cache.Run(run)
	m, err := Register(ctx, cfg, client, cache, log)
	if err != nil {
		return nil, err
	}
	go m.Run(run)
	return m, nil
}

// Run sends heartbeats until ctx ends; a last one says STOPPING.
func (m *Member) Run(ctx context.Context) {
	t := time.NewTicker(m.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			m.SetStatus(StatusStopping)
			sctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = m.beat(sctx)
			cancel()
			return
		case <-t.C:
			bctx, cancel := context.WithTimeout(ctx, m.cfg.HeartbeatInterval*2)
			if err := m.beat(bctx); err != nil && ctx.Err() == nil {
				m.log.Warn("heartbeat failed", "err", err)
			}
			cancel()
		}
	}
}

// SetStatus sets the status the next heartbeats report. After Stop the
// status stays SHUTDOWN.
func (m *Member) SetStatus(s string) {
	m.mu.Lock()
	if m.status != StatusShutdown {
		m.status = s
	}
	m.mu.Unlock()
}

// Announce sets the status and sends a heartbeat with it at once, so that
// Supervision (and through it the other servers and the scheduler) learns
// it within a round instead of a heartbeat interval later.
func (m *Member) Announce(ctx context.Context, status string) error {
	m.SetStatus(status)
	return m.beat(ctx)
}

// Stop sends a last heartbeat saying SHUTDOWN: the server has stopped
// serving and will not answer again in this incarnation, so it may be
// removed from the cluster without waiting for Supervision to declare it
// FAILED. Call it after the server stopped taking requests. It fails when
// the Agency does not acknowledge the heartbeat within ctx.
func (m *Member) Stop(ctx context.Context) error {
	return m.Announce(ctx, StatusShutdown)
}

func (m *Member) beat(ctx context.Context) error {
	m.sending.Lock()
	defer m.sending.Unlock()
	m.mu.Lock()
	status := m.status
	m.mu.Unlock()
	sent := time.Now()
	st := cluster.ServerState{Status: status, Time: cluster.FormatTime(sent), RebootID: m.RebootID}
	res, err := m.client.Transient(ctx, cluster.Transaction{Ops: map[string]cluster.Operation{
		cluster.Join(cluster.SyncServerStates, m.cfg.ID): cluster.Set(st)}})
	if err != nil {
		return err
	}
	if !res.OK() {
		return fmt.Errorf("member: heartbeat not applied")
	}
	m.mu.Lock()
	if sent.After(m.leaseSent) {
		m.leaseSent, m.leaseIndex = sent, res.Index()
	}
	m.mu.Unlock()
	return nil
}

// HasLease reports whether the server holds its leader lease: its last
// acknowledged heartbeat was sent less than the lease duration ago, and the
// Agency cache has caught up with the commit index that heartbeat returned
// (docs/internals.md, "Health, heartbeats and the leader lease").
func (m *Member) HasLease() bool {
	m.mu.Lock()
	sent, idx := m.leaseSent, m.leaseIndex
	m.mu.Unlock()
	if sent.IsZero() || time.Since(sent) >= m.cfg.LeaseDuration {
		return false
	}
	return m.cache == nil || m.cache.Index() >= idx
}

// ID returns the server id.
func (m *Member) ID() string { return m.cfg.ID }

// String describes the member for logs.
func (m *Member) String() string { return m.cfg.ID + "/" + strconv.FormatUint(m.RebootID, 10) }
