package dbserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/arangomesos/arangomesos/node/arangohttp"
	"github.com/arangomesos/arangomesos/node/dbserver/storage"
	"github.com/arangomesos/arangomesos/node/shardapi"
)

// Errors a leader answers with; the coordinator retries on the first two.
func errNotLeader() *arangohttp.Error {
	return arangohttp.Errorf(http.StatusServiceUnavailable, arangohttp.ErrNumNotLeader, "not a leader")
}

func errResigned() *arangohttp.Error {
	return arangohttp.Errorf(http.StatusServiceUnavailable, arangohttp.ErrNumLeaderResigned, "leader resigned")
}

func errWriteConcern() *arangohttp.Error {
	return arangohttp.Errorf(http.StatusForbidden, arangohttp.ErrNumWriteConcernNotFulfilled,
		"not enough replicas for the configured write-concern are present")
}

// leaderCheck fails unless the shard may serve as leader now: it leads,
// Current names it, and the server holds its lease. The write lock is held.
func (sh *shard) leaderCheckLocked() error {
	switch {
	case sh.role == roleResigned:
		return errResigned()
	case sh.role != roleLeader || !sh.ready:
		return errNotLeader()
	case !sh.srv.hasLease():
		return errNotLeader()
	case sh.planLeaderLocked() != sh.srv.id:
		// The lease says the cache holds every Plan change up to the last
		// acknowledged heartbeat; maintenance may not have acted on it yet.
		return errNotLeader()
	}
	return nil
}

// planLeaderLocked is cachedPlanLeader for the shard, read again only when
// the Agency cache has changed since the last time; sh.mu is held.
func (sh *shard) planLeaderLocked() string {
	ch := sh.srv.cfg.Cache.Changed()
	if sh.planLeaderAt != ch {
		sh.planLeader, sh.planLeaderAt = sh.srv.cachedPlanLeader(sh.db, sh.cid, sh.name), ch
	}
	return sh.planLeader
}

// opRecord is what a leader keeps under an operation id.
type opRecord struct {
	Term uint64                  `json:"term"`
	Seq  uint64                  `json:"seq"`
	Resp *shardapi.WriteResponse `json:"resp"`
}

// write applies a client write as the leader: in order, atomically,
// replicated to every in-sync follower before it returns. A write whose
// operation id is known returns the first result.
func (sh *shard) write(ctx context.Context, req *shardapi.WriteRequest, opID string) (*shardapi.WriteResponse, error) {
	sh.mu.Lock()
	if err := sh.leaderCheckLocked(); err != nil {
		sh.mu.Unlock()
		return nil, err
	}
	if opID != "" {
		if b, ok := sh.store.OpResult(opID); ok {
			term := sh.term
			sh.mu.Unlock()
			var rec opRecord
			if err := json.Unmarshal(b, &rec); err != nil {
				return nil, fmt.Errorf("dbserver: stored result of %s: %w", opID, err)
			}
			if rec.Term == term {
				if err := sh.waitCommitted(ctx, rec.Seq); err != nil {
					return nil, err
				}
			}
			return rec.Resp, nil
		}
	}
	sh.fmu.Lock()
	copies := 1 + len(sh.links)
	sh.fmu.Unlock()
	if copies < sh.writeConcern {
		sh.mu.Unlock()
		return nil, errWriteConcern()
	}
	req.Collection = sh.coll
	seq := sh.seq.Load() + 1
	resp := &shardapi.WriteResponse{}
	var entry shardapi.Entry
	before := sh.store.Count()
	err := sh.store.Update(func(tx *storage.Tx) error {
		results, muts, err := execute(tx, req, sh.clock)
		if err != nil {
			return err
		}
		resp.Results = results
		entry = shardapi.Entry{Seq: seq, Muts: muts, OpID: opID, Sync: req.Options.WaitForSync}
		if opID != "" {
			if req.Op == shardapi.OpTruncate {
				resp.Truncated = before
			}
			rec, _ := json.Marshal(opRecord{Term: sh.term, Seq: seq, Resp: resp})
			entry.Result = rec
			if err := tx.SetOpResult(opID, rec, sh.srv.cfg.OpIDTTL); err != nil {
				return err
			}
		}
		tx.SetPosition(sh.srv.id, sh.term, seq)
		return nil
	})
	if err != nil {
		sh.mu.Unlock()
		return nil, fmt.Errorf("dbserver: write to %s: %w", sh.name, err)
	}
	if req.Op == shardapi.OpTruncate {
		resp.Truncated = before
	}
	sh.oplog.append(entry)
	sh.seq.Store(seq)
	sh.wakeLinks()
	sh.mu.Unlock()
	sh.srv.metrics.writes.Inc()
	if req.Options.WaitForSync {
		if err := sh.store.Sync(); err != nil {
			return nil, err
		}
	}
	if err := sh.waitCommitted(ctx, seq); err != nil {
		return nil, err
	}
	return resp, nil
}

// waitCommitted waits until every in-sync follower acknowledged seq (or
// was dropped). It fails when the shard lost its leadership meanwhile.
func (sh *shard) waitCommitted(ctx context.Context, seq uint64) error {
	for {
		sh.fmu.Lock()
		lost, c, ch := sh.lost, sh.committedLocked(), sh.commitCh
		sh.fmu.Unlock()
		if lost {
			return errNotLeader()
		}
		if c >= seq {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return arangohttp.Errorf(http.StatusGatewayTimeout, arangohttp.ErrNumClusterTimeout,
				"timeout waiting for replication of %s: %v", sh.name, ctx.Err())
		}
	}
}

// readBarrier is called after a leader read: it waits until everything the
// read may have seen is acknowledged by the in-sync followers, so a read
// never returns a write that could still be lost.
func (sh *shard) readBarrier(ctx context.Context) error {
	sh.mu.Lock()
	seq := sh.seq.Load()
	sh.mu.Unlock()
	return sh.waitCommitted(ctx, seq)
}

// readCheck fails unless the shard may serve reads as leader.
func (sh *shard) readCheck() error {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	// A resigning leader serves reads until the Plan names its successor.
	if sh.role == roleResigned && sh.srv.hasLease() && sh.planLeaderLocked() == "_"+sh.srv.id {
		return nil
	}
	return sh.leaderCheckLocked()
}

// link is the replication stream from a leader to one in-sync follower.
type link struct {
	id     string
	acked  uint64 // guarded by shard.fmu
	wake   chan struct{}
	cancel context.CancelFunc
}

func (sh *shard) wakeLinks() {
	sh.fmu.Lock()
	for _, l := range sh.links {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
	sh.fmu.Unlock()
}

// addLinkLocked starts streaming to a follower that has everything up to
// acked; fmu is held.
func (sh *shard) addLinkLocked(id string, acked uint64, term uint64) {
	ctx, cancel := context.WithCancel(sh.srv.ctx)
	l := &link{id: id, acked: acked, wake: make(chan struct{}, 1), cancel: cancel}
	sh.links[id] = l
	go sh.stream(ctx, l, term)
}

// removeLinkLocked stops the stream to follower id, if there is one, and
// wakes the writers waiting for the commit point, which no longer waits for
// that stream's acknowledgements; fmu is held. A follower that resynced and
// joins again while a write waited for its old stream (whose call was cut
// short) would otherwise leave that write waiting until another write's
// acknowledgement came by, if ever.
func (sh *shard) removeLinkLocked(id string) {
	if l, ok := sh.links[id]; ok {
		l.cancel()
		delete(sh.links, id)
		sh.signalLocked()
	}
}

// stream sends the log to one follower, in order, in batches, until it is
// cancelled; a failure or a timeout drops the follower.
func (sh *shard) stream(ctx context.Context, l *link, term uint64) {
	for {
		sh.fmu.Lock()
		from := l.acked
		sh.fmu.Unlock()
		entries, ok := sh.oplog.since(from, 1000, 8<<20)
		if !ok {
			sh.drop(l, fmt.Errorf("operations after %d fell out of the log", from))
			return
		}
		if len(entries) == 0 {
			select {
			case <-ctx.Done():
				return
			case <-l.wake:
				continue
			}
		}
		wfs := false
		for _, e := range entries {
			wfs = wfs || e.Sync
		}
		req := shardapi.ReplicateRequest{Leader: sh.srv.id, RebootID: sh.srv.rebootID(), Term: term, Entries: entries, WaitForSync: wfs}
		var resp shardapi.ReplicateResponse
		err := sh.srv.replicate(ctx, l.id, sh.name, &req, &resp)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			sh.drop(l, err)
			return
		}
		sh.fmu.Lock()
		if resp.Seq > l.acked {
			l.acked = resp.Seq
		}
		sh.signalLocked()
		sh.fmu.Unlock()
	}
}

// drop removes a follower from the in-sync list: first in Current (a
// compare-and-set write), then locally, so that no write is answered while
// Current still names a follower that missed it.
func (sh *shard) drop(l *link, cause error) {
	sh.dropMu.Lock()
	defer sh.dropMu.Unlock()
	sh.fmu.Lock()
	if sh.links[l.id] != l {
		sh.fmu.Unlock()
		return
	}
	sh.fmu.Unlock()
	sh.log.Warn("dropping follower", "follower", l.id, "cause", cause)
	for {
		sh.fmu.Lock()
		rest := sh.inSyncLocked(l.id)
		sh.fmu.Unlock()
		err := sh.publishCurrent(sh.srv.ctx, append([]string{sh.srv.id}, rest...), false)
		if err == nil {
			break
		}
		if errors.Is(err, errNotLeaderAnymore) || sh.srv.ctx.Err() != nil {
			sh.loseLeadership("cannot drop follower: " + err.Error())
			return
		}
		sh.log.Warn("cannot drop follower yet; retrying", "follower", l.id, "err", err)
		select {
		case <-sh.srv.ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
	sh.fmu.Lock()
	// A follower that joined again meanwhile has a new stream, which stays:
	// Current may then lack a follower that is replicated to, the safe way
	// round (it notices and resynchronizes), never the reverse.
	if sh.links[l.id] == l {
		sh.removeLinkLocked(l.id)
	}
	sh.fmu.Unlock()
	sh.srv.metrics.drops.Inc()
}

// inSyncLocked lists the in-sync followers except skip, in Plan order; fmu
// is held.
func (sh *shard) inSyncLocked(skip string) []string {
	var out []string
	for _, id := range sh.srv.plannedServers(sh.db, sh.cid, sh.name) {
		if _, ok := sh.links[id]; ok && id != skip {
			out = append(out, id)
		}
	}
	for id := range sh.links { // in sync but no longer planned: still a copy
		if id != skip && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// loseLeadership makes the shard stop leading: streams stop, waiting
// writers fail with 1496.
func (sh *shard) loseLeadership(why string) {
	sh.fmu.Lock()
	if !sh.lost {
		sh.log.Warn("leadership lost", "why", why)
	}
	sh.lost = true
	for id, l := range sh.links {
		l.cancel()
		delete(sh.links, id)
	}
	sh.signalLocked()
	sh.fmu.Unlock()
}

// takeLeadership makes this server the shard's leader in a new term, with
// itself as the only in-sync copy, and publishes that in Current.
func (sh *shard) takeLeadership(ctx context.Context) error {
	sh.mu.Lock()
	if sh.resyncing != nil {
		sh.resyncing()
		sh.resyncing = nil
	}
	st := sh.store.State()
	term := max(st.Term, sh.term) + 1
	if err := sh.store.Update(func(tx *storage.Tx) error { tx.SetPosition(sh.srv.id, term, 0); return nil }); err != nil {
		sh.mu.Unlock()
		return err
	}
	sh.loseLeadership("new term")
	sh.fmu.Lock()
	sh.lost = false
	sh.fmu.Unlock()
	sh.clock.Observe(st.MaxRev)
	sh.term, sh.role, sh.ready, sh.inSync, sh.following = term, roleLeader, false, false, leaderRef{}
	sh.seq.Store(0)
	sh.oplog.reset(1)
	sh.mu.Unlock()
	if err := sh.publishCurrent(ctx, []string{sh.srv.id}, false); err != nil {
		return err
	}
	sh.mu.Lock()
	if sh.role == roleLeader && sh.term == term {
		sh.ready = true
	}
	sh.mu.Unlock()
	sh.log.Info("leading", "term", term)
	return nil
}

// resign stops accepting writes (1491), waits for those in flight, and
// tells Current with "_"+itself as leader (the "_"-resign protocol).
func (sh *shard) resign(ctx context.Context) error {
	sh.mu.Lock()
	if sh.role != roleLeader && sh.role != roleResigned {
		sh.mu.Unlock()
		return nil
	}
	sh.role = roleResigned
	seq := sh.seq.Load()
	sh.mu.Unlock()
	wctx, cancel := context.WithTimeout(ctx, sh.srv.cfg.ReplicationTimeout*2)
	_ = sh.waitCommitted(wctx, seq)
	cancel()
	sh.fmu.Lock()
	rest := sh.inSyncLocked("")
	sh.fmu.Unlock()
	return sh.publishCurrent(ctx, append([]string{"_" + sh.srv.id}, rest...), true)
}

// becomeFollower stops any leadership and starts following leader.
func (sh *shard) becomeFollower(leader string) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.role == roleLeader || sh.role == roleResigned {
		sh.loseLeadership("plan names " + leader)
	}
	if sh.role == roleFollower && sh.following.id == leader && sh.resyncing != nil {
		return
	}
	if sh.role == roleFollower && sh.following.id == leader && sh.inSync {
		return
	}
	sh.role, sh.ready, sh.inSync = roleFollower, false, false
	sh.following = leaderRef{id: leader}
	sh.startResyncLocked(leader)
}
