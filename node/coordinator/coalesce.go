package coordinator

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/arangomesos/arangomesos/node/cluster"
	"github.com/arangomesos/arangomesos/node/shardapi"
)

// maxCoalesced bounds the documents of one combined shard request.
const maxCoalesced = 1000

// Writes to the same shard with the same options that arrive while one is
// on its way to the shard's leader are combined into the next request:
// one HTTP request, one leader transaction and one replicated operation
// for many clients' single-document writes. Each client still gets its
// own results; a combined request is retried as a whole under one
// operation id, so none of its writes is applied twice.

type pendingWrite struct {
	docs    []json.RawMessage
	results []shardapi.Result
	err     error
	done    chan struct{}
}

type writeQueue struct {
	mu      sync.Mutex
	waiting []*pendingWrite
	busy    bool
}

type coalescer struct {
	mu     sync.Mutex
	queues map[string]*writeQueue
}

func (c *coalescer) queue(key string) *writeQueue {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.queues == nil {
		c.queues = map[string]*writeQueue{}
	}
	q, ok := c.queues[key]
	if !ok {
		q = &writeQueue{}
		c.queues[key] = q
	}
	return q
}

// shardWrite applies docs on a shard's leader and returns one result per
// document, combining the request with concurrent ones to the same shard.
func (s *Server) shardWrite(ctx context.Context, db string, c *cluster.PlanCollection, shard string, op shardapi.Op,
	opts shardapi.WriteOptions, docs []json.RawMessage) ([]shardapi.Result, error) {
	if opts.IfMatch != "" || len(docs) >= maxCoalesced {
		return s.sendWrite(ctx, db, c, shard, op, opts, docs)
	}
	okey, _ := json.Marshal(opts)
	q := s.coalesce.queue(db + "\x00" + c.ID + "\x00" + shard + "\x00" + string(op) + "\x00" + string(okey))
	p := &pendingWrite{docs: docs, done: make(chan struct{})}
	q.mu.Lock()
	q.waiting = append(q.waiting, p)
	start := !q.busy
	q.busy = true
	q.mu.Unlock()
	if start {
		go s.drain(q, db, c, shard, op, opts)
	}
	<-p.done
	return p.results, p.err
}

// drain sends the queue's writes, as many as fit in one request at a time,
// until the queue is empty.
func (s *Server) drain(q *writeQueue, db string, c *cluster.PlanCollection, shard string, op shardapi.Op, opts shardapi.WriteOptions) {
	for {
		q.mu.Lock()
		n, size := 0, 0
		for n < len(q.waiting) && (n == 0 || size+len(q.waiting[n].docs) <= maxCoalesced) {
			size += len(q.waiting[n].docs)
			n++
		}
		batch := q.waiting[:n]
		q.waiting = append([]*pendingWrite(nil), q.waiting[n:]...)
		if n == 0 {
			q.busy = false
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
		docs := make([]json.RawMessage, 0, size)
		for _, p := range batch {
			docs = append(docs, p.docs...)
		}
		results, err := s.sendWrite(s.ctx, db, c, shard, op, opts, docs)
		for _, p := range batch {
			p.err = err
			if err == nil {
				p.results, results = results[:len(p.docs)], results[len(p.docs):]
			}
			close(p.done)
		}
	}
}

// sendWrite sends one write request to a shard's leader, with a new
// operation id kept across its retries.
func (s *Server) sendWrite(ctx context.Context, db string, c *cluster.PlanCollection, shard string, op shardapi.Op,
	opts shardapi.WriteOptions, docs []json.RawMessage) ([]shardapi.Result, error) {
	req := shardapi.WriteRequest{Collection: c.Name, Op: op, Options: opts, Docs: docs}
	h := http.Header{}
	h.Set(shardapi.HeaderOpID, newOpID())
	var resp shardapi.WriteResponse
	if err := s.onLeader(ctx, db, c, shard, func(ctx context.Context, ep string) error {
		return s.client.Call(ctx, ep, http.MethodPost, shardapi.Path(shardapi.PathWrite, shard), h, &req, &resp)
	}); err != nil {
		return nil, err
	}
	if len(resp.Results) != len(docs) {
		return nil, fmt.Errorf("coordinator: shard %s answered %d results for %d documents", shard, len(resp.Results), len(docs))
	}
	return resp.Results, nil
}
