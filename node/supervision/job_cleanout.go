package supervision

import (
	"fmt"
	"sort"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// CleanOutFeasible reports whether server can be cleaned out of a cluster in
// the state s: it must be a planned DBServer, not failed or already cleaned,
// and the DBServers that remain available must be able to hold every
// collection's replicationFactor. Coordinators use it to refuse impossible
// requests up front; the job checks it again when it starts.
func CleanOutFeasible(s *Snapshot, server string) error {
	if _, ok := s.PlanDBServers[server]; !ok {
		return fmt.Errorf("%s is not a DBServer of this cluster", server)
	}
	if s.FailedServers[server] || s.Status(server) == cluster.StatusFailed {
		return fmt.Errorf("%s has failed", server)
	}
	if contains(s.CleanedServers, server) {
		return fmt.Errorf("%s is already cleaned out", server)
	}
	remain := 0
	for _, id := range s.DBServers() {
		if id != server && !s.FailedServers[id] && s.Status(id) != cluster.StatusFailed &&
			!contains(s.CleanedServers, id) && !contains(s.ToBeCleanedServers, id) {
			remain++
		}
	}
	if need := max(1, MaxReplicationFactor(s)); remain < need {
		return fmt.Errorf("only %d DBServers would remain, but a replicationFactor of %d needs %d", remain, MaxReplicationFactor(s), need)
	}
	return nil
}

// MaxReplicationFactor is the largest replicationFactor of any collection.
func MaxReplicationFactor(s *Snapshot) int {
	m := 0
	for _, cols := range s.Collections {
		for _, c := range cols {
			if c != nil {
				m = max(m, c.ReplicationFactor)
			}
		}
	}
	return m
}

// HoldsShard reports whether server holds a copy of the shard in Plan or
// Current.
func HoldsShard(s *Snapshot, r ShardRef, server string) bool {
	if containsServer(s.PlanServers(r), server) {
		return true
	}
	cur := s.CurrentShard(r)
	return cur != nil && containsServer(cur.Servers, server)
}

// startCleanOutServer blocks the server, lists it in ToBeCleanedServers and
// creates a moveShard sub-job for every shard it holds, leader or follower,
// to the least loaded available server without a copy (reference §3.4).
func (p *planner) startCleanOutServer(j *cluster.Job) {
	if err := CleanOutFeasible(p.s, j.Server); err != nil {
		p.finish(newTxn(), j, "ToDo", false, err.Error())
		return
	}
	if b := p.s.BlockedServers[j.Server]; (b != "" && b != j.JobID) || p.touchedServers[j.Server] || !p.good(j.Server) {
		return
	}
	t := newTxn().blockServer(j.Server, j.JobID).push(cluster.TargetToBeCleaned, j.Server).
		old(cluster.Join(cluster.SupervisionHealth, j.Server, "Status"), cluster.StatusGood)
	n, err := p.moveAllShards(t, j, j.JobID, 0)
	if err != nil {
		p.finish(newTxn(), j, "ToDo", false, err.Error())
		return
	}
	p.toPending(t, j)
	p.touchedServers[j.Server] = true
	p.write(t, "job %s: cleaning out %s with %d moveShard jobs", j.JobID, j.Server, n)
}

// moveAllShards adds to t a moveShard sub-job (numbered from first) for each
// shard the job's server holds; it fails when a shard has nowhere to go.
func (p *planner) moveAllShards(t *txn, j *cluster.Job, parent string, first int) (int, error) {
	load := p.load()
	n := first
	for _, r := range p.s.Shards() {
		plan := p.s.PlanServers(r)
		if !containsServer(plan, j.Server) || p.s.jobOnShard(r.Shard, cluster.JobMoveShard) != "" {
			continue
		}
		var cands []string
		for _, id := range p.s.DBServers() {
			if id != j.Server && p.available(id) && !containsServer(plan, id) {
				cands = append(cands, id)
			}
		}
		if len(cands) == 0 {
			return 0, fmt.Errorf("no DBServer can take shard %s from %s", r.Shard, j.Server)
		}
		sort.SliceStable(cands, func(a, b int) bool {
			if load[cands[a]] != load[cands[b]] {
				return load[cands[a]] < load[cands[b]]
			}
			return cands[a] < cands[b]
		})
		to := cands[0]
		load[to]++
		sub := fmt.Sprintf("%s-%d", parent, n)
		n++
		t.set(jobKey("ToDo", sub), &cluster.Job{Type: cluster.JobMoveShard, JobID: sub, ParentJob: parent, Creator: parent,
			Database: r.Database, Collection: r.Collection, Shard: r.Shard, FromServer: j.Server, ToServer: to,
			IsLeader: plan[0] == j.Server, TimeCreated: p.now})
	}
	return n - first, nil
}

// pendingCleanOutServer finishes once every sub-job is done and the server
// holds no shard: the server moves to CleanedServers. A failed sub-job, or an
// abort request, aborts the clean-out.
func (p *planner) pendingCleanOutServer(j *cluster.Job) {
	todo, pending := p.subJobs(j.JobID)
	failedSub := ""
	for id, f := range p.s.Failed {
		if isSubJob(id, j.JobID) {
			failedSub = fmt.Sprintf("moveShard %s failed: %s", id, f.Reason)
		}
	}
	if j.Abort || failedSub != "" {
		for _, s := range append(todo, pending...) {
			p.requestAbort(s.JobID)
		}
		if len(pending) > 0 {
			return // let running moves undo themselves first
		}
		t := newTxn().unblockServer(j.Server, j.JobID).erase(cluster.TargetToBeCleaned, j.Server)
		for _, s := range todo {
			t.del(jobKey("ToDo", s.JobID))
		}
		reason := "aborted"
		if failedSub != "" {
			reason = failedSub
		}
		p.finish(t, j, "Pending", false, reason)
		return
	}
	if len(todo)+len(pending) > 0 || p.touchedServers[j.Server] {
		return
	}
	for _, r := range p.s.Shards() {
		if containsServer(p.s.PlanServers(r), j.Server) {
			// A shard landed on the server meanwhile: move it too.
			t := newTxn()
			if n, err := p.moveAllShards(t, j, j.JobID, p.nextSubIndex(j.JobID)); err == nil && n > 0 {
				p.write(t, "job %s: %d more shards to move off %s", j.JobID, n, j.Server)
			}
			return
		}
	}
	t := newTxn().unblockServer(j.Server, j.JobID).erase(cluster.TargetToBeCleaned, j.Server).
		push(cluster.TargetCleanedServers, j.Server).
		cond(cluster.TargetCleanedServers, cluster.NotIn(j.Server))
	p.touchedServers[j.Server] = true
	p.finish(t, j, "Pending", true, fmt.Sprintf("%s holds no shard any more", j.Server))
}

// nextSubIndex returns a sub-job number not used by any job of parent.
func (p *planner) nextSubIndex(parent string) int {
	n := 0
	for _, jobs := range []map[string]*cluster.Job{p.s.ToDo, p.s.Pending, p.s.Finished, p.s.Failed} {
		for id := range jobs {
			var k int
			if isSubJob(id, parent) {
				if _, err := fmt.Sscanf(id[len(parent)+1:], "%d", &k); err == nil && k >= n {
					n = k + 1
				}
			}
		}
	}
	return n
}

// startResignLeadership hands every shard the server leads to an in-sync,
// GOOD follower (moveShard with remainsFollower), so the server can be
// restarted without a failover. Shards without such a follower are skipped.
func (p *planner) startResignLeadership(j *cluster.Job) {
	if _, ok := p.s.PlanDBServers[j.Server]; !ok {
		p.finish(newTxn(), j, "ToDo", false, j.Server+" is not a DBServer of this cluster")
		return
	}
	if b := p.s.BlockedServers[j.Server]; (b != "" && b != j.JobID) || p.touchedServers[j.Server] || !p.good(j.Server) {
		return
	}
	t := newTxn().blockServer(j.Server, j.JobID).push(cluster.TargetToBeCleaned, j.Server)
	n := 0
	for _, r := range p.s.Shards() {
		plan := p.s.PlanServers(r)
		cur := p.s.CurrentShard(r)
		if len(plan) < 2 || plan[0] != j.Server || cur == nil || p.s.jobOnShard(r.Shard, cluster.JobMoveShard) != "" {
			continue
		}
		to := ""
		for _, s := range cur.Servers[min(1, len(cur.Servers)):] {
			if s != j.Server && contains(plan, s) && p.good(s) {
				to = s
				break
			}
		}
		if to == "" {
			continue
		}
		sub := fmt.Sprintf("%s-%d", j.JobID, n)
		n++
		t.set(jobKey("ToDo", sub), &cluster.Job{Type: cluster.JobMoveShard, JobID: sub, ParentJob: j.JobID, Creator: j.JobID,
			Database: r.Database, Collection: r.Collection, Shard: r.Shard, FromServer: j.Server, ToServer: to,
			IsLeader: true, RemainsFollower: true, TimeCreated: p.now})
	}
	p.toPending(t, j)
	p.touchedServers[j.Server] = true
	p.write(t, "job %s: %s resigns the leadership of %d shards", j.JobID, j.Server, n)
}

func (p *planner) pendingResignLeadership(j *cluster.Job) {
	todo, pending := p.subJobs(j.JobID)
	if len(todo)+len(pending) > 0 {
		if j.Abort {
			for _, s := range append(todo, pending...) {
				p.requestAbort(s.JobID)
			}
		}
		return
	}
	t := newTxn().unblockServer(j.Server, j.JobID).erase(cluster.TargetToBeCleaned, j.Server)
	p.finish(t, j, "Pending", !j.Abort, "")
}

// shrinkCluster cleans out one DBServer when Target/NumberOfDBServers is below
// the number of available DBServers and no other job runs (reference §3.6).
// It picks the least loaded GOOD server (ties: the highest id) and never
// shrinks below the largest replicationFactor.
func (p *planner) shrinkCluster() {
	if p.s.NumberOfDBServers == nil || len(p.s.ToDo)+len(p.s.Pending) > 0 {
		return
	}
	var avail []string
	for _, id := range p.s.DBServers() {
		if !p.s.FailedServers[id] && !contains(p.s.CleanedServers, id) && !contains(p.s.ToBeCleanedServers, id) {
			avail = append(avail, id)
		}
	}
	want := *p.s.NumberOfDBServers
	if want >= len(avail) || len(avail) <= 1 {
		return
	}
	if MaxReplicationFactor(p.s) >= len(avail) {
		p.event("not shrinking to %d DBServers: a replicationFactor of %d needs %d", want, MaxReplicationFactor(p.s), len(avail))
		return
	}
	load := p.load()
	victim := ""
	for _, id := range avail {
		if !p.good(id) {
			continue
		}
		if victim == "" || load[id] < load[victim] || (load[id] == load[victim] && id > victim) {
			victim = id
		}
	}
	if victim == "" {
		return
	}
	id := p.newID()
	if id == "" {
		return
	}
	p.write(newTxn().set(jobKey("ToDo", id), &cluster.Job{Type: cluster.JobCleanOutServer, JobID: id, Server: victim,
		Creator: "supervision", TimeCreated: p.now}),
		"shrinking from %d to %d DBServers: cleanOutServer %s (job %s)", len(avail), want, victim, id)
}
