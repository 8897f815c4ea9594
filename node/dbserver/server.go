package dbserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arangomesos/arangomesos/node/cluster"
	"github.com/arangomesos/arangomesos/node/dbserver/storage"
	"github.com/arangomesos/arangomesos/node/member"
	"github.com/arangomesos/arangomesos/node/shardapi"
)

// ShardQuery is the DBServer's part of an AQL query (see node/aql): which
// documents match, in which order, and how many of them to return.
type ShardQuery interface {
	Match(doc map[string]any) bool
	// HasSort reports whether the query sorts; SortKey and CompareKeys
	// order documents by their evaluated SORT expressions.
	HasSort() bool
	SortKey(doc map[string]any) []any
	CompareKeys(a, b []any) int
	// Limit is the most documents the shard must return (<0: all).
	Limit() int
}

// Config configures a DBServer.
type Config struct {
	ID       string
	Endpoint string // tcp://host:port others reach it at
	Version  string
	DataDir  string
	Agency   *cluster.AgencyClient
	Cache    *cluster.Cache
	Tokens   *cluster.TokenSource
	Log      *slog.Logger
	// ReplicationTimeout is --cluster.synchronous-replication-timeout: a
	// follower that has not answered a replication request by then is
	// dropped (default 3 s).
	ReplicationTimeout time.Duration
	// LeaseDuration is how long an acknowledged heartbeat lets the server
	// lead (the supervision's ok threshold, 5 s).
	LeaseDuration time.Duration
	// LogEntries and LogBytes bound each leader's operation log
	// (--cluster.replication-log-entries / -bytes).
	LogEntries int
	LogBytes   int
	// OpIDTTL is how long operation ids are remembered (default 15 min).
	OpIDTTL time.Duration
	// ChunkSize is the number of documents per hashed key range in resync.
	ChunkSize int
	// ParseQuery parses a shard query (aql.ParseShardQuery); nil refuses
	// queries.
	ParseQuery func([]byte) (ShardQuery, error)
}

func (c *Config) defaults() {
	if c.ReplicationTimeout <= 0 {
		c.ReplicationTimeout = 3 * time.Second
	}
	if c.LeaseDuration <= 0 {
		c.LeaseDuration = 5 * time.Second
	}
	if c.LogEntries <= 0 {
		c.LogEntries = 100000
	}
	if c.LogBytes <= 0 {
		c.LogBytes = 256 << 20
	}
	if c.OpIDTTL <= 0 {
		c.OpIDTTL = 15 * time.Minute
	}
	if c.ChunkSize <= 0 {
		c.ChunkSize = 1000
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
}

// Server is a running DBServer.
type Server struct {
	cfg     Config
	id      string
	log     *slog.Logger
	ctx     context.Context
	cancel  context.CancelFunc
	agency  *cluster.AgencyClient
	view    *cluster.View
	member  *member.Member
	repl    *shardapi.Client // replication: the drop timeout
	sync    *shardapi.Client // resynchronization: longer requests
	metrics *metrics
	frames  *shardapi.FrameServer // set by Register

	mu      sync.Mutex
	shards  map[string]*shard
	dbsDone map[string]bool
	busy    map[string]bool // shards with a role change under way
	resyncs []shardapi.ResyncReport

	draining atomic.Bool
	inflight sync.WaitGroup
}

// Start registers the DBServer and starts following the Plan. It fails
// when registration fails (for example because the server was removed
// from the cluster).
func Start(ctx context.Context, cfg Config) (*Server, error) {
	cfg.defaults()
	sctx, cancel := context.WithCancel(context.Background())
	s := &Server{cfg: cfg, id: cfg.ID, log: cfg.Log, ctx: sctx, cancel: cancel, agency: cfg.Agency,
		view: cluster.NewView(cfg.Cache), shards: map[string]*shard{}, dbsDone: map[string]bool{},
		busy: map[string]bool{}}
	s.repl = shardapi.NewClient(cfg.Tokens, cfg.ReplicationTimeout)
	s.sync = shardapi.NewClient(cfg.Tokens, 60*time.Second)
	s.metrics = newMetrics(s)
	if err := os.MkdirAll(s.shardDir(), 0o750); err != nil {
		cancel()
		return nil, fmt.Errorf("dbserver: %w", err)
	}
	m, err := member.Join(ctx, sctx, member.Config{ID: cfg.ID, Role: cluster.RoleDBServer, Endpoint: cfg.Endpoint,
		Version: cfg.Version, LeaseDuration: cfg.LeaseDuration}, cfg.Agency, cfg.Cache, s.log)
	if err != nil {
		cancel()
		return nil, err
	}
	s.member = m
	go s.view.Run(sctx)
	go s.maintain(sctx)
	return s, nil
}

func (s *Server) shardDir() string { return filepath.Join(s.cfg.DataDir, "shards") }

func (s *Server) hasLease() bool { return s.member.HasLease() }

func (s *Server) rebootID() uint64 { return s.member.RebootID }

// View returns the server's typed view of the Agency.
func (s *Server) View() *cluster.View { return s.view }

// Drain stops taking writes and waits (up to timeout) for those in flight.
func (s *Server) Drain(timeout time.Duration) {
	s.draining.Store(true)
	actx, cancel := context.WithTimeout(context.Background(), time.Second)
	if err := s.member.Announce(actx, member.StatusStopping); err != nil {
		s.log.Warn("could not announce the shutdown", "err", err)
	}
	cancel()
	done := make(chan struct{})
	go func() { s.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
		s.log.Warn("writes still in flight at shutdown")
	}
}

// Close stops everything, closes the shards and sends a last heartbeat
// saying SHUTDOWN.
func (s *Server) Close() error {
	s.cancel()
	if s.frames != nil {
		s.frames.Close()
	}
	s.repl.Close()
	s.sync.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, sh := range s.shards {
		sh.loseLeadership("shutdown")
		if err := sh.store.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	if err := s.member.Stop(ctx); err != nil {
		s.log.Warn("could not announce the stop", "err", err)
	}
	cancel()
	return errors.Join(errs...)
}

func (s *Server) shard(name string) (*shard, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh, ok := s.shards[name]
	return sh, ok
}

// plannedServers returns the Plan's servers of a shard ("_" removed).
func (s *Server) plannedServers(db, cid, name string) []string {
	c := s.view.Snapshot().Collections[db][cid]
	if c == nil {
		return nil
	}
	out := make([]string, 0, len(c.Shards[name]))
	for _, id := range c.Shards[name] {
		id, _ = cluster.ResigningLeader(id)
		out = append(out, id)
	}
	return out
}

// cachedPlanLeader reads a shard's planned leader straight from the Agency
// cache (the view may be a moment behind it); "" when unknown.
func (s *Server) cachedPlanLeader(db, cid, name string) string {
	var servers []string
	if ok, err := s.cfg.Cache.Get(cluster.Join(cluster.PlanCollections, db, cid, "shards", name), &servers); !ok || err != nil || len(servers) == 0 {
		return ""
	}
	return servers[0]
}

// endpoint resolves a server id, waiting briefly for the view to know it.
func (s *Server) endpoint(id string) (string, error) {
	if ep := s.view.Snapshot().Endpoint(id); ep != "" {
		return ep, nil
	}
	return "", fmt.Errorf("dbserver: no endpoint registered for %s", id)
}

// replicate sends entries to a follower with the drop timeout.
func (s *Server) replicate(ctx context.Context, follower, shardName string, req *shardapi.ReplicateRequest, resp *shardapi.ReplicateResponse) error {
	ep, err := s.endpoint(follower)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ReplicationTimeout)
	defer cancel()
	return s.repl.Call(ctx, ep, "POST", shardapi.Path(shardapi.PathReplicate, shardName), nil, req, resp)
}

// callLeader sends a resynchronization request to a shard's leader.
func (s *Server) callLeader(ctx context.Context, leader, path, shardName string, in, out any) error {
	ep, err := s.endpoint(leader)
	if err != nil {
		return err
	}
	return s.sync.Call(ctx, ep, "POST", shardapi.Path(path, shardName), nil, in, out)
}

func (s *Server) recordResync(r shardapi.ResyncReport) {
	s.mu.Lock()
	s.resyncs = append(s.resyncs, r)
	if len(s.resyncs) > 100 {
		s.resyncs = s.resyncs[len(s.resyncs)-100:]
	}
	s.mu.Unlock()
	s.metrics.resyncDocs.WithLabelValues(r.Method).Add(float64(r.Documents))
	s.metrics.resyncs.WithLabelValues(r.Method).Inc()
}

// Resyncs returns the reports of the recent resynchronizations.
func (s *Server) Resyncs() []shardapi.ResyncReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]shardapi.ResyncReport(nil), s.resyncs...)
}

// ShardStatus describes one local shard (GET /_internal/shards).
type ShardStatus struct {
	Shard     string   `json:"shard"`
	Database  string   `json:"database"`
	Role      string   `json:"role"`
	Term      uint64   `json:"term"`
	Seq       uint64   `json:"seq"`
	Following string   `json:"following,omitempty"`
	InSync    bool     `json:"inSync,omitempty"`
	Followers []string `json:"followers,omitempty"`
	Count     int64    `json:"count"`
}

// Shards describes the local shards.
func (s *Server) Shards() []ShardStatus {
	s.mu.Lock()
	list := make([]*shard, 0, len(s.shards))
	for _, sh := range s.shards {
		list = append(list, sh)
	}
	s.mu.Unlock()
	out := make([]ShardStatus, 0, len(list))
	for _, sh := range list {
		sh.mu.Lock()
		st := ShardStatus{Shard: sh.name, Database: sh.db, Role: sh.role.String(), Term: sh.term,
			Seq: sh.seq.Load(), Following: sh.following.id, InSync: sh.inSync, Count: sh.store.Count()}
		if sh.role == roleFollower {
			st.Seq = sh.store.State().Seq
		}
		sh.mu.Unlock()
		sh.fmu.Lock()
		for id := range sh.links {
			st.Followers = append(st.Followers, id)
		}
		sh.fmu.Unlock()
		sort.Strings(st.Followers)
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Shard < out[j].Shard })
	return out
}

// shardFile is the buntdb file of a shard.
func (s *Server) shardFile(name string) string {
	return filepath.Join(s.shardDir(), name+".db")
}

// localShardFiles lists the shard names that have a file.
func (s *Server) localShardFiles() []string {
	ents, _ := os.ReadDir(s.shardDir())
	var out []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".db"); ok {
			out = append(out, n)
		}
	}
	return out
}

// openShard opens (or creates) a local shard.
func (s *Server) openShard(db, cid, name, coll string) (*shard, error) {
	st, err := storage.Open(s.shardFile(name))
	if err != nil {
		return nil, err
	}
	return newShard(s, db, cid, name, coll, st), nil
}
