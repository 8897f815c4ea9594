package clusteradmin

import (
	"net/http"
	"time"

	"github.com/arangomesos/arangomesos/node/arangohttp"
	"github.com/arangomesos/arangomesos/node/cluster"
)

type shardServers struct {
	Leader    string   `json:"leader"`
	Followers []string `json:"followers"`
}

// shardDistribution answers, for every collection of the request's database,
// each shard's planned and current leader and followers (reference §6.4).
func (a *admin) shardDistribution(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := ctxOf(r)
	defer cancel()
	s, err := a.snapshot(ctx)
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	db := a.database(r)
	results := map[string]any{}
	for cid, c := range s.Collections[db] {
		if c == nil {
			continue
		}
		plan, cur := map[string]shardServers{}, map[string]shardServers{}
		for sh, servers := range c.Shards {
			plan[sh] = split(servers)
			if cs := s.Current[db][cid][sh]; cs != nil {
				cur[sh] = split(cs.Servers)
			}
		}
		results[c.Name] = map[string]any{"Plan": plan, "Current": cur}
	}
	arangohttp.WriteJSON(w, http.StatusOK, map[string]any{"results": results, "error": false, "code": 200})
}

func split(servers []string) shardServers {
	out := shardServers{Followers: []string{}}
	if len(servers) > 0 {
		out.Leader = servers[0]
		out.Followers = append(out.Followers, servers[1:]...)
	}
	return out
}

// getMaintenance reports whether supervision is in maintenance mode.
func (a *admin) getMaintenance(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := ctxOf(r)
	defer cancel()
	var until string
	ok, err := a.Agency.Get(ctx, cluster.SupervisionMaint, &until)
	if err != nil {
		arangohttp.WriteError(w, unavailable(err))
		return
	}
	mode := "Normal"
	if t, perr := cluster.ParseTime(until); ok && (perr != nil || time.Now().Before(t)) {
		mode = "Maintenance"
	}
	arangohttp.WriteJSON(w, http.StatusOK, map[string]any{"error": false, "code": 200, "result": mode})
}

// putMaintenance switches supervision's maintenance mode "on" (for an hour,
// unless repeated) or "off".
func (a *admin) putMaintenance(w http.ResponseWriter, r *http.Request) {
	var mode string
	if err := readBody(r, &mode); err != nil || (mode != "on" && mode != "off") {
		arangohttp.WriteError(w, badParam("body must be \"on\" or \"off\""))
		return
	}
	ctx, cancel := ctxOf(r)
	defer cancel()
	op := cluster.Delete()
	if mode == "on" {
		op = cluster.SetTTL(cluster.FormatTime(time.Now().Add(time.Hour)), time.Hour)
	}
	if _, err := a.Agency.Write(ctx, cluster.Transaction{Ops: map[string]cluster.Operation{cluster.SupervisionMaint: op}}); err != nil {
		arangohttp.WriteError(w, unavailable(err))
		return
	}
	body := map[string]any{"error": false, "code": 200}
	if mode == "on" {
		body["warning"] = "Cluster supervision deactivated. It will be reactivated automatically in 60 minutes unless this call is repeated until then."
	}
	arangohttp.WriteJSON(w, http.StatusOK, body)
}
