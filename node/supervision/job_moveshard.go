package supervision

import (
	"fmt"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// startMoveShard adds toServer to the shard's Plan (as the last follower)
// and blocks the shard (reference §3.4). A leader may also move to one of its
// followers (a leadership transfer, as resignLeadership and rebalancing do).
// Moves that cannot work fail at once: the collection is gone, fromServer
// does not hold the shard, a follower move to a server that already holds it,
// or toServer is not an available DBServer.
func (p *planner) startMoveShard(j *cluster.Job) {
	r := jobShard(j)
	plan := p.s.PlanServers(r)
	switch {
	case p.collection(r) == nil || len(plan) == 0:
		p.finish(newTxn(), j, "ToDo", false, "collection or shard is gone")
		return
	case !containsServer(plan, j.FromServer):
		p.finish(newTxn(), j, "ToDo", false, fmt.Sprintf("%s does not hold shard %s", j.FromServer, r.Shard))
		return
	case j.ToServer == j.FromServer || (containsServer(plan, j.ToServer) && plan[0] != j.FromServer):
		p.finish(newTxn(), j, "ToDo", false, fmt.Sprintf("%s already holds shard %s", j.ToServer, r.Shard))
		return
	case p.status(j.ToServer) == cluster.StatusFailed || p.s.PlanDBServers[j.ToServer] == nil:
		p.finish(newTxn(), j, "ToDo", false, fmt.Sprintf("%s is not an available DBServer", j.ToServer))
		return
	}
	if !p.shardFree(r.Shard, j.JobID) || !p.good(j.ToServer) {
		return
	}
	nj := *j
	nj.IsLeader = plan[0] == j.FromServer
	newPlan := append([]string(nil), plan...)
	if !contains(plan, j.ToServer) {
		newPlan = append(newPlan, j.ToServer)
	}
	t := newTxn().set(shardKey(r), newPlan).planBump().old(shardKey(r), plan).
		old(cluster.Join(cluster.SupervisionHealth, j.ToServer, "Status"), cluster.StatusGood).
		blockShard(r.Shard, j.JobID)
	p.toPending(t, &nj)
	p.touchedShards[r.Shard] = true
	p.write(t, "job %s: moveShard %s/%s %s → %s started", j.JobID, r.Database, r.Shard, j.FromServer, j.ToServer)
}

// pendingMoveShard drives a move to its end:
//   - follower move: once toServer is in sync, fromServer leaves the Plan;
//   - leader move: once toServer is in sync, the leader is asked to resign
//     ("_"+from first in Plan); once it has resigned in Current, toServer
//     becomes the leader with fromServer as a follower; once toServer leads
//     in Current, fromServer leaves the Plan unless remainsFollower.
//
// A move aborts (and undoes what can be undone) when asked to, or when
// fromServer or toServer FAILED before the leadership switched.
func (p *planner) pendingMoveShard(j *cluster.Job) {
	r := jobShard(j)
	plan := p.s.PlanServers(r)
	if p.collection(r) == nil || len(plan) == 0 {
		p.finish(newTxn().unblockShard(r.Shard, j.JobID), j, "Pending", false, "collection is gone")
		return
	}
	if p.touchedShards[r.Shard] {
		return
	}
	cur := p.s.CurrentShard(r)
	inSync := func(s string) bool { return cur != nil && contains(cur.Servers, s) }
	from, to := j.FromServer, j.ToServer
	switched := plan[0] == to
	if !switched && (j.Abort || p.status(to) == cluster.StatusFailed || (j.IsLeader && p.status(from) == cluster.StatusFailed)) {
		p.abortMove(j, r, plan)
		return
	}
	t := newTxn().old(shardKey(r), plan)
	switch {
	case !j.IsLeader:
		if !inSync(to) {
			return
		}
		t.set(shardKey(r), without(plan, from)).planBump().unblockShard(r.Shard, j.JobID)
		p.touchedShards[r.Shard] = true
		p.finish(t, j, "Pending", true, fmt.Sprintf("%s took over %s from %s", to, r.Shard, from))
	case plan[0] == from:
		if !inSync(to) {
			return
		}
		newPlan := append([]string{"_" + from}, plan[1:]...)
		t.set(shardKey(r), newPlan).planBump()
		p.touchedShards[r.Shard] = true
		p.write(t, "job %s: asked %s to resign the leadership of %s", j.JobID, from, r.Shard)
	case plan[0] == "_"+from:
		if cur == nil || len(cur.Servers) == 0 || cur.Servers[0] != "_"+from {
			return // not resigned yet
		}
		if !inSync(to) {
			p.abortMove(j, r, plan)
			return
		}
		newPlan := []string{to}
		for _, s := range plan[1:] {
			if s != to && s != from {
				newPlan = append(newPlan, s)
			}
		}
		newPlan = append(newPlan, from)
		t.set(shardKey(r), newPlan).planBump()
		p.touchedShards[r.Shard] = true
		p.write(t, "job %s: %s resigned; %s leads %s now", j.JobID, from, to, r.Shard)
	case switched:
		if cur == nil || len(cur.Servers) == 0 || cur.Servers[0] != to {
			return
		}
		t.unblockShard(r.Shard, j.JobID)
		if !j.RemainsFollower {
			t.set(shardKey(r), without(plan, from)).planBump()
		}
		p.touchedShards[r.Shard] = true
		p.finish(t, j, "Pending", true, fmt.Sprintf("%s leads %s in place of %s", to, r.Shard, from))
	default:
		// Someone else changed the leader (failover): the move is moot.
		p.abortMove(j, r, plan)
	}
}

// abortMove undoes a move before the leadership switched: toServer leaves
// the Plan and a resigning leader is reinstated. When fromServer failed and
// toServer is already in sync, toServer stays: it is a failover candidate.
func (p *planner) abortMove(j *cluster.Job, r ShardRef, plan []string) {
	keepTo := false
	if cur := p.s.CurrentShard(r); cur != nil && p.status(j.FromServer) == cluster.StatusFailed {
		keepTo = contains(cur.Servers, j.ToServer)
	}
	newPlan := []string{}
	for i, s := range plan {
		id, resigning := cluster.ResigningLeader(s)
		if id == j.ToServer && i > 0 && !keepTo {
			continue
		}
		if resigning {
			s = id
		}
		newPlan = append(newPlan, s)
	}
	t := newTxn().unblockShard(r.Shard, j.JobID)
	if fmt.Sprint(newPlan) != fmt.Sprint(plan) {
		t.set(shardKey(r), newPlan).planBump().old(shardKey(r), plan)
	}
	reason := "aborted"
	switch {
	case p.status(j.ToServer) == cluster.StatusFailed:
		reason = j.ToServer + " failed"
	case p.status(j.FromServer) == cluster.StatusFailed:
		reason = j.FromServer + " failed"
	case !j.Abort:
		reason = "the shard's leadership changed"
	}
	p.touchedShards[r.Shard] = true
	p.finish(t, j, "Pending", false, reason)
}

// containsServer reports whether a plan lists the server, as leader (also
// resigning) or follower.
func containsServer(plan []string, id string) bool {
	for _, s := range plan {
		if sid, _ := cluster.ResigningLeader(s); sid == id {
			return true
		}
	}
	return false
}
