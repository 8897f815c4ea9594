package scheduler

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// ShardsView is GET /v1/shards: where every shard of every database lives
// and how loaded each DBServer is, for the web UI's shard view. It is read
// from a running coordinator (/_api/database, then each database's
// /_admin/cluster/shardDistribution); the DBServers' documents and bytes
// come from the autoscaler's last reading of their metrics.
type ShardsView struct {
	Collections []CollectionShards `json:"collections"`
	// Load is keyed by DBServer id: every running DBServer, and any other
	// server a shard is planned on.
	Load map[string]ServerLoad `json:"load"`
}

// CollectionShards is one collection's shards.
type CollectionShards struct {
	Database string       `json:"database"`
	Name     string       `json:"name"`
	Shards   []ShardPlace `json:"shards"`
}

// ShardPlace is one shard: its leader and followers as planned, and
// whether the followers in Current (in sync) match the Plan.
type ShardPlace struct {
	Shard     string   `json:"shard"`
	Leader    string   `json:"leader"`
	Followers []string `json:"followers"`
	InSync    []string `json:"inSync"`
	Synced    bool     `json:"synced"`
}

// ServerLoad is a DBServer's share of the data: the shards it leads, the
// shard copies it holds (leaders and followers), and, once the autoscaler
// read its metrics, the documents and bytes it stores (followers' copies
// included) as of MeasuredAt.
type ServerLoad struct {
	Leaders    int        `json:"leaders"`
	Copies     int        `json:"copies"`
	Documents  *float64   `json:"documents,omitempty"`
	DataBytes  *float64   `json:"dataBytes,omitempty"`
	MeasuredAt *time.Time `json:"measuredAt,omitempty"`
}

// shardServers is a shard's servers in a shardDistribution answer.
type shardServers struct {
	Leader    string   `json:"leader"`
	Followers []string `json:"followers"`
}

// collectionDistribution is one collection of a shardDistribution answer.
type collectionDistribution struct {
	Plan    map[string]shardServers `json:"Plan"`
	Current map[string]shardServers `json:"Current"`
}

// dbServerReading is what the scheduler knows of a DBServer's data from
// its metrics.
type dbServerReading struct {
	Documents, DataBytes float64
	At                   time.Time
}

func (s *Scheduler) getShards(c echo.Context) error {
	ctx := c.Request().Context()
	var dbs struct {
		Result []string `json:"result"`
	}
	code, err := s.coordinatorCall(ctx, http.MethodGet, "/_api/database", nil, &dbs)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return apiErr(http.StatusBadGateway, "the coordinator answered HTTP %d for the list of databases", code)
	}
	dists, err := s.shardDistributions(ctx, dbs.Result)
	if err != nil {
		return err
	}
	s.mu.Lock()
	var running []string
	for _, m := range s.st.Sorted(cluster.RoleDBServer) {
		if m.Running() {
			running = append(running, m.ServerID)
		}
	}
	readings := map[string]dbServerReading{}
	for _, sc := range s.as.prev {
		if m := s.st.Members[sc.Member]; m != nil && m.Role == cluster.RoleDBServer && m.TaskID == sc.TaskID {
			readings[m.ServerID] = dbServerReading{Documents: sc.M.Documents, DataBytes: sc.M.DataBytes, At: sc.At}
		}
	}
	s.mu.Unlock()
	return c.JSON(http.StatusOK, buildShardsView(dists, running, readings))
}

// shardDistributions reads the shard distribution of each database, a few
// at a time. A database dropped meanwhile is left out.
func (s *Scheduler) shardDistributions(ctx context.Context, dbs []string) (map[string]map[string]collectionDistribution, error) {
	out := map[string]map[string]collectionDistribution{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var firstErr error
	sem := make(chan struct{}, 4)
	for _, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			var dist struct {
				Results map[string]collectionDistribution `json:"results"`
			}
			code, err := s.coordinatorCall(ctx, http.MethodGet, "/_db/"+url.PathEscape(db)+"/_admin/cluster/shardDistribution", nil, &dist)
			var ae *APIError
			if code == http.StatusNotFound || (errors.As(err, &ae) && ae.Code == http.StatusNotFound) {
				return // dropped since it was listed
			}
			if err == nil && code != http.StatusOK {
				err = apiErr(http.StatusBadGateway, "the coordinator answered HTTP %d for the shard distribution of %s", code, db)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			out[db] = dist.Results
		}()
	}
	wg.Wait()
	return out, firstErr
}

// buildShardsView turns the shard distributions of the databases into the
// view: collections sorted by database and name, shards by name, and the
// load of every running DBServer and every server a shard is planned on.
func buildShardsView(dists map[string]map[string]collectionDistribution, running []string, readings map[string]dbServerReading) ShardsView {
	out := ShardsView{Collections: []CollectionShards{}, Load: map[string]ServerLoad{}}
	for _, id := range running {
		out.Load[id] = ServerLoad{}
	}
	count := func(id string, leader bool) {
		l := out.Load[id]
		l.Copies++
		if leader {
			l.Leaders++
		}
		out.Load[id] = l
	}
	for db, cols := range dists {
		for name, col := range cols {
			cs := CollectionShards{Database: db, Name: name, Shards: []ShardPlace{}}
			for shard, p := range col.Plan {
				cur := col.Current[shard]
				followers := p.Followers
				if followers == nil {
					followers = []string{}
				}
				inSync := cur.Followers
				if inSync == nil {
					inSync = []string{}
				}
				cs.Shards = append(cs.Shards, ShardPlace{Shard: shard, Leader: p.Leader, Followers: followers, InSync: inSync,
					Synced: cur.Leader == p.Leader && sameMembers(followers, inSync)})
				if p.Leader != "" {
					count(p.Leader, true)
				}
				for _, f := range followers {
					count(f, false)
				}
			}
			sort.Slice(cs.Shards, func(i, j int) bool { return cs.Shards[i].Shard < cs.Shards[j].Shard })
			out.Collections = append(out.Collections, cs)
		}
	}
	sort.Slice(out.Collections, func(i, j int) bool {
		a, b := out.Collections[i], out.Collections[j]
		if a.Database != b.Database {
			return a.Database < b.Database
		}
		return a.Name < b.Name
	})
	for id, l := range out.Load {
		if r, ok := readings[id]; ok {
			docs, bytes, at := r.Documents, r.DataBytes, r.At
			l.Documents, l.DataBytes, l.MeasuredAt = &docs, &bytes, &at
			out.Load[id] = l
		}
	}
	return out
}

func sameMembers(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, x := range a {
		seen[x]++
	}
	for _, x := range b {
		if seen[x] == 0 {
			return false
		}
		seen[x]--
	}
	return true
}
