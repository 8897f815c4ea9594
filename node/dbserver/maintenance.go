package dbserver

import (
	"context"
	"errors"
	"os"
	"slices"
	"time"

	"github.com/arangomesos/arangomesos/node/arangohttp"
	"github.com/arangomesos/arangomesos/node/cluster"
	"github.com/arangomesos/arangomesos/node/dbserver/storage"
)

// maintain reconciles the local shards with the Plan after every change of
// the Agency, and once a second to retry what failed.
func (s *Server) maintain(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	first := true
	for {
		ch := s.view.Changed()
		snap := s.view.Snapshot()
		if snap.Index > 0 {
			s.reconcile(ctx, snap, first)
			first = false
		}
		select {
		case <-ctx.Done():
			return
		case <-ch:
		case <-tick.C:
		}
	}
}

// planned is what the Plan says about one shard this server holds.
type planned struct {
	db, cid, coll string
	servers       []string // as in Plan, with a resigning leader's "_"
	c             *cluster.PlanCollection
}

// reconcile makes the local shards match snap: it creates and drops local
// shards, builds and drops indexes, and takes the role the Plan gives.
// Files of shards the Plan does not give this server are removed (also
// after a restart, on the first round).
func (s *Server) reconcile(ctx context.Context, snap *cluster.Snapshot, first bool) {
	want := map[string]planned{}
	for db, colls := range snap.Collections {
		for cid, c := range colls {
			if c == nil || c.Deleted {
				continue
			}
			for name, servers := range c.Shards {
				for _, sv := range servers {
					if id, _ := cluster.ResigningLeader(sv); id == s.id {
						want[name] = planned{db: db, cid: cid, coll: c.Name, servers: servers, c: c}
					}
				}
			}
		}
	}
	for db := range snap.Databases {
		s.ensureDatabase(ctx, snap, db)
	}
	for name, p := range want {
		sh, ok := s.shard(name)
		if !ok {
			var err error
			if sh, err = s.openShard(p.db, p.cid, name, p.coll); err != nil {
				s.log.Error("cannot open shard", "shard", name, "err", err)
				continue
			}
			s.mu.Lock()
			s.shards[name] = sh
			s.mu.Unlock()
			s.log.Info("shard created", "shard", name, "collection", p.coll, "database", p.db)
		}
		sh.mu.Lock()
		sh.coll, sh.writeConcern = p.coll, max(1, p.c.WriteConcern)
		sh.mu.Unlock()
		s.ensureIndexes(ctx, sh, p.c)
		s.settleRole(ctx, snap, sh, p)
	}
	s.mu.Lock()
	var gone []*shard
	for name, sh := range s.shards {
		if _, ok := want[name]; !ok {
			gone = append(gone, sh)
			delete(s.shards, name)
		}
	}
	s.mu.Unlock()
	for _, sh := range gone {
		sh.mu.Lock()
		if sh.resyncing != nil {
			sh.resyncing()
		}
		sh.role = roleNone
		sh.mu.Unlock()
		sh.loseLeadership("dropped from Plan")
		if err := sh.store.Remove(); err != nil {
			s.log.Error("cannot remove shard", "shard", sh.name, "err", err)
		} else {
			s.log.Info("shard dropped", "shard", sh.name)
		}
	}
	if first {
		for _, name := range s.localShardFiles() {
			if _, ok := want[name]; !ok {
				_ = os.Remove(s.shardFile(name))
				s.log.Info("removed the file of a shard no longer planned here", "shard", name)
			}
		}
	}
}

// ensureDatabase reports a planned database in Current/Databases once.
func (s *Server) ensureDatabase(ctx context.Context, snap *cluster.Snapshot, db string) {
	s.mu.Lock()
	done := s.dbsDone[db]
	s.mu.Unlock()
	if done {
		return
	}
	if _, ok := snap.CurrentDatabases[db][s.id]; !ok {
		rec := cluster.CurrentDatabase{ID: snap.Databases[db].ID, Name: db}
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := s.agency.Write(wctx, cluster.Transaction{Ops: map[string]cluster.Operation{
			cluster.Join(cluster.CurrentDatabases, db, s.id): cluster.Set(rec),
			cluster.CurrentVersion:                           cluster.Increment(1)}})
		cancel()
		if err != nil {
			return
		}
	}
	s.mu.Lock()
	s.dbsDone[db] = true
	s.mu.Unlock()
}

// ensureIndexes builds the Plan's persistent indexes and drops the others.
// A leader that cannot build one (duplicates in a unique index) reports the
// error in Current.
func (s *Server) ensureIndexes(ctx context.Context, sh *shard, c *cluster.PlanCollection) {
	planned := map[string]bool{}
	changed := false
	for _, ix := range c.Indexes {
		if ix.Type == "primary" || ix.Type == "edge" {
			continue
		}
		planned[ix.ID] = true
		if sh.hasIndex(ix.ID) || sh.indexFailed(ix.ID) {
			continue
		}
		err := sh.store.EnsureIndex(storage.IndexDef{ID: ix.ID, Name: ix.Name, Fields: ix.Fields, Unique: ix.Unique, Sparse: ix.Sparse})
		if err != nil {
			var ue *storage.UniqueError
			num := 4
			if errors.As(err, &ue) {
				num = arangohttp.ErrNumUniqueConstraintViolated
			}
			sh.setIndexError(ix, num, err.Error())
			s.log.Warn("cannot build index", "shard", sh.name, "index", ix.ID, "err", err)
		}
		changed = true
	}
	sh.fmu.Lock()
	for id := range sh.indexErrs {
		if !planned[id] {
			delete(sh.indexErrs, id)
			changed = true
		}
	}
	sh.fmu.Unlock()
	for _, have := range sh.store.Indexes() {
		if !planned[have.ID] {
			_ = sh.store.DropIndex(have.ID)
			changed = true
		}
	}
	if changed && sh.currentRole() == roleLeader {
		go sh.republish(ctx)
	}
}

// settleRole takes the role the Plan gives this server for the shard.
func (s *Server) settleRole(ctx context.Context, snap *cluster.Snapshot, sh *shard, p planned) {
	leader, resigning := cluster.ResigningLeader(p.servers[0])
	cur, hasCur := snap.CurrentShard(p.db, p.cid, sh.name)
	sh.mu.Lock()
	r, inSync, following, ready := sh.role, sh.inSync, sh.following.id, sh.ready
	joinedAt := sh.joinedAt
	sh.mu.Unlock()
	sh.fmu.Lock()
	lost := sh.lost
	sh.fmu.Unlock()
	switch {
	case leader == s.id && !resigning:
		if r != roleLeader || lost || (ready && hasCur && len(cur.Servers) > 0 && cur.Servers[0] != s.id) {
			s.async(sh, func() {
				if err := sh.takeLeadership(ctx); err != nil {
					s.log.Warn("cannot take leadership", "shard", sh.name, "err", err)
				}
			})
			return
		}
		sh.dropUnplanned(p.servers)
	case leader == s.id && resigning:
		if r == roleLeader || (r == roleResigned && (!hasCur || len(cur.Servers) == 0 || cur.Servers[0] != "_"+s.id)) {
			s.async(sh, func() {
				if err := sh.resign(ctx); err != nil {
					s.log.Warn("cannot resign", "shard", sh.name, "err", err)
				}
			})
		}
	case resigning:
		// The old leader is handing over; wait for the Plan's next leader.
		if r == roleLeader {
			sh.loseLeadership("plan names " + leader)
		}
	default:
		if r == roleFollower && following == leader && inSync && snap.Index >= joinedAt && hasCur && !inCurrent(cur, s.id) {
			s.log.Info("dropped by the leader; resynchronizing", "shard", sh.name, "leader", leader)
			sh.mu.Lock()
			sh.inSync = false
			sh.startResyncLocked(leader)
			sh.mu.Unlock()
			return
		}
		if r != roleFollower || following != leader {
			sh.becomeFollower(leader)
		}
	}
}

// dropUnplanned removes followers the Plan no longer lists (removeFollower,
// moveShard) from the in-sync list.
func (sh *shard) dropUnplanned(planned []string) {
	sh.fmu.Lock()
	var stale []*link
	for id, l := range sh.links {
		if !slices.Contains(planned, id) {
			stale = append(stale, l)
		}
	}
	sh.fmu.Unlock()
	for _, l := range stale {
		go sh.drop(l, errors.New("no longer planned"))
	}
}

// async runs a role change of a shard unless one is under way.
func (s *Server) async(sh *shard, fn func()) {
	s.mu.Lock()
	if s.busy[sh.name] {
		s.mu.Unlock()
		return
	}
	s.busy[sh.name] = true
	s.mu.Unlock()
	go func() {
		defer func() {
			s.mu.Lock()
			delete(s.busy, sh.name)
			s.mu.Unlock()
		}()
		fn()
	}()
}

// republish rewrites Current (for example after an index change).
func (sh *shard) republish(ctx context.Context) {
	sh.fmu.Lock()
	servers := append([]string{sh.srv.id}, sh.inSyncLocked("")...)
	sh.fmu.Unlock()
	if err := sh.publishCurrent(ctx, servers, false); err != nil {
		sh.log.Warn("cannot republish Current", "err", err)
	}
}

func (sh *shard) hasIndex(id string) bool {
	return slices.ContainsFunc(sh.store.Indexes(), func(ix storage.IndexDef) bool { return ix.ID == id })
}
