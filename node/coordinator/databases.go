package coordinator

import (
	"net/http"
	"sort"
	"strconv"

	"github.com/arangomesos/arangomesos/node/arangohttp"
	"github.com/arangomesos/arangomesos/node/cluster"
)

const errNumUseSystemDatabase = 1230

// validName checks a database or collection name (ArangoDB's traditional
// rules: letters, digits, _ and -, starting with a letter — or with _ for
// system names — and at most 64 bytes for databases, 256 for collections).
func validName(name string, max int, system bool) bool {
	if name == "" || len(name) > max {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		letter := (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		switch {
		case i == 0 && !(letter || (system && c == '_')):
			return false
		case !(letter || (c >= '0' && c <= '9') || c == '_' || c == '-'):
			return false
		}
	}
	return true
}

func ok200(extra map[string]any) map[string]any {
	m := map[string]any{"error": false, "code": 200}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func (s *Server) handleCreateDatabase(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name    string `json:"name"`
		Options struct {
			ReplicationFactor any    `json:"replicationFactor"`
			WriteConcern      int    `json:"writeConcern"`
			Sharding          string `json:"sharding"`
		} `json:"options"`
	}
	if !s.decodeBody(w, r, &req) {
		return
	}
	if Database(r) != cluster.SystemDatabase {
		arangohttp.WriteError(w, arangohttp.Errorf(http.StatusForbidden, errNumUseSystemDatabase, "operation only allowed in system database"))
		return
	}
	if !validName(req.Name, 64, false) {
		arangohttp.WriteError(w, arangohttp.Errorf(http.StatusBadRequest, arangohttp.ErrNumDatabaseNameInvalid, "database name invalid"))
		return
	}
	ctx := r.Context()
	id, err := s.ids.Reserve(ctx, 1)
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	rf, _ := replicationFactorOf(req.Options.ReplicationFactor)
	rec := cluster.PlanDatabase{Name: req.Name, ID: strconv.FormatUint(id, 10), ReplicationFactor: rf,
		WriteConcern: req.Options.WriteConcern, Sharding: req.Options.Sharding}
	dbKey := cluster.Join(cluster.PlanDatabases, req.Name)
	res, err := s.agency.Write(ctx, cluster.Transaction{
		Ops: map[string]cluster.Operation{dbKey: cluster.Set(rec),
			cluster.Join(cluster.PlanCollections, req.Name): cluster.Set(map[string]any{}),
			cluster.PlanVersion:                             cluster.Increment(1)},
		Preconds: map[string]cluster.Precondition{dbKey: cluster.OldEmpty(true)}})
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	if !res.OK() {
		arangohttp.WriteError(w, arangohttp.Errorf(http.StatusConflict, arangohttp.ErrNumDuplicateName, "duplicate database name '%s'", req.Name))
		return
	}
	if _, err := s.view.WaitIndex(ctx, res.Index()); err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	arangohttp.WriteJSON(w, http.StatusCreated, map[string]any{"error": false, "code": 201, "result": true})
}

func (s *Server) handleListDatabases(w http.ResponseWriter, r *http.Request) {
	snap := s.view.Snapshot()
	names := make([]string, 0, len(snap.Databases))
	for n, d := range snap.Databases {
		if !d.IsBuilding {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	arangohttp.WriteJSON(w, http.StatusOK, ok200(map[string]any{"result": names}))
}

func (s *Server) handleCurrentDatabase(w http.ResponseWriter, r *http.Request) {
	db := Database(r)
	d := s.view.Snapshot().Databases[db]
	id := d.ID
	if id == "" {
		id = "1"
	}
	rf := d.ReplicationFactor
	if rf == 0 {
		rf = s.cfg.DefaultReplicationFactor
	}
	arangohttp.WriteJSON(w, http.StatusOK, ok200(map[string]any{"result": map[string]any{
		"id": id, "name": db, "isSystem": db == cluster.SystemDatabase, "path": "none",
		"sharding": d.Sharding, "replicationFactor": rf, "writeConcern": max(1, d.WriteConcern)}}))
}

func (s *Server) handleDropDatabase(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if name == cluster.SystemDatabase {
		arangohttp.WriteError(w, arangohttp.Errorf(http.StatusForbidden, errNumUseSystemDatabase, "operation only allowed in system database"))
		return
	}
	ctx := r.Context()
	dbKey := cluster.Join(cluster.PlanDatabases, name)
	res, err := s.agency.Write(ctx, cluster.Transaction{
		Ops: map[string]cluster.Operation{dbKey: cluster.Delete(),
			cluster.Join(cluster.PlanCollections, name):    cluster.Delete(),
			cluster.Join(cluster.CurrentCollections, name): cluster.Delete(),
			cluster.Join(cluster.CurrentDatabases, name):   cluster.Delete(),
			cluster.PlanVersion:                            cluster.Increment(1),
			cluster.CurrentVersion:                         cluster.Increment(1)},
		Preconds: map[string]cluster.Precondition{dbKey: cluster.OldEmpty(false)}})
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	if !res.OK() {
		arangohttp.WriteError(w, arangohttp.Errorf(http.StatusNotFound, arangohttp.ErrNumDatabaseNotFound, "database not found"))
		return
	}
	_, _ = s.view.WaitIndex(ctx, res.Index())
	arangohttp.WriteJSON(w, http.StatusOK, ok200(map[string]any{"result": true}))
}

// decodeBody reads and decodes a JSON request body, answering the error
// itself; it reports whether the handler may go on.
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := arangohttp.ReadBody(r, s.cfg.BodyLimit)
	if err == nil {
		err = arangohttp.Decode(body, v)
	}
	if err != nil {
		if ae := arangohttp.AsError(err); ae.Num == 4 {
			err = arangohttp.Errorf(http.StatusBadRequest, arangohttp.ErrNumHTTPCorruptedJSON, "invalid JSON: %v", err)
		}
		arangohttp.WriteError(w, err)
		return false
	}
	return true
}
