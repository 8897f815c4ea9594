package coordinator

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/arangomesos/arangomesos/node/arangohttp"
	"github.com/arangomesos/arangomesos/node/cluster"
)

const errNumClusterUnsupported = 1470

// persistentTypes are the index types served as persistent indexes; the
// requested name is echoed back.
var persistentTypes = []string{"persistent", "hash", "skiplist"}

// indexBody describes an index to clients: ids are "collection/id".
func indexBody(c *cluster.PlanCollection, ix cluster.Index) map[string]any {
	m := map[string]any{"id": c.Name + "/" + ix.ID, "name": ix.Name, "type": ix.Type, "fields": ix.Fields,
		"unique": ix.Unique, "sparse": ix.Sparse, "selectivityEstimate": 1}
	if ix.Type != "primary" {
		m["deduplicate"], m["estimates"] = ix.Deduplicate, ix.Estimates
	}
	return m
}

func (s *Server) handleListIndexes(w http.ResponseWriter, r *http.Request) {
	c, err := s.collection(r.Context(), Database(r), r.URL.Query().Get("collection"))
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	list := []any{}
	ids := map[string]any{}
	for _, ix := range c.Indexes {
		b := indexBody(c, ix)
		list = append(list, b)
		ids[b["id"].(string)] = b
	}
	arangohttp.WriteJSON(w, http.StatusOK, ok200(map[string]any{"indexes": list, "identifiers": ids}))
}

func errIndexNotFound() *arangohttp.Error {
	return arangohttp.Errorf(http.StatusNotFound, arangohttp.ErrNumIndexNotFound, "index not found")
}

// findIndex finds an index by id ("7", "c/7") or name.
func findIndex(c *cluster.PlanCollection, idOrName string) (cluster.Index, bool) {
	if _, after, ok := strings.Cut(idOrName, "/"); ok {
		idOrName = after
	}
	for _, ix := range c.Indexes {
		if ix.ID == idOrName || ix.Name == idOrName {
			return ix, true
		}
	}
	return cluster.Index{}, false
}

func (s *Server) handleGetIndex(w http.ResponseWriter, r *http.Request, c *cluster.PlanCollection) {
	ix, ok := findIndex(c, r.PathValue("id"))
	if !ok {
		arangohttp.WriteError(w, errIndexNotFound())
		return
	}
	arangohttp.WriteJSON(w, http.StatusOK, ok200(indexBody(c, ix)))
}

func (s *Server) handleCreateIndex(w http.ResponseWriter, r *http.Request) {
	db := Database(r)
	c, err := s.collection(r.Context(), db, r.URL.Query().Get("collection"))
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	var req struct {
		Type        string   `json:"type"`
		Fields      []string `json:"fields"`
		Unique      bool     `json:"unique"`
		Sparse      bool     `json:"sparse"`
		Name        string   `json:"name"`
		Deduplicate *bool    `json:"deduplicate"`
		Estimates   *bool    `json:"estimates"`
	}
	if !s.decodeBody(w, r, &req) {
		return
	}
	if !slices.Contains(persistentTypes, req.Type) {
		arangohttp.WriteError(w, badParam("index type %q is not supported (persistent, hash and skiplist are)", req.Type))
		return
	}
	if len(req.Fields) == 0 || slices.Contains(req.Fields, "") {
		arangohttp.WriteError(w, badParam("index needs fields"))
		return
	}
	if req.Unique {
		for _, k := range c.ShardKeys {
			if !slices.Contains(req.Fields, k) {
				arangohttp.WriteError(w, arangohttp.Errorf(http.StatusBadRequest, errNumClusterUnsupported,
					"shard key '%s' must be present in unique index", k))
				return
			}
		}
	}
	for _, ix := range c.Indexes {
		same := slices.Contains(persistentTypes, ix.Type) && slices.Equal(ix.Fields, req.Fields) && ix.Unique == req.Unique && ix.Sparse == req.Sparse
		if same && (req.Name == "" || req.Name == ix.Name) {
			b := indexBody(c, ix)
			b["isNewlyCreated"] = false
			arangohttp.WriteJSON(w, http.StatusOK, ok200(b))
			return
		}
		if req.Name != "" && ix.Name == req.Name {
			arangohttp.WriteError(w, arangohttp.Errorf(http.StatusConflict, arangohttp.ErrNumDuplicateName, "duplicate value: index name %s", req.Name))
			return
		}
	}
	first, err := s.ids.Reserve(r.Context(), 1)
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	id := strconv.FormatUint(first, 10)
	ix := cluster.Index{ID: id, Type: req.Type, Name: req.Name, Fields: req.Fields, Unique: req.Unique, Sparse: req.Sparse,
		Deduplicate: req.Deduplicate == nil || *req.Deduplicate, Estimates: req.Estimates == nil || *req.Estimates}
	if ix.Name == "" {
		ix.Name = "idx_" + id
	}
	if _, err := s.updateCollection(r.Context(), db, c.ID, func(pc *cluster.PlanCollection) error {
		pc.Indexes = append(pc.Indexes, ix)
		return nil
	}); err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	if err := s.waitIndex(r.Context(), db, c, id); err != nil {
		_, _ = s.updateCollection(context.WithoutCancel(r.Context()), db, c.ID, func(pc *cluster.PlanCollection) error {
			pc.Indexes = slices.DeleteFunc(pc.Indexes, func(x cluster.Index) bool { return x.ID == id })
			return nil
		})
		arangohttp.WriteError(w, err)
		return
	}
	b := indexBody(c, ix)
	b["isNewlyCreated"] = true
	b["error"], b["code"] = false, 201
	arangohttp.WriteJSON(w, http.StatusCreated, b)
}

// waitIndex waits until every shard's leader reports the index in Current,
// and returns the error a leader reports for it (e.g. 1210 duplicates).
func (s *Server) waitIndex(ctx context.Context, db string, c *cluster.PlanCollection, id string) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CollectionTimeout)
	defer cancel()
	var failed *cluster.Index
	ok := s.waitView(ctx, func(snap *cluster.Snapshot) bool {
		for _, name := range c.ShardNames() {
			cur, ok := snap.CurrentShard(db, c.ID, name)
			if !ok {
				return false
			}
			i := slices.IndexFunc(cur.Indexes, func(x cluster.Index) bool { return x.ID == id })
			if i < 0 {
				return false
			}
			if cur.Indexes[i].Error {
				failed = &cur.Indexes[i]
				return true
			}
		}
		return true
	})
	switch {
	case failed != nil:
		code := http.StatusBadRequest
		if failed.ErrorNum == arangohttp.ErrNumUniqueConstraintViolated {
			code = http.StatusConflict
		}
		return arangohttp.Errorf(code, failed.ErrorNum, "%s", failed.ErrorMessage)
	case !ok:
		return arangohttp.Errorf(http.StatusGatewayTimeout, arangohttp.ErrNumClusterTimeout, "timeout waiting for index %s", id)
	}
	return nil
}

func (s *Server) handleDropIndex(w http.ResponseWriter, r *http.Request, c *cluster.PlanCollection) {
	ix, ok := findIndex(c, r.PathValue("id"))
	if !ok {
		arangohttp.WriteError(w, errIndexNotFound())
		return
	}
	if ix.Type == "primary" {
		arangohttp.WriteError(w, arangohttp.Errorf(http.StatusForbidden, arangohttp.ErrNumForbidden, "cannot drop the primary index"))
		return
	}
	if _, err := s.updateCollection(r.Context(), Database(r), c.ID, func(pc *cluster.PlanCollection) error {
		pc.Indexes = slices.DeleteFunc(pc.Indexes, func(x cluster.Index) bool { return x.ID == ix.ID })
		return nil
	}); err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	arangohttp.WriteJSON(w, http.StatusOK, ok200(map[string]any{"id": c.Name + "/" + ix.ID}))
}
