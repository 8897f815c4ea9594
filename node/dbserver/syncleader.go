package dbserver

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/arangomesos/arangomesos/node/arangohttp"
	"github.com/arangomesos/arangomesos/node/dbserver/storage"
	"github.com/arangomesos/arangomesos/node/shardapi"
)

// The leader's side of resynchronization: a follower asks, the leader
// answers from its store and its operation log.

// syncBegin tells a follower the leader's term and position and whether
// it can catch up by tailing.
func (sh *shard) syncBegin(req shardapi.SyncBeginRequest) (shardapi.SyncBeginResponse, error) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if err := sh.leaderCheckLocked(); err != nil {
		return shardapi.SyncBeginResponse{}, err
	}
	if !slices.Contains(sh.srv.plannedServers(sh.db, sh.cid, sh.name), req.Follower) {
		return shardapi.SyncBeginResponse{}, arangohttp.Errorf(http.StatusForbidden, arangohttp.ErrNumLeaderRefusesReplication,
			"%s is not a planned follower of %s", req.Follower, sh.name)
	}
	seq := sh.seq.Load()
	return shardapi.SyncBeginResponse{Term: sh.term, RebootID: sh.srv.rebootID(), Seq: seq,
		CanTail: req.Term == sh.term && req.Seq <= seq && sh.oplog.holds(req.Seq)}, nil
}

func errLogGone() *arangohttp.Error {
	return arangohttp.Errorf(http.StatusGone, arangohttp.ErrNumLeaderRefusesReplication, "operations no longer in the leader's log")
}

// tail returns the operations after req.From.
func (sh *shard) tail(req shardapi.TailRequest) (shardapi.TailResponse, error) {
	sh.mu.Lock()
	if err := sh.leaderCheckLocked(); err != nil {
		sh.mu.Unlock()
		return shardapi.TailResponse{}, err
	}
	term, last := sh.term, sh.seq.Load()
	sh.mu.Unlock()
	if req.Term != term {
		return shardapi.TailResponse{}, errLogGone()
	}
	limit := req.Limit
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	entries, ok := sh.oplog.since(req.From, limit, 16<<20)
	if !ok {
		return shardapi.TailResponse{}, errLogGone()
	}
	return shardapi.TailResponse{Entries: entries, Last: last}, nil
}

// syncDocs returns documents by key (those that exist).
func (sh *shard) syncDocs(keys []string) ([]shardapi.SyncDoc, error) {
	out := make([]shardapi.SyncDoc, 0, len(keys))
	for _, k := range keys {
		d, ok, err := sh.store.Get(k)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, shardapi.SyncDoc{Key: d.Key, Rev: d.Rev, Doc: d.Body})
		}
	}
	return out, nil
}

// join adds a caught-up follower to the in-sync list: under the write lock
// it sends the follower the operations it still lacks, starts its
// replication stream, and publishes Current with it; only then are writes
// let through again.
func (sh *shard) join(ctx context.Context, req shardapi.JoinRequest) (uint64, error) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if err := sh.leaderCheckLocked(); err != nil {
		return 0, err
	}
	if req.Term != sh.term {
		return 0, errLogGone()
	}
	if !slices.Contains(sh.srv.plannedServers(sh.db, sh.cid, sh.name), req.Follower) {
		return 0, arangohttp.Errorf(http.StatusForbidden, arangohttp.ErrNumLeaderRefusesReplication,
			"%s is not a planned follower of %s", req.Follower, sh.name)
	}
	seq := sh.seq.Load()
	pos := req.From
	for pos < seq {
		entries, ok := sh.oplog.since(pos, 2000, 16<<20)
		if !ok {
			return 0, errLogGone()
		}
		var resp shardapi.ReplicateResponse
		rr := shardapi.ReplicateRequest{Leader: sh.srv.id, RebootID: sh.srv.rebootID(), Term: sh.term, Entries: entries}
		if err := sh.srv.replicate(ctx, req.Follower, sh.name, &rr, &resp); err != nil {
			return 0, fmt.Errorf("dbserver: final catch-up of %s: %w", req.Follower, err)
		}
		pos = resp.Seq
	}
	sh.fmu.Lock()
	sh.removeLinkLocked(req.Follower)
	sh.addLinkLocked(req.Follower, seq, sh.term)
	servers := append([]string{sh.srv.id}, sh.inSyncLocked("")...)
	sh.fmu.Unlock()
	idx, err := sh.writeCurrent(ctx, servers, false)
	if err != nil {
		sh.fmu.Lock()
		sh.removeLinkLocked(req.Follower)
		sh.fmu.Unlock()
		return 0, fmt.Errorf("dbserver: add follower %s: %w", req.Follower, err)
	}
	sh.log.Info("follower in sync", "follower", req.Follower, "seq", seq)
	return idx, nil
}

// chunks returns the hashed key ranges of the leader's copy.
func (sh *shard) chunks() ([]storage.Chunk, error) {
	if err := sh.readCheck(); err != nil {
		return nil, err
	}
	return sh.store.Chunks(sh.srv.cfg.ChunkSize)
}
