package scheduler

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// agencyPoll is how long the scheduler's long polls wait; a healthy Agency
// answers at least this often, which is how the scheduler knows it is up.
const agencyPoll = 3 * time.Second

// agencyWatch follows the Agency once the agents have endpoints: a client
// and a watching cache, rebuilt when the set of agent endpoints changes.
type agencyWatch struct {
	log    *slog.Logger
	tokens *cluster.TokenSource

	mu        sync.Mutex
	endpoints []string
	client    *cluster.AgencyClient
	cache     *cluster.Cache
	stop      context.CancelFunc
	pool      map[string]string
	poolAt    time.Time
}

func newAgencyWatch(log *slog.Logger, tokens *cluster.TokenSource) *agencyWatch {
	return &agencyWatch{log: log, tokens: tokens}
}

// ensure (re)starts the watch for the given agent endpoints.
func (a *agencyWatch) ensure(ctx context.Context, endpoints []string) {
	if len(endpoints) == 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if slices.Equal(endpoints, a.endpoints) {
		return
	}
	client, err := cluster.NewAgencyClient(endpoints, a.tokens)
	if err != nil {
		a.log.Error("agency client", "err", err)
		return
	}
	if a.stop != nil {
		a.stop()
	}
	cache := cluster.NewCache(client, a.log)
	cache.PollTimeout = agencyPoll
	wctx, stop := context.WithCancel(ctx)
	go cache.Run(wctx)
	a.endpoints, a.client, a.cache, a.stop, a.pool = endpoints, client, cache, stop, nil
	a.log.Info("following the Agency", "agents", endpoints)
}

// Client returns the Agency client (nil before the agents are placed).
func (a *agencyWatch) Client() *cluster.AgencyClient {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.client
}

// changed returns a channel closed at the next Agency change (nil before
// the watch runs).
func (a *agencyWatch) changed() <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cache == nil {
		return nil
	}
	return a.cache.Changed()
}

// view derives the AgencyView from the cache. The Agency's membership (its
// pool) is asked of the agents at most every few seconds.
func (a *agencyWatch) view(ctx context.Context, now time.Time) AgencyView {
	a.mu.Lock()
	cache, client := a.cache, a.client
	a.mu.Unlock()
	var v AgencyView
	if cache == nil || now.Sub(cache.LastContact()) > agencyPoll+5*time.Second {
		return v
	}
	var arango struct {
		Plan struct {
			Collections map[string]map[string]*cluster.PlanCollection `json:"Collections"`
		} `json:"Plan"`
		Current struct {
			Collections map[string]map[string]map[string]cluster.CurrentShard `json:"Collections"`
		} `json:"Current"`
		Target struct {
			NumberOfDBServers    *int     `json:"NumberOfDBServers"`
			NumberOfCoordinators *int     `json:"NumberOfCoordinators"`
			CleanedServers       []string `json:"CleanedServers"`
		} `json:"Target"`
		Supervision struct {
			Health map[string]cluster.HealthRecord `json:"Health"`
		} `json:"Supervision"`
	}
	index := cache.Index() // read first: the tree read next is at least this new
	if ok, err := cache.Get(cluster.Root, &arango); !ok || err != nil {
		return v
	}
	v.Up, v.Index = true, index
	v.Health = arango.Supervision.Health
	v.NumDBServers, v.NumCoordinators = arango.Target.NumberOfDBServers, arango.Target.NumberOfCoordinators
	v.Cleaned = arango.Target.CleanedServers
	v.ShardHolders = map[string]bool{}
	for _, cols := range arango.Plan.Collections {
		for _, c := range cols {
			if c == nil {
				continue
			}
			v.MaxReplicationFactor = max(v.MaxReplicationFactor, c.ReplicationFactor)
			for _, servers := range c.Shards {
				for _, s := range servers {
					id, _ := cluster.ResigningLeader(s)
					v.ShardHolders[id] = true
				}
			}
		}
	}
	v.InSync = map[string][]string{}
	for db, cols := range arango.Current.Collections {
		for col, shards := range cols {
			for name, sh := range shards {
				var inSync []string
				for _, s := range sh.Servers {
					id, _ := cluster.ResigningLeader(s)
					v.ShardHolders[id] = true
					inSync = append(inSync, id)
				}
				v.InSync[db+"/"+col+"/"+name] = inSync
			}
		}
	}
	v.Pool = a.agencyPool(ctx, client, now)
	return v
}

// poolChanged makes the next view ask the agents for the pool again: the
// scheduler just changed the Agency's membership.
func (a *agencyWatch) poolChanged() {
	a.mu.Lock()
	a.poolAt = time.Time{}
	a.mu.Unlock()
}

func (a *agencyWatch) agencyPool(ctx context.Context, client *cluster.AgencyClient, now time.Time) map[string]string {
	a.mu.Lock()
	pool, at := a.pool, a.poolAt
	a.mu.Unlock()
	if pool != nil && now.Sub(at) < 3*time.Second {
		return pool
	}
	for _, ep := range client.Endpoints() {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		c, err := client.Config(cctx, ep)
		cancel()
		if err == nil && c.Raft.Bootstrapped && c.LeaderID != "" {
			a.mu.Lock()
			a.pool, a.poolAt = c.Configuration.Pool, now
			a.mu.Unlock()
			return c.Configuration.Pool
		}
	}
	return pool
}
