package dbserver

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/arangomesos/arangomesos/node/dbserver/storage"
	"github.com/arangomesos/arangomesos/node/shardapi"
)

// startResyncLocked starts synchronizing with leader in the background;
// the write lock is held.
func (sh *shard) startResyncLocked(leader string) {
	if sh.resyncing != nil {
		sh.resyncing()
	}
	ctx, cancel := context.WithCancel(sh.srv.ctx)
	sh.resyncing = cancel
	go sh.resyncLoop(ctx, leader)
}

// resyncLoop retries resync until it succeeds or is cancelled.
func (sh *shard) resyncLoop(ctx context.Context, leader string) {
	wait := 100 * time.Millisecond
	for ctx.Err() == nil {
		rep, err := sh.resync(ctx, leader)
		if err == nil {
			sh.srv.recordResync(rep)
			sh.log.Info("in sync", "leader", leader, "method", rep.Method, "documents", rep.Documents,
				"removed", rep.Removed, "bytes", rep.Bytes, "entries", rep.Entries, "seconds", rep.Seconds)
			return
		}
		if ctx.Err() != nil {
			return
		}
		sh.log.Info("resync attempt failed; retrying", "leader", leader, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, 2*time.Second)
	}
}

// resync brings the local copy in line with the leader's while writes go
// on (docs/internals.md, "Resynchronization"): tail the leader's operation
// log when it still holds everything after our last applied operation,
// otherwise compare hashed key ranges and copy only what differs; then
// catch up from the log until the lag is small, and ask the leader to add
// us to the in-sync list under its write lock.
func (sh *shard) resync(ctx context.Context, leader string) (shardapi.ResyncReport, error) {
	start := time.Now()
	rep := shardapi.ResyncReport{Shard: sh.name, Leader: leader}
	st := sh.store.State()
	var begin shardapi.SyncBeginResponse
	if err := sh.srv.callLeader(ctx, leader, shardapi.PathSyncBegin, sh.name,
		shardapi.SyncBeginRequest{Follower: sh.srv.id, Term: st.Term, Seq: st.Seq}, &begin); err != nil {
		return rep, err
	}
	ref := leaderRef{id: leader, reboot: begin.RebootID, term: begin.Term}
	sh.mu.Lock()
	if sh.role != roleFollower || sh.following.id != leader {
		sh.mu.Unlock()
		return rep, errors.New("no longer following " + leader)
	}
	sh.following, sh.inSync = ref, false
	sh.mu.Unlock()
	pos := st.Seq
	if begin.CanTail && st.Leader == leader && st.Term == begin.Term {
		rep.Method = "tail"
	} else {
		rep.Method = "ranges"
		if err := sh.syncRanges(ctx, ref, begin.Seq, &rep); err != nil {
			return rep, err
		}
		pos = begin.Seq
	}
	// Catch up from the log until little is left.
	for ctx.Err() == nil {
		var tail shardapi.TailResponse
		if err := sh.srv.callLeader(ctx, leader, shardapi.PathTail, sh.name,
			shardapi.TailRequest{Term: ref.term, From: pos, Limit: 2000}, &tail); err != nil {
			return rep, err
		}
		if len(tail.Entries) > 0 {
			last, err := sh.applyEntries(ref, tail.Entries, false)
			if err != nil {
				return rep, err
			}
			pos = last
			rep.Entries += int64(len(tail.Entries))
			for _, e := range tail.Entries {
				for _, m := range e.Muts {
					rep.Documents++
					rep.Bytes += int64(len(m.Doc))
				}
			}
		}
		if tail.Last-pos < 500 {
			break
		}
	}
	if err := sh.store.Sync(); err != nil {
		return rep, err
	}
	var joined shardapi.JoinResponse
	if err := sh.srv.callLeader(ctx, leader, shardapi.PathJoin, sh.name,
		shardapi.JoinRequest{Follower: sh.srv.id, Term: ref.term, From: pos}, &joined); err != nil {
		return rep, err
	}
	// Maintenance must not see the Current from before the join.
	if _, err := sh.srv.view.WaitIndex(ctx, joined.Index); err != nil {
		return rep, err
	}
	sh.mu.Lock()
	if sh.following == ref {
		sh.inSync, sh.joinedAt = true, joined.Index
		sh.resyncing = nil
	}
	sh.mu.Unlock()
	rep.Seconds = time.Since(start).Seconds()
	rep.Finished = time.Now().UTC().Format(time.RFC3339)
	return rep, nil
}

// syncRanges makes the local documents equal to the leader's at some time
// after the leader's position seq (the tail then replays what changed
// since): ranges whose hashes agree are skipped; in the others only
// documents with another revision are fetched, and local documents the
// leader lacks are removed.
func (sh *shard) syncRanges(ctx context.Context, ref leaderRef, seq uint64, rep *shardapi.ResyncReport) error {
	var chunks []storage.Chunk
	if err := sh.srv.callLeader(ctx, ref.id, shardapi.PathChunks, sh.name, struct{}{}, &chunks); err != nil {
		return err
	}
	rep.Chunks = len(chunks)
	// Local documents outside every leader range are not on the leader.
	var stray []string
	err := sh.store.Scan(func(d storage.Doc) bool {
		i := sort.Search(len(chunks), func(i int) bool { return chunks[i].High >= d.Key })
		if i == len(chunks) || chunks[i].Low > d.Key {
			stray = append(stray, d.Key)
		}
		return ctx.Err() == nil
	})
	if err != nil {
		return err
	}
	if err := sh.removeLocal(stray, rep); err != nil {
		return err
	}
	for _, c := range chunks {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		n, h, err := sh.store.RangeHash(c.Low, c.High)
		if err != nil {
			return err
		}
		if n == c.Count && h == c.Hash {
			continue
		}
		rep.Differing++
		var theirs []storage.KeyRev
		if err := sh.srv.callLeader(ctx, ref.id, shardapi.PathKeys, sh.name, shardapi.KeysRequest{Low: c.Low, High: c.High}, &theirs); err != nil {
			return err
		}
		ours, err := sh.store.KeyRevs(c.Low, c.High)
		if err != nil {
			return err
		}
		have := make(map[string]storage.Rev, len(ours))
		for _, kr := range ours {
			have[kr.Key] = kr.Rev
		}
		var fetch []string
		for _, kr := range theirs {
			if r, ok := have[kr.Key]; !ok || r != kr.Rev {
				fetch = append(fetch, kr.Key)
			}
			delete(have, kr.Key)
		}
		var gone []string
		for k := range have {
			gone = append(gone, k)
		}
		if err := sh.removeLocal(gone, rep); err != nil {
			return err
		}
		for len(fetch) > 0 {
			n := min(len(fetch), 1000)
			var docs []shardapi.SyncDoc
			if err := sh.srv.callLeader(ctx, ref.id, shardapi.PathDocs, sh.name, shardapi.DocsRequest{Keys: fetch[:n]}, &docs); err != nil {
				return err
			}
			fetch = fetch[n:]
			err := sh.store.Update(func(tx *storage.Tx) error {
				for _, d := range docs {
					if err := tx.Put(d.Key, d.Rev, d.Doc, true); err != nil {
						return err
					}
					rep.Documents++
					rep.Bytes += int64(len(d.Doc))
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("dbserver: store fetched documents: %w", err)
			}
		}
	}
	// From here on the log after seq brings us to the leader's state.
	return sh.store.Update(func(tx *storage.Tx) error {
		tx.SetPosition(ref.id, ref.term, seq)
		return nil
	})
}

func (sh *shard) removeLocal(keys []string, rep *shardapi.ResyncReport) error {
	if len(keys) == 0 {
		return nil
	}
	return sh.store.Update(func(tx *storage.Tx) error {
		for _, k := range keys {
			if ok, err := tx.Delete(k, 0); err != nil {
				return err
			} else if ok {
				rep.Removed++
			}
		}
		return nil
	})
}
