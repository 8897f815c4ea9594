package dbserver

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"

	"github.com/arangomesos/arangomesos/node/arangohttp"
	"github.com/arangomesos/arangomesos/node/dbserver/storage"
	"github.com/arangomesos/arangomesos/node/shardapi"
)

// Register adds the DBServer's internal API (node/shardapi) and its
// metrics to mux, and serves the API's frame connections with mux too.
func (s *Server) Register(mux *arangohttp.Mux) {
	s.frames = shardapi.NewFrameServer(mux, s.log)
	mux.Handle("GET "+shardapi.PathFrames, s.frames)
	mux.HandleFunc("POST "+shardapi.PathWrite, s.handleWrite)
	mux.HandleFunc("POST "+shardapi.PathRead, s.handleRead)
	mux.HandleFunc("POST "+shardapi.PathQuery, s.handleQuery)
	mux.HandleFunc("GET "+shardapi.PathCount, s.handleCount)
	mux.HandleFunc("GET "+shardapi.PathChecksum, s.handleChecksum)
	mux.HandleFunc("POST "+shardapi.PathReplicate, s.handleReplicate)
	mux.HandleFunc("POST "+shardapi.PathSyncBegin, s.handleSyncBegin)
	mux.HandleFunc("POST "+shardapi.PathChunks, s.handleChunks)
	mux.HandleFunc("POST "+shardapi.PathKeys, s.handleKeys)
	mux.HandleFunc("POST "+shardapi.PathDocs, s.handleDocs)
	mux.HandleFunc("POST "+shardapi.PathTail, s.handleTail)
	mux.HandleFunc("POST "+shardapi.PathJoin, s.handleJoin)
	mux.HandleFunc("GET "+shardapi.PathResyncs, func(w http.ResponseWriter, _ *http.Request) {
		arangohttp.WriteJSON(w, http.StatusOK, map[string]any{"resyncs": s.Resyncs()})
	})
	mux.HandleFunc("GET "+shardapi.PathShards, func(w http.ResponseWriter, _ *http.Request) {
		arangohttp.WriteJSON(w, http.StatusOK, map[string]any{"shards": s.Shards()})
	})
	mux.Handle("GET /_admin/metrics", s.metrics.handler())
}

// lookup finds the shard of a request, or answers 503/1496 (the
// coordinator then re-reads the Agency and retries).
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) (*shard, bool) {
	sh, ok := s.shard(r.PathValue("shard"))
	if !ok {
		arangohttp.WriteError(w, arangohttp.Errorf(http.StatusServiceUnavailable, arangohttp.ErrNumNotLeader,
			"not a leader: shard %s is not here", r.PathValue("shard")))
		return nil, false
	}
	return sh, true
}

func decode[T any](w http.ResponseWriter, r *http.Request) (T, bool) {
	var v T
	body, err := arangohttp.ReadBody(r, arangohttp.DefaultBodyLimit*4)
	if err == nil {
		err = shardapi.DecodeRequest(r, body, &v)
	}
	if err != nil {
		arangohttp.WriteError(w, err)
		return v, false
	}
	return v, true
}

func (s *Server) handleWrite(w http.ResponseWriter, r *http.Request) {
	s.inflight.Add(1)
	defer s.inflight.Done()
	if s.draining.Load() {
		arangohttp.WriteError(w, errNotLeader())
		return
	}
	sh, ok := s.lookup(w, r)
	if !ok {
		return
	}
	req, ok := decode[shardapi.WriteRequest](w, r)
	if !ok {
		return
	}
	resp, err := sh.write(r.Context(), &req, r.Header.Get(shardapi.HeaderOpID))
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	shardapi.Answer(w, r, resp)
}

func (s *Server) handleRead(w http.ResponseWriter, r *http.Request) {
	sh, ok := s.lookup(w, r)
	if !ok {
		return
	}
	req, ok := decode[shardapi.ReadRequest](w, r)
	if !ok {
		return
	}
	if err := sh.readCheck(); err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	out := shardapi.ReadResponse{Docs: make([]json.RawMessage, len(req.Keys))}
	for i, k := range req.Keys {
		d, found, err := sh.store.Get(k)
		if err != nil {
			arangohttp.WriteError(w, err)
			return
		}
		if found {
			out.Docs[i] = d.Body
		}
	}
	if err := sh.readBarrier(r.Context()); err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	arangohttp.WriteJSON(w, http.StatusOK, out)
}

func (s *Server) handleQuery(w http.ResponseWriter, r *http.Request) {
	sh, ok := s.lookup(w, r)
	if !ok {
		return
	}
	req, ok := decode[shardapi.QueryRequest](w, r)
	if !ok {
		return
	}
	if err := sh.readCheck(); err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	resp, err := sh.query(r.Context(), req)
	if err == nil {
		err = sh.readBarrier(r.Context())
	}
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	arangohttp.WriteJSON(w, http.StatusOK, resp)
}

func (s *Server) handleCount(w http.ResponseWriter, r *http.Request) {
	sh, ok := s.lookup(w, r)
	if !ok {
		return
	}
	if err := sh.readCheck(); err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	n := sh.store.Count()
	if err := sh.readBarrier(r.Context()); err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	arangohttp.WriteJSON(w, http.StatusOK, shardapi.CountResponse{Count: n})
}

// handleChecksum reports the local copy's count and checksum, whatever its
// role: tests and operators compare the copies of a shard with it.
func (s *Server) handleChecksum(w http.ResponseWriter, r *http.Request) {
	sh, ok := s.lookup(w, r)
	if !ok {
		return
	}
	n, sum, err := sh.store.Checksum()
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	arangohttp.WriteJSON(w, http.StatusOK, shardapi.ChecksumResponse{Shard: sh.name, Count: n, Checksum: sum,
		Leader: sh.currentRole() == roleLeader})
}

func (s *Server) handleReplicate(w http.ResponseWriter, r *http.Request) {
	sh, ok := s.shard(r.PathValue("shard"))
	if !ok {
		arangohttp.WriteError(w, errRefused("shard %s is not here", r.PathValue("shard")))
		return
	}
	req, ok := decode[shardapi.ReplicateRequest](w, r)
	if !ok {
		return
	}
	seq, err := sh.applyEntries(leaderRef{id: req.Leader, reboot: req.RebootID, term: req.Term}, req.Entries, req.WaitForSync)
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	shardapi.Answer(w, r, &shardapi.ReplicateResponse{Seq: seq})
}

func (s *Server) handleSyncBegin(w http.ResponseWriter, r *http.Request) {
	sh, ok := s.lookup(w, r)
	if !ok {
		return
	}
	req, ok := decode[shardapi.SyncBeginRequest](w, r)
	if !ok {
		return
	}
	resp, err := sh.syncBegin(req)
	respond(w, resp, err)
}

func (s *Server) handleChunks(w http.ResponseWriter, r *http.Request) {
	sh, ok := s.lookup(w, r)
	if !ok {
		return
	}
	chunks, err := sh.chunks()
	respond(w, chunks, err)
}

func (s *Server) handleKeys(w http.ResponseWriter, r *http.Request) {
	sh, ok := s.lookup(w, r)
	if !ok {
		return
	}
	req, ok := decode[shardapi.KeysRequest](w, r)
	if !ok {
		return
	}
	if err := sh.readCheck(); err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	keys, err := sh.store.KeyRevs(req.Low, req.High)
	respond(w, keys, err)
}

func (s *Server) handleDocs(w http.ResponseWriter, r *http.Request) {
	sh, ok := s.lookup(w, r)
	if !ok {
		return
	}
	req, ok := decode[shardapi.DocsRequest](w, r)
	if !ok {
		return
	}
	if err := sh.readCheck(); err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	docs, err := sh.syncDocs(req.Keys)
	respond(w, docs, err)
}

func (s *Server) handleTail(w http.ResponseWriter, r *http.Request) {
	sh, ok := s.lookup(w, r)
	if !ok {
		return
	}
	req, ok := decode[shardapi.TailRequest](w, r)
	if !ok {
		return
	}
	resp, err := sh.tail(req)
	respond(w, resp, err)
}

func (s *Server) handleJoin(w http.ResponseWriter, r *http.Request) {
	sh, ok := s.lookup(w, r)
	if !ok {
		return
	}
	req, ok := decode[shardapi.JoinRequest](w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*s.cfg.ReplicationTimeout)
	defer cancel()
	idx, err := sh.join(ctx, req)
	respond(w, shardapi.JoinResponse{Index: idx}, err)
}

func respond(w http.ResponseWriter, v any, err error) {
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	arangohttp.WriteJSON(w, http.StatusOK, v)
}

// query runs a shard plan: every matching document, sorted and limited as
// the plan says.
func (sh *shard) query(ctx context.Context, req shardapi.QueryRequest) (*shardapi.QueryResponse, error) {
	if sh.srv.cfg.ParseQuery == nil {
		return nil, arangohttp.Errorf(http.StatusNotImplemented, 9, "queries are not available")
	}
	q, err := sh.srv.cfg.ParseQuery(req.Query)
	if err != nil {
		return nil, arangohttp.BadParameter("bad shard query: %v", err)
	}
	type hit struct {
		key []any
		raw []byte
	}
	var hits []hit
	var scanned int64
	limit := q.Limit()
	err = sh.store.Scan(func(d storage.Doc) bool {
		scanned++
		m, bad := decodeObject(d.Body)
		if bad != nil || !q.Match(m) {
			return ctx.Err() == nil
		}
		h := hit{raw: d.Body}
		if q.HasSort() {
			h.key = q.SortKey(m)
		}
		hits = append(hits, h)
		// Without SORT any limit documents will do.
		return ctx.Err() == nil && (q.HasSort() || limit < 0 || len(hits) < limit)
	})
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q.HasSort() {
		sort.SliceStable(hits, func(i, j int) bool { return q.CompareKeys(hits[i].key, hits[j].key) < 0 })
	}
	if limit >= 0 && len(hits) > limit {
		hits = hits[:limit]
	}
	out := &shardapi.QueryResponse{Docs: make([]json.RawMessage, len(hits)), Scanned: scanned}
	for i, h := range hits {
		out.Docs[i] = h.raw
	}
	return out, nil
}
