package coordinator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/arangomesos/arangomesos/node/arangohttp"
	"github.com/arangomesos/arangomesos/node/cluster"
	"github.com/arangomesos/arangomesos/node/shardapi"
)

func errCollectionNotFound(name string) *arangohttp.Error {
	return arangohttp.Errorf(http.StatusNotFound, arangohttp.ErrNumDataSourceNotFound, "collection or view not found: %s", name)
}

// collection finds a collection of the request's database, asking the
// Agency on a miss (another coordinator may just have created it).
func (s *Server) collection(ctx context.Context, db, name string) (*cluster.PlanCollection, error) {
	if c := s.view.Snapshot().Collection(db, name); c != nil {
		return c, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var colls map[string]*cluster.PlanCollection
	if _, err := s.agency.Get(ctx, cluster.Join(cluster.PlanCollections, db), &colls); err != nil {
		return nil, err
	}
	found := false
	for id, c := range colls {
		if c != nil && !c.Deleted && !c.IsBuilding && (c.Name == name || id == name) {
			found = true
		}
	}
	if !found {
		return nil, errCollectionNotFound(name)
	}
	var c *cluster.PlanCollection
	s.waitView(ctx, func(snap *cluster.Snapshot) bool { c = snap.Collection(db, name); return c != nil })
	if c == nil {
		return nil, errCollectionNotFound(name)
	}
	return c, nil
}

// replicationFactorOf accepts a number or "satellite" (0: not given).
func replicationFactorOf(v any) (int, bool) {
	switch t := v.(type) {
	case nil:
		return 0, true
	case json.Number:
		n, err := t.Int64()
		return int(n), err == nil && n >= 1
	case float64:
		return int(t), t >= 1
	case string:
		if t == "satellite" {
			return -1, true
		}
		n, err := strconv.Atoi(t)
		return n, err == nil && n >= 1
	}
	return 0, false
}

// boolParam reads a query parameter as ArangoDB does: true/1/yes are true;
// absent gives def.
func boolParam(r *http.Request, name string, def bool) bool {
	if r.URL.RawQuery == "" {
		return def
	}
	v, ok := r.URL.Query()[name]
	if !ok || len(v) == 0 {
		return def
	}
	switch v[0] {
	case "true", "1", "yes", "on", "":
		return true
	}
	return false
}

type createCollection struct {
	Name                 string              `json:"name"`
	Type                 int                 `json:"type"`
	NumberOfShards       int                 `json:"numberOfShards"`
	ReplicationFactor    any                 `json:"replicationFactor"`
	WriteConcern         int                 `json:"writeConcern"`
	MinReplicationFactor int                 `json:"minReplicationFactor"`
	ShardKeys            []string            `json:"shardKeys"`
	DistributeShardsLike string              `json:"distributeShardsLike"`
	ShardingStrategy     string              `json:"shardingStrategy"`
	WaitForSync          bool                `json:"waitForSync"`
	IsSystem             bool                `json:"isSystem"`
	CacheEnabled         bool                `json:"cacheEnabled"`
	KeyOptions           *cluster.KeyOptions `json:"keyOptions"`
	Schema               any                 `json:"schema"`
}

func (s *Server) handleCreateCollection(w http.ResponseWriter, r *http.Request) {
	var req createCollection
	if !s.decodeBody(w, r, &req) {
		return
	}
	c, err := s.createCollection(r.Context(), Database(r), req,
		boolParam(r, "waitForSyncReplication", true), boolParam(r, "enforceReplicationFactor", true))
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	arangohttp.WriteJSON(w, http.StatusOK, ok200(collectionProperties(c)))
}

func badParam(format string, args ...any) error {
	return arangohttp.Errorf(http.StatusBadRequest, arangohttp.ErrNumBadParameter, format, args...)
}

// createCollection validates the request, places the shards, writes the
// Plan and waits until Current shows every shard (with all its copies when
// waitForSyncReplication).
func (s *Server) createCollection(ctx context.Context, db string, req createCollection, waitRepl, enforce bool) (*cluster.PlanCollection, error) {
	if !validName(req.Name, 256, true) || (req.Name[0] == '_' && !req.IsSystem) {
		return nil, arangohttp.Errorf(http.StatusBadRequest, arangohttp.ErrNumIllegalName, "illegal name")
	}
	if req.Type == 0 {
		req.Type = 2
	}
	if req.Type != 2 && req.Type != 3 {
		return nil, badParam("invalid collection type %d", req.Type)
	}
	snap := s.view.Snapshot()
	dbRec := snap.Databases[db]
	rf, ok := replicationFactorOf(req.ReplicationFactor)
	if !ok {
		return nil, badParam("invalid replicationFactor")
	}
	if rf == 0 {
		rf = max(dbRec.ReplicationFactor, s.cfg.DefaultReplicationFactor)
	}
	wc := req.WriteConcern
	if wc == 0 {
		wc = req.MinReplicationFactor
	}
	if wc == 0 {
		wc = max(1, dbRec.WriteConcern)
	}
	if req.NumberOfShards == 0 {
		req.NumberOfShards = 1
	}
	if req.NumberOfShards < 1 || req.NumberOfShards > 1000 {
		return nil, badParam("invalid numberOfShards %d", req.NumberOfShards)
	}
	if len(req.ShardKeys) == 0 {
		req.ShardKeys = []string{"_key"}
	}
	if len(req.ShardKeys) > 8 {
		return nil, badParam("too many shard keys")
	}
	for _, k := range req.ShardKeys {
		if k == "" || (k != "_key" && k[0] == '_') {
			return nil, badParam("invalid shard key %q", k)
		}
	}
	servers := s.healthyDBServers(snap)
	if rf == -1 { // satellite: a copy on every DBServer
		rf = max(1, len(servers))
	}
	if rf > len(servers) && !enforce {
		rf = max(1, len(servers))
	}
	var proto *cluster.PlanCollection
	if req.DistributeShardsLike != "" {
		if proto = snap.Collection(db, req.DistributeShardsLike); proto == nil {
			return nil, errCollectionNotFound(req.DistributeShardsLike)
		}
		req.NumberOfShards, rf = proto.NumberOfShards, proto.ReplicationFactor
	}
	if wc > rf {
		return nil, badParam("writeConcern (%d) must not be higher than replicationFactor (%d)", wc, rf)
	}
	keyOpts := cluster.KeyOptions{Type: "traditional", AllowUserKeys: true}
	if req.KeyOptions != nil {
		keyOpts = *req.KeyOptions
		if keyOpts.Type == "" {
			keyOpts.Type = "traditional"
		}
	}
	first, err := s.ids.Reserve(ctx, 1+req.NumberOfShards)
	if err != nil {
		return nil, err
	}
	cid := strconv.FormatUint(first, 10)
	names := make([]string, req.NumberOfShards)
	for i := range names {
		names[i] = shardName(first + 1 + uint64(i))
	}
	var shards map[string][]string
	if proto != nil {
		shards = map[string][]string{}
		for i, ps := range proto.ShardNames() {
			shards[names[i]] = append([]string(nil), proto.Shards[ps]...)
		}
	} else if shards, err = placeShards(names, servers, rf, leaderLoad(snap)); err != nil {
		return nil, err
	}
	c := &cluster.PlanCollection{ID: cid, Name: req.Name, Type: req.Type, Status: 3, StatusString: "loaded",
		IsSystem: req.IsSystem, NumberOfShards: req.NumberOfShards, ReplicationFactor: rf, WriteConcern: wc,
		MinReplicationFactor: wc, ShardKeys: req.ShardKeys, ShardingStrategy: cluster.ShardingStrategy,
		DistributeShardsLike: req.DistributeShardsLike, WaitForSync: req.WaitForSync, CacheEnabled: req.CacheEnabled,
		KeyOptions: keyOpts, Schema: req.Schema, Shards: shards,
		Indexes: []cluster.Index{{ID: "0", Type: "primary", Name: "primary", Fields: []string{"_key"}, Unique: true}}}
	// The name must be new in the database: compare-and-set on the Plan
	// version we checked it against, and retry if the Plan moved on.
	for attempt := 0; ; attempt++ {
		snap = s.view.Snapshot()
		if snap.Collection(db, req.Name) != nil {
			return nil, arangohttp.Errorf(http.StatusConflict, arangohttp.ErrNumDuplicateName, "duplicate name")
		}
		var version json.Number
		if _, err := s.agency.Get(ctx, cluster.PlanVersion, &version); err != nil {
			return nil, err
		}
		var colls map[string]*cluster.PlanCollection
		if _, err := s.agency.Get(ctx, cluster.Join(cluster.PlanCollections, db), &colls); err != nil {
			return nil, err
		}
		for _, other := range colls {
			if other != nil && other.Name == req.Name && !other.Deleted {
				return nil, arangohttp.Errorf(http.StatusConflict, arangohttp.ErrNumDuplicateName, "duplicate name")
			}
		}
		res, err := s.agency.Write(ctx, cluster.Transaction{
			Ops: map[string]cluster.Operation{cluster.Join(cluster.PlanCollections, db, cid): cluster.Set(c),
				cluster.PlanVersion: cluster.Increment(1)},
			Preconds: map[string]cluster.Precondition{cluster.PlanVersion: cluster.Old(version),
				cluster.Join(cluster.PlanDatabases, db): cluster.OldEmpty(false)}})
		if err != nil {
			return nil, err
		}
		if res.OK() {
			if _, err := s.view.WaitIndex(ctx, res.Index()); err != nil {
				return nil, err
			}
			break
		}
		if attempt > 50 {
			return nil, arangohttp.Unavailable("the Plan changes too fast to create collection %s", req.Name)
		}
	}
	if err := s.waitShardsReady(ctx, db, c, waitRepl); err != nil {
		return nil, err
	}
	return c, nil
}

// waitShardsReady waits until Current lists every shard's planned leader
// (and, with all, every planned copy).
func (s *Server) waitShardsReady(ctx context.Context, db string, c *cluster.PlanCollection, all bool) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CollectionTimeout)
	defer cancel()
	ok := s.waitView(ctx, func(snap *cluster.Snapshot) bool {
		pc := snap.Collections[db][c.ID]
		if pc == nil {
			return false
		}
		for name, planned := range pc.Shards {
			cur, ok := snap.CurrentShard(db, c.ID, name)
			if !ok || len(cur.Servers) == 0 || cur.Servers[0] != planned[0] {
				return false
			}
			if all {
				for _, p := range planned {
					if !slices.Contains(cur.Servers, p) {
						return false
					}
				}
			}
		}
		return true
	})
	if !ok {
		return arangohttp.Errorf(http.StatusGatewayTimeout, arangohttp.ErrNumClusterTimeout,
			"timeout waiting for the shards of %s to be created", c.Name)
	}
	return nil
}

// healthyDBServers lists the Plan's DBServers that are registered, healthy
// and not removed.
func (s *Server) healthyDBServers(snap *cluster.Snapshot) []string {
	var out []string
	for _, id := range snap.DBServers {
		if snap.Endpoint(id) != "" && snap.Healthy(id) && !snap.Removed[id] {
			out = append(out, id)
		}
	}
	return out
}

// leaderLoad counts the shards each server leads.
func leaderLoad(snap *cluster.Snapshot) map[string]int {
	load := map[string]int{}
	for _, colls := range snap.Collections {
		for _, c := range colls {
			if c == nil {
				continue
			}
			for _, servers := range c.Shards {
				if len(servers) > 0 {
					id, _ := cluster.ResigningLeader(servers[0])
					load[id]++
				}
			}
		}
	}
	return load
}

// collectionInfo is the short description of a collection.
func collectionInfo(c *cluster.PlanCollection) map[string]any {
	return map[string]any{"id": c.ID, "name": c.Name, "status": 3, "statusString": "loaded", "type": c.Type,
		"isSystem": c.IsSystem, "globallyUniqueId": "c" + c.ID + "/"}
}

// collectionProperties is a collection's full description, as ArangoDB's
// cluster answers it.
func collectionProperties(c *cluster.PlanCollection) map[string]any {
	m := collectionInfo(c)
	for k, v := range map[string]any{"waitForSync": c.WaitForSync, "numberOfShards": c.NumberOfShards,
		"replicationFactor": c.ReplicationFactor, "writeConcern": c.WriteConcern, "minReplicationFactor": c.WriteConcern,
		"shardKeys": c.ShardKeys, "shardingStrategy": c.ShardingStrategy, "isSmart": false, "isDisjoint": false,
		"isSmartChild": false, "usesRevisionsAsDocumentIds": true, "syncByRevision": true, "schema": c.Schema,
		"cacheEnabled": c.CacheEnabled, "internalValidatorType": 0, "keyOptions": c.KeyOptions, "computedValues": nil} {
		m[k] = v
	}
	if c.DistributeShardsLike != "" {
		m["distributeShardsLike"] = c.DistributeShardsLike
	}
	return m
}

func (s *Server) handleListCollections(w http.ResponseWriter, r *http.Request) {
	snap := s.view.Snapshot()
	excl := boolParam(r, "excludeSystem", false)
	out := []any{}
	for _, name := range snap.CollectionNames(Database(r)) {
		c := snap.Collection(Database(r), name)
		if excl && c.IsSystem {
			continue
		}
		out = append(out, collectionInfo(c))
	}
	arangohttp.WriteJSON(w, http.StatusOK, ok200(map[string]any{"result": out}))
}

// withCollection resolves the {collection} of the path and calls fn.
func (s *Server) withCollection(fn func(w http.ResponseWriter, r *http.Request, c *cluster.PlanCollection)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := s.collection(r.Context(), Database(r), r.PathValue("collection"))
		if err != nil {
			arangohttp.WriteError(w, err)
			return
		}
		fn(w, r, c)
	}
}

func (s *Server) handleGetCollection(w http.ResponseWriter, r *http.Request, c *cluster.PlanCollection) {
	arangohttp.WriteJSON(w, http.StatusOK, ok200(collectionInfo(c)))
}

func (s *Server) handleProperties(w http.ResponseWriter, r *http.Request, c *cluster.PlanCollection) {
	arangohttp.WriteJSON(w, http.StatusOK, ok200(collectionProperties(c)))
}

func (s *Server) handleSetProperties(w http.ResponseWriter, r *http.Request, c *cluster.PlanCollection) {
	var req struct {
		WaitForSync       *bool `json:"waitForSync"`
		ReplicationFactor any   `json:"replicationFactor"`
		WriteConcern      *int  `json:"writeConcern"`
		CacheEnabled      *bool `json:"cacheEnabled"`
		Schema            any   `json:"schema"`
	}
	if !s.decodeBody(w, r, &req) {
		return
	}
	db := Database(r)
	updated, err := s.updateCollection(r.Context(), db, c.ID, func(pc *cluster.PlanCollection) error {
		if req.WaitForSync != nil {
			pc.WaitForSync = *req.WaitForSync
		}
		if req.CacheEnabled != nil {
			pc.CacheEnabled = *req.CacheEnabled
		}
		if req.Schema != nil {
			pc.Schema = req.Schema
		}
		if rf, ok := replicationFactorOf(req.ReplicationFactor); !ok {
			return badParam("invalid replicationFactor")
		} else if rf > 0 {
			if rf > len(s.healthyDBServers(s.view.Snapshot())) {
				return arangohttp.Errorf(http.StatusBadRequest, arangohttp.ErrNumInsufficientDBServers,
					"number of DB servers lower than requested replicationFactor (%d)", rf)
			}
			pc.ReplicationFactor = rf
		}
		if req.WriteConcern != nil {
			pc.WriteConcern, pc.MinReplicationFactor = *req.WriteConcern, *req.WriteConcern
		}
		if pc.WriteConcern > pc.ReplicationFactor || pc.WriteConcern < 1 {
			return badParam("writeConcern must be between 1 and replicationFactor")
		}
		return nil
	})
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	arangohttp.WriteJSON(w, http.StatusOK, ok200(collectionProperties(updated)))
}

// updateCollection changes a collection's Plan record with a
// compare-and-set on its previous value, retrying when others changed it.
func (s *Server) updateCollection(ctx context.Context, db, cid string, change func(*cluster.PlanCollection) error) (*cluster.PlanCollection, error) {
	key := cluster.Join(cluster.PlanCollections, db, cid)
	for attempt := 0; attempt < 50; attempt++ {
		var raw any
		ok, err := s.agency.Get(ctx, key, &raw)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errCollectionNotFound(cid)
		}
		b, _ := json.Marshal(raw)
		var pc cluster.PlanCollection
		if err := json.Unmarshal(b, &pc); err != nil {
			return nil, fmt.Errorf("coordinator: decode collection %s: %w", cid, err)
		}
		if err := change(&pc); err != nil {
			return nil, err
		}
		res, err := s.agency.Write(ctx, cluster.Transaction{
			Ops:      map[string]cluster.Operation{key: cluster.Set(&pc), cluster.PlanVersion: cluster.Increment(1)},
			Preconds: map[string]cluster.Precondition{key: cluster.Old(raw)}})
		if err != nil {
			return nil, err
		}
		if res.OK() {
			_, err := s.view.WaitIndex(ctx, res.Index())
			return &pc, err
		}
	}
	return nil, arangohttp.Unavailable("collection %s changes too fast", cid)
}

func (s *Server) handleDropCollection(w http.ResponseWriter, r *http.Request, c *cluster.PlanCollection) {
	db := Database(r)
	if c.IsSystem && !boolParam(r, "isSystem", false) {
		arangohttp.WriteError(w, arangohttp.Errorf(http.StatusForbidden, arangohttp.ErrNumForbidden, "forbidden"))
		return
	}
	res, err := s.agency.Write(r.Context(), cluster.Transaction{Ops: map[string]cluster.Operation{
		cluster.Join(cluster.PlanCollections, db, c.ID):    cluster.Delete(),
		cluster.Join(cluster.CurrentCollections, db, c.ID): cluster.Delete(),
		cluster.PlanVersion:    cluster.Increment(1),
		cluster.CurrentVersion: cluster.Increment(1)}})
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	_, _ = s.view.WaitIndex(r.Context(), res.Index())
	arangohttp.WriteJSON(w, http.StatusOK, ok200(map[string]any{"id": c.ID}))
}

func (s *Server) handleCount(w http.ResponseWriter, r *http.Request, c *cluster.PlanCollection) {
	var total int64
	err := s.eachShard(r.Context(), Database(r), c, func(ctx context.Context, ep, shard string) error {
		var resp shardapi.CountResponse
		if err := s.client.Call(ctx, ep, http.MethodGet, shardapi.Path(shardapi.PathCount, shard), nil, nil, &resp); err != nil {
			return err
		}
		addInt64(&total, resp.Count)
		return nil
	})
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	m := collectionProperties(c)
	m["count"] = total
	arangohttp.WriteJSON(w, http.StatusOK, ok200(m))
}

func (s *Server) handleTruncate(w http.ResponseWriter, r *http.Request, c *cluster.PlanCollection) {
	err := s.eachShard(r.Context(), Database(r), c, func(ctx context.Context, ep, shard string) error {
		h := http.Header{}
		h.Set(shardapi.HeaderOpID, newOpID())
		return s.client.Call(ctx, ep, http.MethodPost, shardapi.Path(shardapi.PathWrite, shard), h,
			shardapi.WriteRequest{Collection: c.Name, Op: shardapi.OpTruncate,
				Options: shardapi.WriteOptions{WaitForSync: boolParam(r, "waitForSync", c.WaitForSync)}}, nil)
	})
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	arangohttp.WriteJSON(w, http.StatusOK, ok200(collectionProperties(c)))
}

func (s *Server) handleShards(w http.ResponseWriter, r *http.Request, c *cluster.PlanCollection) {
	m := collectionProperties(c)
	if boolParam(r, "details", false) {
		d := map[string][]string{}
		for name, servers := range c.Shards {
			d[name] = servers
		}
		m["shards"] = d
	} else {
		m["shards"] = c.ShardNames()
	}
	arangohttp.WriteJSON(w, http.StatusOK, ok200(m))
}

func (s *Server) handleResponsibleShard(w http.ResponseWriter, r *http.Request, c *cluster.PlanCollection) {
	var doc map[string]any
	if !s.decodeBody(w, r, &doc) {
		return
	}
	key, _ := doc["_key"].(string)
	shard, complete := shardOf(c, key, doc)
	if !complete {
		arangohttp.WriteError(w, arangohttp.Errorf(http.StatusBadRequest, arangohttp.ErrNumNotAllShardingAttributes, "not all sharding attributes given"))
		return
	}
	arangohttp.WriteJSON(w, http.StatusOK, ok200(map[string]any{"shardId": shard}))
}

var errNoShards = errors.New("coordinator: collection has no shards")
