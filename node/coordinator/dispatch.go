package coordinator

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/arangomesos/arangomesos/node/arangohttp"
	"github.com/arangomesos/arangomesos/node/cluster"
	"github.com/arangomesos/arangomesos/node/shardapi"
)

// shardOf returns the shard of a document: by its key for the default
// shard keys, else by the document's shard key values. complete is false
// when the document lacks a shard key attribute.
func shardOf(c *cluster.PlanCollection, key string, doc map[string]any) (string, bool) {
	names := c.ShardNames()
	if len(names) == 0 {
		return "", false
	}
	if defaultSharding(c) {
		return names[cluster.KeyShardIndex(key, len(names))], true
	}
	values := make([]any, len(c.ShardKeys))
	complete := true
	for i, k := range c.ShardKeys {
		if k == "_key" {
			values[i] = key
			continue
		}
		v, ok := doc[k]
		if !ok {
			complete = false
		}
		values[i] = v
	}
	return names[cluster.ShardIndex(values, len(names))], complete
}

// defaultSharding reports whether documents are sharded by _key alone.
func defaultSharding(c *cluster.PlanCollection) bool {
	return len(c.ShardKeys) == 1 && c.ShardKeys[0] == "_key"
}

// leaderOf returns the server to send a shard's leader requests to: the
// Plan's leader. Current names the same server once it has taken over;
// until then it answers 1496, and the request is retried.
func leaderOf(snap *cluster.Snapshot, db, cid, shard string) string {
	pc := snap.Collections[db][cid]
	if pc == nil || len(pc.Shards[shard]) == 0 {
		return ""
	}
	// A resigning leader answers 1491 until supervision names the next one.
	planned, _ := cluster.ResigningLeader(pc.Shards[shard][0])
	return planned
}

// retryable reports whether an error means "the leader is gone or
// changing": unreachable, 1491, 1496 or 503.
func retryable(err error) bool {
	if errors.Is(err, shardapi.ErrUnreachable) {
		return true
	}
	var ae *arangohttp.Error
	if errors.As(err, &ae) {
		return ae.Num == arangohttp.ErrNumNotLeader || ae.Num == arangohttp.ErrNumLeaderResigned ||
			ae.Code == http.StatusServiceUnavailable
	}
	return false
}

func errBackendUnavailable(cause error) *arangohttp.Error {
	return arangohttp.Errorf(http.StatusServiceUnavailable, arangohttp.ErrNumClusterBackendUnavailable,
		"A cluster backend which was required for the operation could not be reached: %v", cause)
}

// onLeader calls fn with the endpoint of a shard's leader, and retries
// against the Plan's (new) leader while the leader is unreachable or
// answers 1491/1496/503, for at most the failover timeout; then the answer
// is 503/1478. The collection may be dropped meanwhile (404/1203).
func (s *Server) onLeader(ctx context.Context, db string, c *cluster.PlanCollection, shard string, fn func(ctx context.Context, ep string) error) error {
	deadline := time.Now().Add(s.cfg.FailoverTimeout)
	wait := 50 * time.Millisecond
	var last error
	for {
		snap := s.view.Snapshot()
		if snap.Collections[db][c.ID] == nil {
			return errCollectionNotFound(c.Name)
		}
		leader := leaderOf(snap, db, c.ID, shard)
		ep := snap.Endpoint(leader)
		if ep == "" {
			last = errors.New("shard " + shard + " has no reachable leader")
		} else {
			actx, cancel := context.WithTimeout(ctx, s.cfg.AttemptTimeout)
			err := fn(actx, ep)
			timedOut := errors.Is(actx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
			cancel()
			if err == nil || !retryable(err) {
				return err
			}
			if timedOut {
				// A leader that takes the whole attempt timeout is rare and
				// worth a line: hung, overloaded, or a lost answer.
				s.log.Warn("shard leader did not answer in time; retrying", "shard", shard, "leader", leader,
					"timeout", s.cfg.AttemptTimeout, "err", err)
			}
			last = err
		}
		if ctx.Err() != nil {
			return errBackendUnavailable(ctx.Err())
		}
		if time.Now().After(deadline) {
			s.log.Warn("giving up on shard leader", "shard", shard, "err", last)
			return errBackendUnavailable(last)
		}
		ch := s.view.Changed()
		select {
		case <-ctx.Done():
		case <-ch:
		case <-time.After(wait):
		}
		wait = min(wait*2, 500*time.Millisecond)
	}
}

// eachShard calls fn for every shard of c in parallel, each on its leader
// (with onLeader's retries); it returns the first error.
func (s *Server) eachShard(ctx context.Context, db string, c *cluster.PlanCollection, fn func(ctx context.Context, ep, shard string) error) error {
	names := c.ShardNames()
	if len(names) == 0 {
		return errNoShards
	}
	work := make(map[string]struct{}, len(names))
	for _, n := range names {
		work[n] = struct{}{}
	}
	return parallel(work, func(shard string, _ struct{}) error {
		return s.onLeader(ctx, db, c, shard, func(ctx context.Context, ep string) error { return fn(ctx, ep, shard) })
	})
}

// parallel runs fn for every shard's work at once and returns the first
// error (in no particular order).
func parallel[T any](work map[string]T, fn func(shard string, v T) error) error {
	errs := make(chan error, len(work))
	var wg sync.WaitGroup
	for shard, v := range work {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- fn(shard, v)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// newOpID returns a fresh operation id for a write (x-arangomesos-op-id).
func newOpID() string { return uuid.NewString() }

func addInt64(p *int64, v int64) { atomic.AddInt64(p, v) }
