package coordinator

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arangomesos/arangomesos/node/arangohttp"
	"github.com/arangomesos/arangomesos/node/shardapi"
)

// QueryEngine parses AQL and binds its variables (node/aql). Errors should
// be *arangohttp.Error values with ArangoDB's numbers (1501, 1551, …).
type QueryEngine interface {
	Plan(query string, bindVars map[string]any) (QueryPlan, error)
}

// QueryPlan is a bound query: which collection it reads, the shard part
// sent to every shard, and the coordinator's part — merge order, offset
// and count, and the projection.
type QueryPlan interface {
	Collection() string
	ShardQuery() ([]byte, error)
	// HasSort, SortKey and CompareKeys give the SORT order (see node/aql).
	HasSort() bool
	SortKey(doc map[string]any) []any
	CompareKeys(a, b []any) int
	Offset() int
	// Count is the LIMIT count (<0: no limit).
	Count() int
	Return(doc map[string]any) any
}

// Cursor defaults, as ArangoDB's.
const (
	defaultBatchSize = 1000
	defaultCursorTTL = 30 * time.Second
)

// cursor holds the rest of a query's result for the client to fetch.
type cursor struct {
	id      string
	db      string
	mu      sync.Mutex
	rest    []json.RawMessage
	count   int
	batch   int
	ttl     time.Duration
	expires time.Time
	extra   map[string]any
	hasCnt  bool
}

// cursorStore keeps a coordinator's open cursors until they are read to
// the end, deleted, or idle for longer than their TTL.
type cursorStore struct {
	mu      sync.Mutex
	next    atomic.Uint64
	cursors map[string]*cursor
}

func newCursorStore() *cursorStore {
	cs := &cursorStore{cursors: map[string]*cursor{}}
	cs.next.Store(uint64(time.Now().UnixNano() % 1e9 * 1000))
	return cs
}

func (cs *cursorStore) add(c *cursor) {
	c.id = strconv.FormatUint(cs.next.Add(1), 10)
	c.expires = time.Now().Add(c.ttl)
	cs.mu.Lock()
	cs.cursors[c.id] = c
	cs.mu.Unlock()
}

func (cs *cursorStore) get(db, id string) (*cursor, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c, ok := cs.cursors[id]
	if !ok || c.db != db || time.Now().After(c.expires) {
		return nil, false
	}
	return c, true
}

func (cs *cursorStore) remove(id string) {
	cs.mu.Lock()
	delete(cs.cursors, id)
	cs.mu.Unlock()
}

func (cs *cursorStore) expire(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			cs.mu.Lock()
			for id, c := range cs.cursors {
				if now.After(c.expires) {
					delete(cs.cursors, id)
				}
			}
			cs.mu.Unlock()
		}
	}
}

func errCursorNotFound() *arangohttp.Error {
	return arangohttp.Errorf(http.StatusNotFound, arangohttp.ErrNumCursorNotFound, "cursor not found")
}

type cursorRequest struct {
	Query     string         `json:"query"`
	BindVars  map[string]any `json:"bindVars"`
	BatchSize int            `json:"batchSize"`
	Count     bool           `json:"count"`
	TTL       float64        `json:"ttl"`
	Options   any            `json:"options"` // accepted and ignored
}

// handleCreateCursor runs a query over every shard and answers its first
// batch (201).
func (s *Server) handleCreateCursor(w http.ResponseWriter, r *http.Request) {
	var req cursorRequest
	if !s.decodeBody(w, r, &req) {
		return
	}
	if s.cfg.Queries == nil {
		arangohttp.WriteError(w, arangohttp.Errorf(http.StatusNotImplemented, 9, "%v", ErrNoQueryEngine))
		return
	}
	if req.Query == "" {
		arangohttp.WriteError(w, arangohttp.Errorf(http.StatusBadRequest, arangohttp.ErrNumQueryEmpty, "query is empty"))
		return
	}
	start := time.Now()
	results, scanned, err := s.runQuery(r.Context(), Database(r), req)
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	c := &cursor{db: Database(r), rest: results, count: len(results), batch: req.BatchSize, hasCnt: req.Count,
		ttl: time.Duration(req.TTL * float64(time.Second))}
	if c.batch <= 0 {
		c.batch = defaultBatchSize
	}
	if c.ttl <= 0 {
		c.ttl = defaultCursorTTL
	}
	c.extra = map[string]any{"warnings": []any{}, "stats": map[string]any{"writesExecuted": 0, "writesIgnored": 0,
		"scannedFull": scanned, "scannedIndex": 0, "filtered": scanned - int64(len(results)), "httpRequests": 0,
		"executionTime": time.Since(start).Seconds(), "peakMemoryUsage": 0}}
	if len(results) > c.batch {
		s.cursors.add(c)
	}
	s.writeBatch(w, c, http.StatusCreated)
}

// writeBatch answers the next batch of a cursor.
func (s *Server) writeBatch(w http.ResponseWriter, c *cursor, code int) {
	c.mu.Lock()
	n := min(c.batch, len(c.rest))
	batch := c.rest[:n]
	c.rest = c.rest[n:]
	more := len(c.rest) > 0
	c.expires = time.Now().Add(c.ttl)
	c.mu.Unlock()
	out := map[string]any{"result": batch, "hasMore": more, "cached": false, "error": false, "code": code, "extra": c.extra}
	if batch == nil {
		out["result"] = []any{}
	}
	if c.hasCnt {
		out["count"] = c.count
	}
	if c.id != "" {
		if more {
			out["id"] = c.id
		} else {
			s.cursors.remove(c.id)
		}
	}
	arangohttp.WriteJSON(w, code, out)
}

func (s *Server) handleNextBatch(w http.ResponseWriter, r *http.Request) {
	c, ok := s.cursors.get(Database(r), r.PathValue("id"))
	if !ok {
		arangohttp.WriteError(w, errCursorNotFound())
		return
	}
	s.writeBatch(w, c, http.StatusOK)
}

func (s *Server) handleDeleteCursor(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, ok := s.cursors.get(Database(r), id); !ok {
		arangohttp.WriteError(w, errCursorNotFound())
		return
	}
	s.cursors.remove(id)
	arangohttp.WriteJSON(w, http.StatusAccepted, map[string]any{"id": id, "error": false, "code": 202})
}

// runQuery plans the query, runs its shard part on every shard's leader,
// merges, limits and projects.
func (s *Server) runQuery(ctx context.Context, db string, req cursorRequest) ([]json.RawMessage, int64, error) {
	plan, err := s.cfg.Queries.Plan(req.Query, req.BindVars)
	if err != nil {
		return nil, 0, err
	}
	c, err := s.collection(ctx, db, plan.Collection())
	if err != nil {
		return nil, 0, arangohttp.Errorf(http.StatusNotFound, arangohttp.ErrNumDataSourceNotFound,
			"AQL: collection or view not found: %s (while parsing)", plan.Collection())
	}
	sq, err := plan.ShardQuery()
	if err != nil {
		return nil, 0, err
	}
	type hit struct {
		doc map[string]any
		key []any
	}
	var mu sync.Mutex
	var docs []hit
	var scanned int64
	err = s.eachShard(ctx, db, c, func(ctx context.Context, ep, shard string) error {
		var resp shardapi.QueryResponse
		if err := s.client.Call(ctx, ep, http.MethodPost, shardapi.Path(shardapi.PathQuery, shard), nil,
			shardapi.QueryRequest{Query: sq}, &resp); err != nil {
			return err
		}
		part := make([]hit, 0, len(resp.Docs))
		for _, raw := range resp.Docs {
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.UseNumber()
			var m map[string]any
			if dec.Decode(&m) == nil {
				h := hit{doc: m}
				if plan.HasSort() {
					h.key = plan.SortKey(m)
				}
				part = append(part, h)
			}
		}
		mu.Lock()
		docs = append(docs, part...)
		scanned += resp.Scanned
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	if plan.HasSort() {
		sort.SliceStable(docs, func(i, j int) bool { return plan.CompareKeys(docs[i].key, docs[j].key) < 0 })
	}
	if off := plan.Offset(); off > 0 {
		docs = docs[min(off, len(docs)):]
	}
	if n := plan.Count(); n >= 0 && len(docs) > n {
		docs = docs[:n]
	}
	out := make([]json.RawMessage, len(docs))
	for i, d := range docs {
		b, err := json.Marshal(plan.Return(d.doc))
		if err != nil {
			return nil, 0, err
		}
		out[i] = b
	}
	return out, scanned, nil
}
