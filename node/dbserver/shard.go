package dbserver

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/arangomesos/arangomesos/node/cluster"
	"github.com/arangomesos/arangomesos/node/dbserver/storage"
)

// role is what a DBServer is for one of its shards.
type role int

const (
	roleNone     role = iota // created, not yet told by the Plan
	roleLeader               // leads: accepts writes and reads
	roleResigned             // was asked to resign: refuses writes (1491)
	roleFollower             // follows a leader, or synchronizes with it
)

func (r role) String() string {
	return [...]string{"none", "leader", "resigned", "follower"}[r]
}

// leaderRef names the leader (and its incarnation and term) whose
// operations a follower applies.
type leaderRef struct {
	id     string
	reboot uint64
	term   uint64
}

// shard is one local shard: its store and its part in replication.
type shard struct {
	srv   *Server
	name  string
	db    string
	cid   string
	store *storage.Store
	clock *storage.Clock
	log   *slog.Logger

	// mu is the shard's write lock: it orders writes (sequence numbers
	// and the store), role changes, and a joining follower's final
	// catch-up.
	mu sync.Mutex
	// coll is the collection's name (for _id); writeConcern its setting.
	coll         string
	writeConcern int
	role         role
	ready        bool   // leader: Current names it; writes accepted
	term         uint64 // leader: its term
	seq          atomic.Uint64
	oplog        *opLog
	// following is the leader whose operations a follower accepts; inSync
	// is set when that leader has added it to the in-sync list.
	following leaderRef
	inSync    bool
	// joinedAt is the Agency index of the Current that added this follower
	// to the in-sync list: an older snapshot of Current cannot tell that
	// the leader dropped it.
	joinedAt  uint64
	resyncing context.CancelFunc
	// planLeader remembers the Plan's leader as the Agency cache said it
	// until the cache changes (planLeaderAt is its Changed channel then).
	planLeader   string
	planLeaderAt <-chan struct{}

	// fmu guards the in-sync followers and the commit signal.
	fmu      sync.Mutex
	links    map[string]*link
	commitCh chan struct{}
	lost     bool // leadership lost: writers still waiting fail
	// indexErrs are the Plan's indexes this shard could not build.
	indexErrs map[string]cluster.Index
	dropMu    sync.Mutex
}

func newShard(srv *Server, db, cid, name, coll string, store *storage.Store) *shard {
	st := store.State()
	return &shard{srv: srv, name: name, db: db, cid: cid, coll: coll, store: store,
		clock: storage.NewClock(st.MaxRev), log: srv.log.With("shard", name),
		oplog: newOpLog(srv.cfg.LogEntries, srv.cfg.LogBytes), links: map[string]*link{},
		commitCh: make(chan struct{}), writeConcern: 1}
}

// signalLocked wakes everyone waiting for the commit point; fmu is held.
func (sh *shard) signalLocked() {
	close(sh.commitCh)
	sh.commitCh = make(chan struct{})
}

// committedLocked is the highest sequence number every in-sync follower
// has acknowledged; fmu is held.
func (sh *shard) committedLocked() uint64 {
	c := sh.seq.Load()
	for _, l := range sh.links {
		c = min(c, l.acked)
	}
	return c
}

// currentRole returns the role under the write lock.
func (sh *shard) currentRole() role {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.role
}

// setIndexError remembers that an index could not be built.
func (sh *shard) setIndexError(ix cluster.Index, num int, msg string) {
	sh.fmu.Lock()
	defer sh.fmu.Unlock()
	if sh.indexErrs == nil {
		sh.indexErrs = map[string]cluster.Index{}
	}
	ix.Error, ix.ErrorNum, ix.ErrorMessage = true, num, msg
	sh.indexErrs[ix.ID] = ix
}

func (sh *shard) indexFailed(id string) bool {
	sh.fmu.Lock()
	defer sh.fmu.Unlock()
	_, ok := sh.indexErrs[id]
	return ok
}
