package supervision

import (
	"sort"
	"strings"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// handler is one job type's state machine: start runs a ToDo job, pending
// a Pending one. Each writes at most a few transactions whose preconditions
// guard what it read.
type handler struct {
	start   func(p *planner, j *cluster.Job)
	pending func(p *planner, j *cluster.Job)
}

var handlers = map[string]handler{
	cluster.JobFailedServer:     {(*planner).startFailedServer, (*planner).pendingFailedServer},
	cluster.JobFailedLeader:     {(*planner).startFailedLeader, (*planner).pendingFailedLeader},
	cluster.JobFailedFollower:   {(*planner).startFailedFollower, nil},
	cluster.JobAddFollower:      {(*planner).startAddFollower, nil},
	cluster.JobRemoveFollower:   {(*planner).startRemoveFollower, nil},
	cluster.JobMoveShard:        {(*planner).startMoveShard, (*planner).pendingMoveShard},
	cluster.JobCleanOutServer:   {(*planner).startCleanOutServer, (*planner).pendingCleanOutServer},
	cluster.JobResignLeadership: {(*planner).startResignLeadership, (*planner).pendingResignLeadership},
}

// workJobs runs the jobs (reference §3.3): ToDo jobs for failures first;
// other ToDo jobs only when no failure job waits; then every Pending job.
func (p *planner) workJobs() {
	todo := sortedJobs(p.s.ToDo)
	failures := false
	for _, j := range todo {
		if strings.HasPrefix(j.Type, "failed") {
			failures = true
			p.runStart(j)
		}
	}
	if !failures {
		for _, j := range todo {
			if !strings.HasPrefix(j.Type, "failed") {
				p.runStart(j)
			}
		}
	}
	for _, j := range sortedJobs(p.s.Pending) {
		if h, ok := handlers[j.Type]; ok && h.pending != nil {
			h.pending(p, j)
		}
	}
}

func (p *planner) runStart(j *cluster.Job) {
	h, ok := handlers[j.Type]
	if !ok {
		p.finish(newTxn(), j, "ToDo", false, "unknown job type "+j.Type)
		return
	}
	if j.Abort {
		p.finish(newTxn(), j, "ToDo", false, "aborted")
		return
	}
	h.start(p, j)
}

// sortedJobs orders jobs by numeric id, sub-jobs after their parent.
func sortedJobs(m map[string]*cluster.Job) []*cluster.Job {
	out := make([]*cluster.Job, 0, len(m))
	for id, j := range m {
		if j == nil {
			continue
		}
		if j.JobID == "" {
			j.JobID = id
		}
		out = append(out, j)
	}
	sort.Slice(out, func(i, k int) bool { return jobLess(out[i].JobID, out[k].JobID) })
	return out
}

func jobLess(a, b string) bool {
	if len(a) != len(b) {
		// numeric ids: shorter is smaller, unless one is a sub-job
		pa, pb := strings.SplitN(a, "-", 2)[0], strings.SplitN(b, "-", 2)[0]
		if pa != pb {
			if len(pa) != len(pb) {
				return len(pa) < len(pb)
			}
			return pa < pb
		}
	}
	return a < b
}

// toPending moves a ToDo job to Pending as part of t.
func (p *planner) toPending(t *txn, j *cluster.Job) {
	nj := *j
	nj.TimeStarted = p.now
	t.del(jobKey("ToDo", j.JobID)).set(jobKey("Pending", j.JobID), &nj).exists(jobKey("ToDo", j.JobID))
}

// finish moves a job from state ("ToDo" or "Pending") to Finished (ok) or
// Failed, as part of t, and writes t.
func (p *planner) finish(t *txn, j *cluster.Job, state string, ok bool, reason string) {
	nj := *j
	nj.TimeFinished = p.now
	nj.Reason = reason
	to := "Finished"
	if !ok {
		to = "Failed"
	}
	t.del(jobKey(state, j.JobID)).set(jobKey(to, j.JobID), &nj).exists(jobKey(state, j.JobID))
	if reason == "" {
		reason = "done"
	}
	p.write(t, "job %s (%s) %s: %s", j.JobID, j.Type, strings.ToLower(to), reason)
}

// block and unblock take and release a server or shard for a job.
func (t *txn) blockServer(server, jobID string) *txn {
	k := cluster.Join(cluster.SupervisionDBServers, server)
	return t.set(k, jobID).empty(k)
}

func (t *txn) unblockServer(server, jobID string) *txn {
	k := cluster.Join(cluster.SupervisionDBServers, server)
	return t.del(k).old(k, jobID)
}

func (t *txn) blockShard(shard, jobID string) *txn {
	k := cluster.Join(cluster.SupervisionShards, shard)
	return t.set(k, jobID).empty(k)
}

func (t *txn) unblockShard(shard, jobID string) *txn {
	k := cluster.Join(cluster.SupervisionShards, shard)
	return t.del(k).old(k, jobID)
}

// shardFree reports whether a job may change the shard this round: it is
// not blocked by another job and no earlier write of this round touched it.
func (p *planner) shardFree(shard, jobID string) bool {
	b := p.s.BlockedShards[shard]
	return (b == "" || b == jobID) && !p.touchedShards[shard]
}

// subJobs lists the ToDo and Pending sub-jobs of a job.
func (p *planner) subJobs(parent string) (todo, pending []*cluster.Job) {
	for _, j := range sortedJobs(p.s.ToDo) {
		if isSubJob(j.JobID, parent) {
			todo = append(todo, j)
		}
	}
	for _, j := range sortedJobs(p.s.Pending) {
		if isSubJob(j.JobID, parent) {
			pending = append(pending, j)
		}
	}
	return todo, pending
}

// requestAbort asks an abortable job to stop (what cancelAgencyJob does).
func (p *planner) requestAbort(jobID string) {
	for state, jobs := range map[string]map[string]*cluster.Job{"ToDo": p.s.ToDo, "Pending": p.s.Pending} {
		if j, ok := jobs[jobID]; ok && !j.Abort {
			switch j.Type {
			case cluster.JobMoveShard, cluster.JobCleanOutServer, cluster.JobResignLeadership:
				k := jobKey(state, jobID)
				p.write(newTxn().set(cluster.Join(k, "abort"), true).exists(k), "asked job %s (%s) to abort", jobID, j.Type)
			}
		}
	}
}

// shardRef of a shard job.
func jobShard(j *cluster.Job) ShardRef {
	return ShardRef{Database: j.Database, Collection: j.Collection, Shard: j.Shard}
}

// replicationFactor of the collection of a shard (at least 1).
func (p *planner) replicationFactor(r ShardRef) int {
	c := p.s.Collections[r.Database][r.Collection]
	if c == nil || c.ReplicationFactor < 1 {
		return 1
	}
	return c.ReplicationFactor
}

func (p *planner) collection(r ShardRef) *cluster.PlanCollection {
	return p.s.Collections[r.Database][r.Collection]
}

// cleanupJobs trims the job history (reference §3.3): when more than twice
// the limit are kept, the oldest are removed down to the limit.
func (p *planner) cleanupJobs() {
	trim := func(state string, jobs map[string]*cluster.Job, keep int) {
		if len(jobs) <= 2*keep {
			return
		}
		all := sortedJobs(jobs)
		sort.SliceStable(all, func(i, k int) bool { return all[i].TimeFinished < all[k].TimeFinished })
		t := newTxn()
		for _, j := range all[:len(all)-keep] {
			t.del(jobKey(state, j.JobID))
		}
		p.write(t, "trimmed %d %s jobs", len(all)-keep, strings.ToLower(state))
	}
	trim("Finished", p.s.Finished, p.in.Config.KeepFinished)
	trim("Failed", p.s.Failed, p.in.Config.KeepFailed)
}
