package coordinator

import (
	"net/http"

	"github.com/arangomesos/arangomesos/node/arangohttp"
	"github.com/arangomesos/arangomesos/node/cluster"
	"github.com/arangomesos/arangomesos/node/shardapi"
)

// routes registers the client API (patterns without the /_db/{db} prefix).
func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /_api/cluster/endpoints", s.handleEndpoints)

	m.HandleFunc("POST /_api/database", s.handleCreateDatabase)
	m.HandleFunc("GET /_api/database", s.handleListDatabases)
	m.HandleFunc("GET /_api/database/user", s.handleListDatabases)
	m.HandleFunc("GET /_api/database/current", s.handleCurrentDatabase)
	m.HandleFunc("DELETE /_api/database/{name}", s.handleDropDatabase)

	m.HandleFunc("POST /_api/collection", s.handleCreateCollection)
	m.HandleFunc("GET /_api/collection", s.handleListCollections)
	m.HandleFunc("GET /_api/collection/{collection}", s.withCollection(s.handleGetCollection))
	m.HandleFunc("GET /_api/collection/{collection}/properties", s.withCollection(s.handleProperties))
	m.HandleFunc("PUT /_api/collection/{collection}/properties", s.withCollection(s.handleSetProperties))
	m.HandleFunc("GET /_api/collection/{collection}/count", s.withCollection(s.handleCount))
	m.HandleFunc("PUT /_api/collection/{collection}/truncate", s.withCollection(s.handleTruncate))
	m.HandleFunc("GET /_api/collection/{collection}/shards", s.withCollection(s.handleShards))
	m.HandleFunc("PUT /_api/collection/{collection}/responsibleShard", s.withCollection(s.handleResponsibleShard))
	m.HandleFunc("PUT /_api/collection/{collection}/load", s.withCollection(s.handleGetCollection))
	m.HandleFunc("PUT /_api/collection/{collection}/unload", s.withCollection(s.handleGetCollection))
	m.HandleFunc("DELETE /_api/collection/{collection}", s.withCollection(s.handleDropCollection))

	m.HandleFunc("POST /_api/document/{collection}", s.withCollection(s.handleWrite(shardapi.OpInsert)))
	m.HandleFunc("PUT /_api/document/{collection}", s.withCollection(func(w http.ResponseWriter, r *http.Request, c *cluster.PlanCollection) {
		if boolParam(r, "onlyget", false) {
			s.handleReadMany(w, r, c)
			return
		}
		s.handleWrite(shardapi.OpReplace)(w, r, c)
	}))
	m.HandleFunc("PATCH /_api/document/{collection}", s.withCollection(s.handleWrite(shardapi.OpUpdate)))
	m.HandleFunc("DELETE /_api/document/{collection}", s.withCollection(s.handleWrite(shardapi.OpRemove)))
	m.HandleFunc("GET /_api/document/{collection}/{key}", s.withCollection(s.handleRead))
	m.HandleFunc("HEAD /_api/document/{collection}/{key}", s.withCollection(s.handleRead))
	m.HandleFunc("PUT /_api/document/{collection}/{key}", s.withCollection(s.handleWrite(shardapi.OpReplace)))
	m.HandleFunc("PATCH /_api/document/{collection}/{key}", s.withCollection(s.handleWrite(shardapi.OpUpdate)))
	m.HandleFunc("DELETE /_api/document/{collection}/{key}", s.withCollection(s.handleWrite(shardapi.OpRemove)))

	m.HandleFunc("POST /_api/import", s.handleImport)

	m.HandleFunc("POST /_api/cursor", s.handleCreateCursor)
	m.HandleFunc("POST /_api/cursor/{id}", s.handleNextBatch)
	m.HandleFunc("PUT /_api/cursor/{id}", s.handleNextBatch)
	m.HandleFunc("DELETE /_api/cursor/{id}", s.handleDeleteCursor)

	m.HandleFunc("GET /_api/index", s.handleListIndexes)
	m.HandleFunc("POST /_api/index", s.handleCreateIndex)
	m.HandleFunc("GET /_api/index/{collection}/{id}", s.withCollection(s.handleGetIndex))
	m.HandleFunc("DELETE /_api/index/{collection}/{id}", s.withCollection(s.handleDropIndex))
}

// handleEndpoints lists the coordinators' endpoints.
func (s *Server) handleEndpoints(w http.ResponseWriter, r *http.Request) {
	snap := s.view.Snapshot()
	eps := []any{}
	for _, id := range snap.Coordinators {
		if s.listed(snap, id) {
			eps = append(eps, map[string]string{"endpoint": snap.Endpoint(id)})
		}
	}
	arangohttp.WriteJSON(w, http.StatusOK, ok200(map[string]any{"endpoints": eps}))
}
