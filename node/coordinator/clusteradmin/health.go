package clusteradmin

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/arangomesos/arangomesos/node/arangohttp"
	"github.com/arangomesos/arangomesos/node/cluster"
)

// health answers GET /_admin/cluster/health (reference §6.1): every
// DBServer's and coordinator's Supervision/Health record with Role and
// CanBeDeleted, and every agent of the Agency as its config shows it.
// Timestamps are RFC 3339 strings (go-driver decodes them as time.Time);
// unknown ones are left out rather than sent empty.
func (a *admin) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := ctxOf(r)
	defer cancel()
	s, err := a.snapshot(ctx)
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	var clusterID string
	if _, err := a.Agency.Get(ctx, cluster.ClusterIDKey, &clusterID); err != nil {
		arangohttp.WriteError(w, unavailable(err))
		return
	}
	inShards := map[string]bool{}
	for _, ref := range s.Shards() {
		for _, id := range s.PlanServers(ref) {
			sid, _ := cluster.ResigningLeader(id)
			inShards[sid] = true
		}
		if cur := s.CurrentShard(ref); cur != nil {
			for _, id := range cur.Servers {
				sid, _ := cluster.ResigningLeader(id)
				inShards[sid] = true
			}
		}
	}
	out := map[string]any{}
	for id, rec := range s.Health {
		role, ok := cluster.RoleOfID(id)
		if !ok {
			continue
		}
		e := map[string]any{"ShortName": rec.ShortName, "Endpoint": rec.Endpoint, "Host": rec.Host,
			"SyncStatus": rec.SyncStatus, "Status": rec.Status, "Version": rec.Version, "Engine": rec.Engine,
			"Role": role.HealthName()}
		for k, v := range map[string]string{"Timestamp": rec.Timestamp, "SyncTime": rec.SyncTime, "LastAckedTime": rec.LastAckedTime} {
			if _, err := time.Parse(time.RFC3339, v); err == nil {
				e[k] = v
			}
		}
		if rec.AdvertisedEndpoint != "" {
			e["AdvertisedEndpoint"] = rec.AdvertisedEndpoint
		}
		e["CanBeDeleted"] = rec.Status == cluster.StatusFailed && (role == cluster.RoleCoordinator || !inShards[id])
		out[id] = e
	}
	for id, e := range a.agentHealth(ctx) {
		out[id] = e
	}
	arangohttp.WriteJSON(w, http.StatusOK, map[string]any{"ClusterId": clusterID, "Health": out, "error": false, "code": 200})
}

// agentHealth asks every agent of the pool for its config; an agent that
// does not answer is BAD.
func (a *admin) agentHealth(ctx context.Context) map[string]map[string]any {
	pool := map[string]string{}
	var leader cluster.AgencyConfig
	for _, ep := range a.Agency.Endpoints() {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		c, err := a.Agency.Config(cctx, ep)
		cancel()
		if err != nil {
			continue
		}
		for id, e := range c.Configuration.Pool {
			pool[id] = e
		}
		if c.Raft.Leading {
			leader = c
		}
		if leader.LeaderID == "" {
			leader.LeaderID = c.LeaderID
		}
	}
	out := map[string]map[string]any{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for id, ep := range pool {
		wg.Add(1)
		go func(id, ep string) {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, time.Second)
			c, err := a.Agency.Config(cctx, ep)
			cancel()
			e := map[string]any{"Role": "Agent", "Endpoint": ep, "CanBeDeleted": false, "Leader": leader.LeaderID,
				"Leading": id == leader.LeaderID, "Engine": "raft-boltdb", "Status": cluster.StatusGood,
				"LastAckedTime": leader.LastAcked[id].LastAckedTime}
			if err != nil {
				e["Status"] = cluster.StatusBad
			} else {
				e["Version"] = c.Version
			}
			mu.Lock()
			out[id] = e
			mu.Unlock()
		}(id, ep)
	}
	wg.Wait()
	return out
}
