package coordinator

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/arangomesos/arangomesos/node/arangohttp"
	"github.com/arangomesos/arangomesos/node/cluster"
	"github.com/arangomesos/arangomesos/node/member"
	"github.com/arangomesos/arangomesos/node/shardapi"
)

// Errors of the coordinator.
var (
	// ErrNoQueryEngine: the coordinator was built without an AQL engine.
	ErrNoQueryEngine = errors.New("coordinator: no AQL engine configured")
)

// Config configures a coordinator.
type Config struct {
	ID       string
	Endpoint string // tcp://host:port clients and servers reach it at
	Version  string
	Agency   *cluster.AgencyClient
	Cache    *cluster.Cache
	Secret   cluster.Secret
	Tokens   *cluster.TokenSource
	Log      *slog.Logger
	// RootPassword is the root user's password; authentication is on when
	// the cluster has a secret.
	RootPassword string
	// FailoverTimeout bounds the retries of an operation whose shard leader
	// is unreachable or changing (--cluster.failover-timeout, 30 s).
	FailoverTimeout time.Duration
	// RequestTimeout bounds one request to a DBServer (default 60 s).
	RequestTimeout time.Duration
	// AttemptTimeout bounds one attempt at a shard leader before the
	// coordinator re-reads the Agency and tries again (default 15 s): a
	// hung leader (SIGSTOP) is failed over by then.
	AttemptTimeout time.Duration
	// CollectionTimeout bounds waiting for Current when creating
	// collections and indexes (default 60 s).
	CollectionTimeout time.Duration
	// BodyLimit bounds request bodies (default 64 MiB; imports 4×).
	BodyLimit int64
	// Queries parses and binds AQL (node/aql); nil refuses cursors.
	Queries QueryEngine
	// MinReplicationFactor and DefaultReplicationFactor are the
	// collection defaults (1 and 1).
	DefaultReplicationFactor int
}

func (c *Config) defaults() {
	if c.FailoverTimeout <= 0 {
		c.FailoverTimeout = 30 * time.Second
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 60 * time.Second
	}
	if c.AttemptTimeout <= 0 {
		c.AttemptTimeout = 15 * time.Second
	}
	if c.CollectionTimeout <= 0 {
		c.CollectionTimeout = 60 * time.Second
	}
	if c.BodyLimit <= 0 {
		c.BodyLimit = arangohttp.DefaultBodyLimit
	}
	if c.DefaultReplicationFactor <= 0 {
		c.DefaultReplicationFactor = 1
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
}

// Server is a running coordinator.
type Server struct {
	cfg      Config
	id       string
	log      *slog.Logger
	ctx      context.Context
	cancel   context.CancelFunc
	agency   *cluster.AgencyClient
	view     *cluster.View
	member   *member.Member
	client   *shardapi.Client
	mux      *arangohttp.Mux
	ids      *idAllocator
	cursors  *cursorStore
	metrics  *metrics
	coalesce coalescer
	draining atomic.Bool // set by Drain
}

// Start registers the coordinator and starts following the Agency.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	cfg.defaults()
	sctx, cancel := context.WithCancel(context.Background())
	s := &Server{cfg: cfg, id: cfg.ID, log: cfg.Log, ctx: sctx, cancel: cancel, agency: cfg.Agency,
		view: cluster.NewView(cfg.Cache), client: shardapi.NewClient(cfg.Tokens, cfg.RequestTimeout),
		mux: arangohttp.NewMux()}
	s.ids = newIDAllocator(cfg.Agency)
	s.cursors = newCursorStore()
	s.metrics = newMetrics()
	m, err := member.Join(ctx, sctx, member.Config{ID: cfg.ID, Role: cluster.RoleCoordinator, Endpoint: cfg.Endpoint,
		Version: cfg.Version}, cfg.Agency, cfg.Cache, s.log)
	if err != nil {
		cancel()
		return nil, err
	}
	s.member = m
	go s.view.Run(sctx)
	go s.cursors.expire(sctx)
	s.routes()
	return s, nil
}

// Close stops the coordinator's background work after a last heartbeat
// saying SHUTDOWN (the scheduler may then remove it from the cluster at
// once); call it once the HTTP server stopped.
func (s *Server) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	if err := s.member.Stop(ctx); err != nil {
		s.log.Warn("could not announce the stop", "err", err)
	}
	cancel()
	s.cancel()
	s.client.Close()
}

// View returns the coordinator's typed view of the Agency (Plan, Current,
// servers, health), kept up to date by the Agency watch.
func (s *Server) View() *cluster.View { return s.view }

// Agency returns the coordinator's Agency client.
func (s *Server) Agency() *cluster.AgencyClient { return s.agency }

// ID returns the coordinator's server id.
func (s *Server) ID() string { return s.id }

// Mux returns the coordinator's router, for packages that register a
// group of routes (node/coordinator/clusteradmin). Patterns are without
// the /_db/{db} prefix; Database(r) gives the database.
func (s *Server) Mux() *arangohttp.Mux { return s.mux }

// Cache returns the coordinator's watching Agency cache.
func (s *Server) Cache() *cluster.Cache { return s.cfg.Cache }

// Register adds more routes to the coordinator (Go 1.22 patterns without
// the /_db/{db} prefix, which the coordinator strips; use Database(r) to
// get the database). They get the coordinator's authentication and error
// handling.
func (s *Server) Register(pattern string, h http.HandlerFunc) { s.mux.HandleFunc(pattern, h) }

// Handler returns the coordinator's HTTP handler: authentication, the
// /_db/{db}/ prefix, metrics, then the routes. base answers the routes
// every server has (version, server role, …).
func (s *Server) Handler(base http.Handler) http.Handler {
	s.mux.Handle("/", base)
	return s.closeWhileDraining(s.metrics.instrument(s.authenticate(s.withDatabase(s.mux))))
}
