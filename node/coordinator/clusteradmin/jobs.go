package clusteradmin

import (
	"encoding/json"
	"net/http"

	"github.com/arangomesos/arangomesos/node/arangohttp"
	"github.com/arangomesos/arangomesos/node/cluster"
	"github.com/arangomesos/arangomesos/node/supervision"
)

type serverRequest struct {
	Server string `json:"server"`
}

// cleanOutServer creates a cleanOutServer job for {"server": id or short
// name}; an infeasible clean-out is refused (400, errorNum 1487) and an
// unknown server gets 404. A clean-out already running for the server is
// answered with its job id.
func (a *admin) cleanOutServer(w http.ResponseWriter, r *http.Request) {
	a.serverJob(w, r, cluster.JobCleanOutServer, func(s *supervision.Snapshot, id string) error {
		if err := supervision.CleanOutFeasible(s, id); err != nil {
			return arangohttp.Errorf(http.StatusBadRequest, arangohttp.ErrNumInsufficientDBServers, "cannot clean out %s: %v", id, err)
		}
		return nil
	})
}

// resignLeadership creates a resignLeadership job for {"server": …}.
func (a *admin) resignLeadership(w http.ResponseWriter, r *http.Request) {
	a.serverJob(w, r, cluster.JobResignLeadership, func(s *supervision.Snapshot, id string) error {
		if !s.Good(id) {
			return arangohttp.Errorf(http.StatusPreconditionFailed, arangohttp.ErrNumHTTPPreconditionFailed,
				"server %s is %s; only a GOOD server can resign its leaderships", id, s.Status(id))
		}
		return nil
	})
}

func (a *admin) serverJob(w http.ResponseWriter, r *http.Request, kind string, check func(*supervision.Snapshot, string) error) {
	var req serverRequest
	if err := readBody(r, &req); err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	if req.Server == "" {
		arangohttp.WriteError(w, badParam("body must be {\"server\": id}"))
		return
	}
	ctx, cancel := ctxOf(r)
	defer cancel()
	s, err := a.snapshot(ctx)
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	id, ok := resolveServer(s, req.Server)
	if role, _ := cluster.RoleOfID(id); !ok || role != cluster.RoleDBServer {
		arangohttp.WriteError(w, arangohttp.NotFound("unknown DBServer %s", req.Server))
		return
	}
	for jid, j := range s.ToDo {
		if j.Type == kind && j.Server == id {
			jobAccepted(w, jid)
			return
		}
	}
	for jid, j := range s.Pending {
		if j.Type == kind && j.Server == id {
			jobAccepted(w, jid)
			return
		}
	}
	if err := check(s, id); err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	jid, err := a.createJob(ctx, cluster.Job{Type: kind, Server: id})
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	jobAccepted(w, jid)
}

type moveShardRequest struct {
	Database        string `json:"database"`
	Collection      string `json:"collection"`
	Shard           string `json:"shard"`
	FromServer      string `json:"fromServer"`
	ToServer        string `json:"toServer"`
	RemainsFollower *bool  `json:"remainsFollower"`
}

// moveShard creates a moveShard job (reference §6.2): 404 for an unknown
// collection, shard or server, 403 for a collection that follows another's
// sharding (distributeShardsLike), 400 when fromServer does not hold the
// shard or toServer already does.
func (a *admin) moveShard(w http.ResponseWriter, r *http.Request) {
	var req moveShardRequest
	if err := readBody(r, &req); err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	if req.Database == "" {
		req.Database = a.database(r)
	}
	if req.Collection == "" || req.Shard == "" || req.FromServer == "" || req.ToServer == "" {
		arangohttp.WriteError(w, badParam("moveShard needs collection, shard, fromServer and toServer"))
		return
	}
	ctx, cancel := ctxOf(r)
	defer cancel()
	s, err := a.snapshot(ctx)
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	var col *cluster.PlanCollection
	for _, c := range s.Collections[req.Database] {
		if c != nil && (c.Name == req.Collection || c.ID == req.Collection) {
			col = c
		}
	}
	if col == nil {
		arangohttp.WriteError(w, arangohttp.Errorf(http.StatusNotFound, arangohttp.ErrNumDataSourceNotFound,
			"collection or view not found: %s", req.Collection))
		return
	}
	if col.DistributeShardsLike != "" {
		arangohttp.WriteError(w, arangohttp.Errorf(http.StatusForbidden, arangohttp.ErrNumForbidden,
			"collection %s follows the sharding of %s; move that one instead", col.Name, col.DistributeShardsLike))
		return
	}
	plan, ok := col.Shards[req.Shard]
	if !ok {
		arangohttp.WriteError(w, arangohttp.NotFound("collection %s has no shard %s", col.Name, req.Shard))
		return
	}
	from, okFrom := resolveServer(s, req.FromServer)
	to, okTo := resolveServer(s, req.ToServer)
	roleFrom, _ := cluster.RoleOfID(from)
	roleTo, _ := cluster.RoleOfID(to)
	if !okFrom || !okTo || roleFrom != cluster.RoleDBServer || roleTo != cluster.RoleDBServer {
		arangohttp.WriteError(w, arangohttp.NotFound("unknown DBServer %s or %s", req.FromServer, req.ToServer))
		return
	}
	if !contains(plan, from) {
		arangohttp.WriteError(w, badParam("%s does not hold shard %s", from, req.Shard))
		return
	}
	if contains(plan, to) {
		arangohttp.WriteError(w, badParam("%s already holds shard %s", to, req.Shard))
		return
	}
	isLeader := plan[0] == from
	remains := isLeader && req.RemainsFollower != nil && *req.RemainsFollower
	jid, err := a.createJob(ctx, cluster.Job{Type: cluster.JobMoveShard, Database: req.Database, Collection: col.ID,
		Shard: req.Shard, FromServer: from, ToServer: to, IsLeader: isLeader, RemainsFollower: remains})
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	jobAccepted(w, jid)
}

// rebalanceShards creates up to 10 moveShard jobs that even out the
// DBServers' shard copies and leaderships; 200 without body fields when the
// cluster is balanced.
func (a *admin) rebalanceShards(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := ctxOf(r)
	defer cancel()
	s, err := a.snapshot(ctx)
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	moves := supervision.PlanRebalance(s, 10)
	if len(moves) == 0 {
		arangohttp.WriteJSON(w, http.StatusOK, map[string]any{"error": false, "code": 200})
		return
	}
	var ids []string
	for _, m := range moves {
		id, err := a.createJob(ctx, m)
		if err != nil {
			arangohttp.WriteError(w, err)
			return
		}
		ids = append(ids, id)
	}
	arangohttp.WriteJSON(w, http.StatusAccepted, map[string]any{"error": false, "code": 202, "jobs": ids})
}

// queryAgencyJob answers the job's fields plus its status (ToDo, Pending,
// Finished, Failed), as ArangoDB 3.7+ does; 404 for an unknown job.
func (a *admin) queryAgencyJob(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	if id == "" {
		arangohttp.WriteError(w, badParam("id is required"))
		return
	}
	ctx, cancel := ctxOf(r)
	defer cancel()
	for _, state := range []string{"ToDo", "Pending", "Finished", "Failed"} {
		var job map[string]any
		ok, err := a.Agency.Get(ctx, cluster.Join(cluster.Target, state, id), &job)
		if err != nil {
			arangohttp.WriteError(w, unavailable(err))
			return
		}
		if ok {
			job["error"], job["code"], job["job"], job["status"] = false, 200, id, state
			arangohttp.WriteJSON(w, http.StatusOK, job)
			return
		}
	}
	arangohttp.WriteError(w, arangohttp.NotFound("job %s not found", id))
}

// cancelAgencyJob asks a moveShard, cleanOutServer or resignLeadership job
// in ToDo or Pending to abort.
func (a *admin) cancelAgencyJob(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ID json.RawMessage `json:"id"`
	}
	if err := readBody(r, &req); err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	var id string
	if json.Unmarshal(req.ID, &id) != nil {
		var n json.Number
		if json.Unmarshal(req.ID, &n) != nil {
			arangohttp.WriteError(w, badParam("id is required"))
			return
		}
		id = n.String()
	}
	ctx, cancel := ctxOf(r)
	defer cancel()
	for _, state := range []string{"ToDo", "Pending"} {
		key := cluster.Join(cluster.Target, state, id)
		var job cluster.Job
		ok, err := a.Agency.Get(ctx, key, &job)
		if err != nil {
			arangohttp.WriteError(w, unavailable(err))
			return
		}
		if !ok {
			continue
		}
		switch job.Type {
		case cluster.JobMoveShard, cluster.JobCleanOutServer, cluster.JobResignLeadership:
		default:
			arangohttp.WriteError(w, badParam("a %s job cannot be cancelled", job.Type))
			return
		}
		res, err := a.Agency.Write(ctx, cluster.Transaction{Ops: map[string]cluster.Operation{cluster.Join(key, "abort"): cluster.Set(true)},
			Preconds: map[string]cluster.Precondition{key: cluster.OldEmpty(false)}})
		if err != nil {
			arangohttp.WriteError(w, unavailable(err))
			return
		}
		if res.OK() {
			arangohttp.WriteJSON(w, http.StatusOK, map[string]any{"job": id, "status": "aborted", "error": false})
			return
		}
	}
	arangohttp.WriteError(w, arangohttp.NotFound("job %s is not waiting or running", id))
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
