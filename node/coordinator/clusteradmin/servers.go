package clusteradmin

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/arangomesos/arangomesos/node/arangohttp"
	"github.com/arangomesos/arangomesos/node/cluster"
	"github.com/arangomesos/arangomesos/node/supervision"
)

// getNumberOfServers answers GET /_admin/cluster/numberOfServers with the raw
// values of Target/NumberOfDBServers, NumberOfCoordinators (either may be
// null) and CleanedServers, in ArangoDB's top-level shape (reference §6.3).
func (a *admin) getNumberOfServers(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := ctxOf(r)
	defer cancel()
	res, err := a.Agency.Read(ctx, cluster.ReadQuery{cluster.TargetNumDBServers, cluster.TargetNumCoordinators, cluster.TargetCleanedServers})
	if err != nil {
		arangohttp.WriteError(w, unavailable(err))
		return
	}
	var dbs, coords any
	cleaned := []string{}
	_, _ = cluster.ExtractPath(res[0], cluster.TargetNumDBServers, &dbs)
	_, _ = cluster.ExtractPath(res[0], cluster.TargetNumCoordinators, &coords)
	_, _ = cluster.ExtractPath(res[0], cluster.TargetCleanedServers, &cleaned)
	arangohttp.WriteJSON(w, http.StatusOK, map[string]any{"numberOfDBServers": dbs, "numberOfCoordinators": coords,
		"cleanedServers": cleaned, "error": false, "code": 200})
}

// putNumberOfServers sets the desired counts (and may reset CleanedServers)
// in one Agency write. Each field is optional and may be null; wrong types,
// counts below 1, and a DBServer count below the largest replicationFactor
// are refused with nothing written.
func (a *admin) putNumberOfServers(w http.ResponseWriter, r *http.Request) {
	var body map[string]json.RawMessage
	if err := readBody(r, &body); err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	ctx, cancel := ctxOf(r)
	defer cancel()
	ops := map[string]cluster.Operation{}
	count := func(field, key string) error {
		raw, ok := body[field]
		if !ok {
			return nil
		}
		if string(raw) == "null" {
			ops[key] = cluster.Set(nil)
			return nil
		}
		var n int
		if err := json.Unmarshal(raw, &n); err != nil || n < 1 {
			return badParam("%s must be a positive integer or null, got %s", field, raw)
		}
		ops[key] = cluster.Set(n)
		return nil
	}
	if err := count("numberOfDBServers", cluster.TargetNumDBServers); err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	if err := count("numberOfCoordinators", cluster.TargetNumCoordinators); err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	if raw, ok := body["cleanedServers"]; ok {
		var list []string
		if err := json.Unmarshal(raw, &list); err != nil {
			arangohttp.WriteError(w, badParam("cleanedServers must be an array of server ids"))
			return
		}
		if list == nil {
			list = []string{}
		}
		ops[cluster.TargetCleanedServers] = cluster.Set(list)
	}
	for k := range body {
		if k != "numberOfDBServers" && k != "numberOfCoordinators" && k != "cleanedServers" {
			arangohttp.WriteError(w, badParam("unknown attribute %q", k))
			return
		}
	}
	if len(ops) == 0 {
		arangohttp.WriteJSON(w, http.StatusOK, map[string]any{"error": false, "code": 200})
		return
	}
	if op, ok := ops[cluster.TargetNumDBServers]; ok && op.New != nil {
		s, err := a.snapshot(ctx)
		if err != nil {
			arangohttp.WriteError(w, err)
			return
		}
		if n, rf := op.New.(int), supervision.MaxReplicationFactor(s); n < rf {
			arangohttp.WriteError(w, arangohttp.Errorf(http.StatusBadRequest, arangohttp.ErrNumInsufficientDBServers,
				"numberOfDBServers %d is lower than the largest replicationFactor %d", n, rf))
			return
		}
	}
	if _, err := a.Agency.Write(ctx, cluster.Transaction{Ops: ops}); err != nil {
		arangohttp.WriteError(w, unavailable(err))
		return
	}
	arangohttp.WriteJSON(w, http.StatusOK, map[string]any{"error": false, "code": 200})
}

// removeServer removes a server from the cluster (reference §6.2): it must be
// FAILED or have shut down, and — for a DBServer — hold no shard in Plan or
// Current. Its Plan, Current, Health and short name entries go, and
// Target/RemovedServers records it, so it can never register again.
func (a *admin) removeServer(w http.ResponseWriter, r *http.Request) {
	b, err := arangohttp.ReadBody(r, 1<<16)
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	var name string
	if json.Unmarshal(b, &name) != nil {
		var obj struct {
			Server string `json:"server"`
		}
		if err := arangohttp.Decode(b, &obj); err != nil {
			arangohttp.WriteError(w, err)
			return
		}
		name = obj.Server
	}
	if name == "" {
		arangohttp.WriteError(w, badParam("body must be a server id or {\"server\":id}"))
		return
	}
	ctx, cancel := ctxOf(r)
	defer cancel()
	for attempt := 0; ; attempt++ {
		s, err := a.snapshot(ctx)
		if err != nil {
			arangohttp.WriteError(w, err)
			return
		}
		id, ok := resolveServer(s, name)
		if !ok {
			arangohttp.WriteError(w, arangohttp.NotFound("unknown server %s", name))
			return
		}
		rec := s.Health[id]
		stopped := rec.SyncStatus == "STOPPED" || rec.SyncStatus == "SHUTDOWN"
		if rec.Status != cluster.StatusFailed && !stopped {
			arangohttp.WriteError(w, arangohttp.Errorf(http.StatusPreconditionFailed, arangohttp.ErrNumHTTPPreconditionFailed,
				"server %s is %s; only a FAILED or stopped server can be removed", id, rec.Status))
			return
		}
		for _, ref := range s.Shards() {
			holds := supervision.HoldsShard(s, ref, id)
			if holds {
				arangohttp.WriteError(w, arangohttp.Errorf(http.StatusPreconditionFailed, arangohttp.ErrNumHTTPPreconditionFailed,
					"server %s still holds shard %s; clean it out first", id, ref.Shard))
				return
			}
		}
		role, _ := cluster.RoleOfID(id)
		planKey, curKey := cluster.PlanDBServers, cluster.CurrentDBServers
		if role == cluster.RoleCoordinator {
			planKey, curKey = cluster.PlanCoordinators, cluster.CurrentCoordinators
		}
		var planVersion any
		_, _ = a.Agency.Get(ctx, cluster.PlanVersion, &planVersion)
		t := cluster.Transaction{Ops: map[string]cluster.Operation{
			cluster.Join(planKey, id): cluster.Delete(), cluster.Join(curKey, id): cluster.Delete(),
			cluster.Join(cluster.CurrentServersReg, id): cluster.Delete(), cluster.Join(cluster.CurrentServersKnown, id): cluster.Delete(),
			cluster.Join(cluster.SupervisionHealth, id): cluster.Delete(), cluster.Join(cluster.TargetMapShortID, id): cluster.Delete(),
			cluster.Join(cluster.TargetFailedServers, id): cluster.Delete(), cluster.TargetCleanedServers: cluster.Erase(id),
			cluster.Join(cluster.TargetRemovedServers, id): cluster.Set(cluster.FormatTime(time.Now())),
			cluster.PlanVersion:                            cluster.Increment(1),
		}, Preconds: map[string]cluster.Precondition{
			cluster.Join(cluster.SupervisionHealth, id, "Status"): cluster.Old(rec.Status),
			cluster.Join(cluster.SupervisionDBServers, id):        cluster.OldEmpty(true),
			cluster.PlanVersion: cluster.Old(planVersion),
		}}
		res, err := a.Agency.Write(ctx, t)
		if err != nil {
			arangohttp.WriteError(w, unavailable(err))
			return
		}
		if res.OK() {
			a.Log.Info("removed server from the cluster", "server", id)
			arangohttp.WriteJSON(w, http.StatusOK, map[string]any{"error": false, "code": 200})
			return
		}
		if attempt >= 20 || ctx.Err() != nil {
			arangohttp.WriteError(w, arangohttp.Errorf(http.StatusPreconditionFailed, arangohttp.ErrNumHTTPPreconditionFailed,
				"the cluster kept changing; server %s was not removed", id))
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}
