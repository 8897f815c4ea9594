package supervision

import (
	"fmt"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// enforceReplication restores every shard's replicationFactor whenever
// enough healthy DBServers exist (reference §3.5): an addFollower job when
// fewer than replicationFactor planned copies are on GOOD or BAD servers, a
// removeFollower job when the Plan holds more copies than needed and enough
// of them are in sync. Shards with a job of their own, or blocked, are left
// alone; at most Config.MaxReplicationJobs such jobs wait in ToDo.
func (p *planner) enforceReplication() {
	waiting := 0
	for _, j := range p.s.ToDo {
		if j.Type == cluster.JobAddFollower || j.Type == cluster.JobRemoveFollower {
			waiting++
		}
	}
	for _, r := range p.s.Shards() {
		if waiting >= p.in.Config.MaxReplicationJobs {
			return
		}
		if p.s.BlockedShards[r.Shard] != "" || p.touchedShards[r.Shard] || p.s.jobOnShard(r.Shard,
			cluster.JobAddFollower, cluster.JobRemoveFollower, cluster.JobMoveShard,
			cluster.JobFailedLeader, cluster.JobFailedFollower) != "" {
			continue
		}
		plan := p.s.PlanServers(r)
		if len(plan) == 0 || p.failureInProgress(plan) {
			continue
		}
		rf := p.replicationFactor(r)
		kind := ""
		switch {
		case p.healthyCopies(plan) < rf:
			if p.pickServers(rf-p.healthyCopies(plan), p.excludeFor(r, plan)) != nil {
				kind = cluster.JobAddFollower
			}
		case len(plan) > rf:
			if cur := p.s.CurrentShard(r); cur != nil && p.inSync(plan, cur) >= rf {
				kind = cluster.JobRemoveFollower
			}
		}
		if kind == "" {
			continue
		}
		id := p.newID()
		if id == "" {
			return
		}
		p.touchedShards[r.Shard] = true
		waiting++
		p.write(newTxn().set(jobKey("ToDo", id), &cluster.Job{Type: kind, JobID: id, Creator: "supervision",
			TimeCreated: p.now, Database: r.Database, Collection: r.Collection, Shard: r.Shard}),
			"created %s job %s for %s/%s (replicationFactor %d, planned %v)", kind, id, r.Database, r.Shard, rf, plan)
	}
}

// failureInProgress reports whether a planned server of the shard failed and
// its failedServer job has not finished: its failedLeader/failedFollower jobs
// repair the shard, and adding followers meanwhile would only add churn.
func (p *planner) failureInProgress(plan []string) bool {
	for _, s := range plan {
		id, _ := cluster.ResigningLeader(s)
		if p.status(id) != cluster.StatusFailed {
			continue
		}
		if !p.s.FailedServers[id] || p.s.jobOnServer(id, cluster.JobFailedServer) != "" {
			return true
		}
	}
	return false
}

// healthyCopies counts the leader plus the planned followers that are GOOD
// or BAD (not FAILED).
func (p *planner) healthyCopies(plan []string) int {
	n := 1
	for _, s := range plan[1:] {
		if st := p.status(s); st == cluster.StatusGood || st == cluster.StatusBad {
			n++
		}
	}
	return n
}

// inSync counts the planned servers that Current lists as in sync.
func (p *planner) inSync(plan []string, cur *cluster.CurrentShard) int {
	n := 0
	for _, s := range plan {
		if id, _ := cluster.ResigningLeader(s); contains(cur.Servers, id) {
			n++
		}
	}
	return n
}

func (p *planner) excludeFor(r ShardRef, plan []string) []string {
	ex := append([]string(nil), plan...)
	if cur := p.s.CurrentShard(r); cur != nil {
		ex = append(ex, cur.FailoverCandidates...)
	}
	return ex
}

// startAddFollower appends enough available servers to the shard's Plan to
// reach its replicationFactor, or finishes when that is no longer necessary;
// without enough servers it waits.
func (p *planner) startAddFollower(j *cluster.Job) {
	r := jobShard(j)
	plan := p.s.PlanServers(r)
	if p.collection(r) == nil || len(plan) == 0 {
		p.finish(newTxn(), j, "ToDo", true, "collection is gone")
		return
	}
	rf := p.replicationFactor(r)
	have := p.healthyCopies(plan)
	if have >= rf {
		p.finish(newTxn(), j, "ToDo", true, "no longer necessary")
		return
	}
	if !p.shardFree(r.Shard, j.JobID) {
		return
	}
	picked := p.pickServers(rf-have, p.excludeFor(r, plan))
	if picked == nil {
		return
	}
	newPlan := append(append([]string(nil), plan...), picked...)
	t := newTxn().set(shardKey(r), newPlan).planBump().old(shardKey(r), plan).
		empty(cluster.Join(cluster.SupervisionShards, r.Shard))
	for _, s := range picked {
		t.old(cluster.Join(cluster.SupervisionHealth, s, "Status"), cluster.StatusGood)
	}
	nj := *j
	nj.NewFollower = picked
	p.touchedShards[r.Shard] = true
	p.finish(t, &nj, "ToDo", true, fmt.Sprintf("added %v as followers of %s", picked, r.Shard))
}

// startRemoveFollower removes surplus followers down to the
// replicationFactor: first those not GOOD, then those not in sync, then
// in-sync followers from the end. It waits until the leader is confirmed in
// Current and at least replicationFactor copies are in sync, so removing never
// leaves fewer in-sync copies than asked for.
func (p *planner) startRemoveFollower(j *cluster.Job) {
	r := jobShard(j)
	plan := p.s.PlanServers(r)
	rf := p.replicationFactor(r)
	if p.collection(r) == nil || len(plan) <= rf {
		p.finish(newTxn(), j, "ToDo", true, "no longer necessary")
		return
	}
	cur := p.s.CurrentShard(r)
	if cur == nil || len(cur.Servers) == 0 || cur.Servers[0] != plan[0] || p.inSync(plan, cur) < rf || !p.shardFree(r.Shard, j.JobID) {
		return
	}
	remove := map[string]bool{}
	surplus := len(plan) - rf
	pass := func(pick func(string) bool) {
		for i := len(plan) - 1; i >= 1 && surplus > 0; i-- {
			if s := plan[i]; !remove[s] && pick(s) {
				remove[s] = true
				surplus--
			}
		}
	}
	pass(func(s string) bool { return !p.good(s) })
	pass(func(s string) bool { return !contains(cur.Servers, s) })
	pass(func(string) bool { return true })
	var newPlan, removed []string
	for _, s := range plan {
		if remove[s] {
			removed = append(removed, s)
		} else {
			newPlan = append(newPlan, s)
		}
	}
	t := newTxn().set(shardKey(r), newPlan).planBump().old(shardKey(r), plan).
		empty(cluster.Join(cluster.SupervisionShards, r.Shard))
	p.touchedShards[r.Shard] = true
	p.finish(t, j, "ToDo", true, fmt.Sprintf("removed %v from %s", removed, r.Shard))
}
