package supervision

import (
	"fmt"
	"time"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// failedServer (reference §3.4): for every replicated shard on a FAILED
// DBServer, a failedLeader or failedFollower sub-job; then it waits until its
// sub-jobs are done. If the server comes back GOOD, sub-jobs not yet started
// are dropped.
func (p *planner) startFailedServer(j *cluster.Job) {
	if p.status(j.Server) != cluster.StatusFailed {
		p.finish(newTxn(), j, "ToDo", false, fmt.Sprintf("server %s is no longer failed", j.Server))
		return
	}
	if b := p.s.BlockedServers[j.Server]; b != "" && b != j.JobID {
		p.requestAbort(b) // a move or clean-out that involves the dead server
		return
	}
	t := newTxn()
	n := 0
	for _, r := range p.s.Shards() {
		plan := p.s.PlanServers(r)
		if len(plan) < 2 {
			continue // a single copy: nothing to fail over to; it waits for its server
		}
		for i, srv := range plan {
			id, _ := cluster.ResigningLeader(srv)
			if id != j.Server {
				continue
			}
			kind := cluster.JobFailedFollower
			if i == 0 {
				kind = cluster.JobFailedLeader
			}
			sub := fmt.Sprintf("%s-%d", j.JobID, n)
			n++
			t.set(jobKey("ToDo", sub), &cluster.Job{Type: kind, JobID: sub, ParentJob: j.JobID, Creator: j.JobID,
				Database: r.Database, Collection: r.Collection, Shard: r.Shard, FromServer: j.Server, TimeCreated: p.now})
		}
	}
	t.blockServer(j.Server, j.JobID)
	t.old(cluster.Join(cluster.SupervisionHealth, j.Server, "Status"), cluster.StatusFailed)
	p.toPending(t, j)
	p.touchedServers[j.Server] = true
	p.write(t, "job %s: failedServer %s started with %d shard jobs", j.JobID, j.Server, n)
}

func (p *planner) pendingFailedServer(j *cluster.Job) {
	todo, pending := p.subJobs(j.JobID)
	if p.good(j.Server) && len(todo) > 0 {
		t := newTxn()
		for _, s := range todo {
			t.del(jobKey("ToDo", s.JobID)).exists(jobKey("ToDo", s.JobID))
		}
		p.write(t, "job %s: %s is back; dropped %d shard jobs not yet started", j.JobID, j.Server, len(todo))
		todo = nil
	}
	if len(todo)+len(pending) > 0 {
		return
	}
	t := newTxn().unblockServer(j.Server, j.JobID)
	p.finish(t, j, "Pending", true, "")
}

// startFailedLeader promotes an in-sync follower of a shard whose leader
// FAILED (reference §3.4). Only a GOOD server that is in the shard's Current
// servers and failoverCandidates is promoted, so no acknowledged write is
// lost; without one the job waits. The old leader stays at the end of the
// Plan as a follower, in case it comes back.
func (p *planner) startFailedLeader(j *cluster.Job) {
	r := jobShard(j)
	plan := p.s.PlanServers(r)
	if p.collection(r) == nil || len(plan) == 0 {
		p.finish(newTxn(), j, "ToDo", true, "collection is gone")
		return
	}
	if lead, _ := cluster.ResigningLeader(plan[0]); lead != j.FromServer {
		p.finish(newTxn(), j, "ToDo", true, "the shard has another leader now")
		return
	}
	if p.timedOut(j) {
		p.finish(newTxn(), j, "ToDo", false, "no in-sync follower became available in time")
		return
	}
	if !p.shardFree(r.Shard, j.JobID) || p.status(j.FromServer) != cluster.StatusFailed {
		return
	}
	cur := p.s.CurrentShard(r)
	if cur == nil {
		return
	}
	to := ""
	for _, s := range cur.Servers {
		if s != j.FromServer && contains(plan, s) && contains(cur.FailoverCandidates, s) && p.good(s) {
			to = s
			break
		}
	}
	if to == "" {
		return // wait for an in-sync follower
	}
	newPlan := []string{to}
	for _, s := range cur.Servers {
		if s != to && s != j.FromServer && contains(plan, s) {
			newPlan = append(newPlan, s)
		}
	}
	newPlan = append(newPlan, j.FromServer)
	for _, s := range plan {
		if id, _ := cluster.ResigningLeader(s); !contains(newPlan, id) {
			newPlan = append(newPlan, id)
		}
	}
	curKey := cluster.Join(cluster.CurrentCollections, r.Database, r.Collection, r.Shard)
	nj := *j
	nj.ToServer = to
	t := newTxn().set(shardKey(r), newPlan).planBump().old(shardKey(r), plan).
		old(cluster.Join(curKey, "servers"), cur.Servers).
		old(cluster.Join(curKey, "failoverCandidates"), cur.FailoverCandidates).
		old(cluster.Join(cluster.SupervisionHealth, to, "Status"), cluster.StatusGood).
		old(cluster.Join(cluster.SupervisionHealth, j.FromServer, "Status"), cluster.StatusFailed).
		blockShard(r.Shard, j.JobID)
	p.toPending(t, &nj)
	p.touchedShards[r.Shard] = true
	p.write(t, "job %s: failedLeader %s/%s: promoted in-sync follower %s in place of %s", j.JobID, r.Database, r.Shard, to, j.FromServer)
}

func (p *planner) pendingFailedLeader(j *cluster.Job) {
	r := jobShard(j)
	plan := p.s.PlanServers(r)
	t := newTxn().unblockShard(r.Shard, j.JobID)
	if p.collection(r) == nil || len(plan) == 0 {
		p.finish(t, j, "Pending", true, "collection is gone")
		return
	}
	if cur := p.s.CurrentShard(r); cur != nil && len(cur.Servers) > 0 && cur.Servers[0] == plan[0] {
		p.finish(t, j, "Pending", true, fmt.Sprintf("%s took over the shard", plan[0]))
		return
	}
	if p.status(plan[0]) == cluster.StatusFailed || p.timedOut(j) {
		p.finish(t, j, "Pending", false, fmt.Sprintf("new leader %s did not take over", plan[0]))
	}
}

// startFailedFollower replaces a FAILED follower of a shard with an available
// server not yet holding the shard, keeping the failed one at the end of the
// Plan in case it comes back (removeFollower drops the surplus later). It
// goes straight from ToDo to Finished.
func (p *planner) startFailedFollower(j *cluster.Job) {
	r := jobShard(j)
	plan := p.s.PlanServers(r)
	if p.collection(r) == nil || !contains(plan, j.FromServer) {
		p.finish(newTxn(), j, "ToDo", true, "the server no longer follows the shard")
		return
	}
	if p.timedOut(j) {
		p.finish(newTxn(), j, "ToDo", false, "no server was available to take the shard in time")
		return
	}
	if !p.shardFree(r.Shard, j.JobID) || p.status(j.FromServer) != cluster.StatusFailed {
		return
	}
	exclude := append([]string(nil), plan...)
	if cur := p.s.CurrentShard(r); cur != nil {
		exclude = append(exclude, cur.FailoverCandidates...)
	}
	picked := p.pickServers(1, exclude)
	if picked == nil {
		return // wait for a server
	}
	var newPlan []string
	for _, s := range plan {
		if s == j.FromServer {
			newPlan = append(newPlan, picked[0])
		} else {
			newPlan = append(newPlan, s)
		}
	}
	newPlan = append(newPlan, j.FromServer)
	nj := *j
	nj.ToServer = picked[0]
	t := newTxn().set(shardKey(r), newPlan).planBump().old(shardKey(r), plan).
		old(cluster.Join(cluster.SupervisionHealth, picked[0], "Status"), cluster.StatusGood).
		old(cluster.Join(cluster.SupervisionHealth, j.FromServer, "Status"), cluster.StatusFailed).
		empty(cluster.Join(cluster.SupervisionShards, r.Shard))
	p.touchedShards[r.Shard] = true
	p.finish(t, &nj, "ToDo", true, fmt.Sprintf("%s replaces failed follower %s of %s", picked[0], j.FromServer, r.Shard))
}

// timedOut reports whether a failure job has waited too long.
func (p *planner) timedOut(j *cluster.Job) bool {
	created, err := cluster.ParseTime(j.TimeCreated)
	if err != nil {
		return false
	}
	limit := p.in.Config.FailedLeaderTimeout
	if limit <= 0 {
		limit = 77 * time.Minute
	}
	return p.in.Now.Sub(created) > limit
}
