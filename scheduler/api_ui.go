package scheduler

import (
	"net/http"
	"sort"

	"github.com/labstack/echo/v4"
)

// ShardsView is GET /v1/shards: where every shard lives and how loaded each
// DBServer is, for the web UI's shard view. It is read from a running
// coordinator's /_admin/cluster/shardDistribution.
type ShardsView struct {
	Collections []CollectionShards    `json:"collections"`
	Load        map[string]ServerLoad `json:"load"`
}

// CollectionShards is one collection's shards.
type CollectionShards struct {
	Name   string       `json:"name"`
	Shards []ShardPlace `json:"shards"`
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

// ServerLoad counts a DBServer's shards.
type ServerLoad struct {
	Leaders int `json:"leaders"`
	Copies  int `json:"copies"`
}

func (s *Scheduler) getShards(c echo.Context) error {
	type servers struct {
		Leader    string   `json:"leader"`
		Followers []string `json:"followers"`
	}
	var dist struct {
		Results map[string]struct {
			Plan    map[string]servers `json:"Plan"`
			Current map[string]servers `json:"Current"`
		} `json:"results"`
	}
	code, err := s.coordinatorCall(c.Request().Context(), http.MethodGet, "/_admin/cluster/shardDistribution", nil, &dist)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return apiErr(http.StatusBadGateway, "the coordinator answered HTTP %d for the shard distribution", code)
	}
	out := ShardsView{Collections: []CollectionShards{}, Load: map[string]ServerLoad{}}
	for _, m := range s.State().Members {
		if m.Role == "dbserver" {
			out.Load[m.ServerID] = ServerLoad{}
		}
	}
	for name, col := range dist.Results {
		cs := CollectionShards{Name: name}
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
			l := out.Load[p.Leader]
			l.Leaders++
			l.Copies++
			out.Load[p.Leader] = l
			for _, f := range followers {
				l := out.Load[f]
				l.Copies++
				out.Load[f] = l
			}
		}
		sort.Slice(cs.Shards, func(i, j int) bool { return cs.Shards[i].Shard < cs.Shards[j].Shard })
		out.Collections = append(out.Collections, cs)
	}
	sort.Slice(out.Collections, func(i, j int) bool { return out.Collections[i].Name < out.Collections[j].Name })
	return c.JSON(http.StatusOK, out)
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
