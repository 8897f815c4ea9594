package supervision

import (
	"sort"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// PlanRebalance proposes up to maxMoves moveShard jobs (without ids) that
// even out the DBServers: first the number of shard copies per server (moving
// a copy from the fullest to the emptiest server while they differ by more
// than one, followers before leaders), then the number of leaderships
// (handing leadership to an in-sync follower on a server that leads fewer
// shards). Only available servers take part; shards with a job are left
// alone. It returns no move when the cluster is balanced.
func PlanRebalance(s *Snapshot, maxMoves int) []cluster.Job {
	p := &planner{s: s, health: map[string]string{}, touchedShards: map[string]bool{}, touchedServers: map[string]bool{}}
	var servers []string
	for _, id := range s.DBServers() {
		if p.available(id) {
			servers = append(servers, id)
		}
	}
	if len(servers) < 2 {
		return nil
	}
	copies, leaders := map[string]int{}, map[string]int{}
	for _, id := range servers {
		copies[id], leaders[id] = 0, 0
	}
	busy := map[string]bool{}
	type shard struct {
		r    ShardRef
		plan []string
	}
	var shards []shard
	for _, r := range s.Shards() {
		plan := s.PlanServers(r)
		if len(plan) == 0 {
			continue
		}
		if s.BlockedShards[r.Shard] != "" || s.jobOnShard(r.Shard, cluster.JobMoveShard, cluster.JobAddFollower,
			cluster.JobRemoveFollower, cluster.JobFailedLeader, cluster.JobFailedFollower) != "" {
			busy[r.Shard] = true
		}
		for i, srv := range plan {
			if _, ok := copies[srv]; ok {
				copies[srv]++
				if i == 0 {
					leaders[srv]++
				}
			}
		}
		shards = append(shards, shard{r, append([]string(nil), plan...)})
	}
	extremes := func(count map[string]int) (hi, lo string) {
		sorted := append([]string(nil), servers...)
		sort.SliceStable(sorted, func(i, j int) bool {
			if count[sorted[i]] != count[sorted[j]] {
				return count[sorted[i]] < count[sorted[j]]
			}
			return sorted[i] < sorted[j]
		})
		return sorted[len(sorted)-1], sorted[0]
	}
	var moves []cluster.Job
	for len(moves) < maxMoves {
		hi, lo := extremes(copies)
		if copies[hi]-copies[lo] <= 1 {
			break
		}
		best := -1
		for i, sh := range shards {
			if busy[sh.r.Shard] || !contains(sh.plan, hi) || contains(sh.plan, lo) {
				continue
			}
			if best < 0 || (shards[best].plan[0] == hi && sh.plan[0] != hi) {
				best = i // prefer moving a follower copy
			}
		}
		if best < 0 {
			break
		}
		sh := shards[best]
		isLeader := sh.plan[0] == hi
		moves = append(moves, cluster.Job{Type: cluster.JobMoveShard, Database: sh.r.Database, Collection: sh.r.Collection,
			Shard: sh.r.Shard, FromServer: hi, ToServer: lo, IsLeader: isLeader})
		busy[sh.r.Shard] = true
		copies[hi]--
		copies[lo]++
		if isLeader {
			leaders[hi]--
			leaders[lo]++
		}
	}
	for len(moves) < maxMoves {
		hi, lo := extremes(leaders)
		if leaders[hi]-leaders[lo] <= 1 {
			break
		}
		found := false
		for _, sh := range shards {
			cur := s.CurrentShard(sh.r)
			if busy[sh.r.Shard] || sh.plan[0] != hi || cur == nil || !contains(cur.Servers, lo) || !contains(sh.plan, lo) {
				continue
			}
			moves = append(moves, cluster.Job{Type: cluster.JobMoveShard, Database: sh.r.Database, Collection: sh.r.Collection,
				Shard: sh.r.Shard, FromServer: hi, ToServer: lo, IsLeader: true, RemainsFollower: true})
			busy[sh.r.Shard] = true
			leaders[hi]--
			leaders[lo]++
			found = true
			break
		}
		if !found {
			break
		}
	}
	return moves
}
