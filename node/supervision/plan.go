package supervision

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// Config holds the supervision's thresholds and limits.
type Config struct {
	// OkThreshold: a server whose last heartbeat is older is BAD.
	OkThreshold time.Duration
	// GracePeriod: a server whose last heartbeat is older is FAILED.
	GracePeriod time.Duration
	// HealthRefresh is how often a persisted health record is rewritten
	// when nothing but its times changed.
	HealthRefresh time.Duration
	// MaxReplicationJobs bounds addFollower/removeFollower jobs in ToDo.
	MaxReplicationJobs int
	// KeepFinished and KeepFailed bound the job history.
	KeepFinished, KeepFailed int
	// FailedLeaderTimeout fails a failedLeader or failedFollower job that
	// cannot make progress (ArangoDB: 77 minutes).
	FailedLeaderTimeout time.Duration
}

// DefaultConfig has ArangoDB's defaults (reference §3.2).
var DefaultConfig = Config{
	OkThreshold: 5 * time.Second, GracePeriod: 10 * time.Second, HealthRefresh: 10 * time.Second,
	MaxReplicationJobs: 50, KeepFinished: 500, KeepFailed: 1000, FailedLeaderTimeout: 77 * time.Minute,
}

// Beat is the supervisor's memory of one server's heartbeats: the time
// inside the last heartbeat it saw (the server's clock, only compared for
// change) and its own clock when that heartbeat changed. Only the latter is
// ever compared with now, so clock skew between servers does not matter.
type Beat struct {
	SyncTime   string
	SyncStatus string
	LastAcked  time.Time
}

// IDRange is a block of job ids reserved from Sync/LatestID: [Next, End).
type IDRange struct{ Next, End uint64 }

// Input is everything one supervision round plans from.
type Input struct {
	Now      time.Time
	Snapshot *Snapshot
	// Heartbeats are the transient Sync/ServerStates.
	Heartbeats map[string]cluster.ServerState
	// Beats is the supervisor's memory from the previous round (empty for a
	// new leader).
	Beats map[string]Beat
	// LeaderSince is when this agent became the ready leader; a server
	// never heard from since then counts as heard from at that moment.
	LeaderSince time.Time
	IDs         IDRange
	Config      Config
}

// Output is what a round wants done.
type Output struct {
	// Beats is the updated memory for the next round.
	Beats map[string]Beat
	// Writes are transactions with preconditions, applied in order in one
	// request; a failed precondition just means the next round re-plans.
	Writes []cluster.Transaction
	// Events say what the round decided and why (for the log).
	Events []string
	// IDsUsed is how many ids of the range the round used.
	IDsUsed uint64
}

// Round plans one supervision round. It is a pure function of its input:
// it reads nothing else and changes nothing; the runner applies the output.
func Round(in Input) Output {
	p := &planner{in: in, s: in.Snapshot, now: cluster.FormatTime(in.Now),
		out: Output{Beats: map[string]Beat{}}, touchedShards: map[string]bool{}, touchedServers: map[string]bool{}}
	if p.in.Config == (Config{}) {
		p.in.Config = DefaultConfig
	}
	p.checkHealth()
	if p.maintenance() {
		return p.out
	}
	p.shrinkCluster()
	p.enforceReplication()
	p.workJobs()
	p.cleanupJobs()
	return p.out
}

// planner carries one round's state.
type planner struct {
	in  Input
	s   *Snapshot
	now string
	out Output
	// touched shards and servers were changed by an earlier write of this
	// round; jobs needing them wait for the next round.
	touchedShards  map[string]bool
	touchedServers map[string]bool
	// health is the status each server has after this round's checks.
	health map[string]string
}

func (p *planner) write(t *txn, event string, args ...any) {
	p.out.Writes = append(p.out.Writes, t.build())
	if event != "" {
		p.out.Events = append(p.out.Events, fmt.Sprintf(event, args...))
	}
}

func (p *planner) event(format string, args ...any) {
	p.out.Events = append(p.out.Events, fmt.Sprintf(format, args...))
}

// newID hands out the next job id of the reserved range ("" when the range
// is used up: the job waits for the next round).
func (p *planner) newID() string {
	next := p.in.IDs.Next + p.out.IDsUsed
	if next >= p.in.IDs.End {
		return ""
	}
	p.out.IDsUsed++
	return strconv.FormatUint(next, 10)
}

// status is a server's health after this round's checks.
func (p *planner) status(id string) string {
	if st, ok := p.health[id]; ok {
		return st
	}
	return p.s.Status(id)
}

func (p *planner) good(id string) bool { return p.status(id) == cluster.StatusGood }

// available reports whether a DBServer may receive shards: GOOD, not
// blocked by a job, not failed, not cleaned out or being cleaned out.
func (p *planner) available(id string) bool {
	if !p.good(id) || p.s.BlockedServers[id] != "" || p.s.FailedServers[id] || p.touchedServers[id] {
		return false
	}
	return !contains(p.s.CleanedServers, id) && !contains(p.s.ToBeCleanedServers, id)
}

// load counts the planned shards per DBServer (leaders and followers).
func (p *planner) load() map[string]int {
	l := map[string]int{}
	for _, id := range p.s.DBServers() {
		l[id] = 0
	}
	for _, r := range p.s.Shards() {
		for _, srv := range p.s.PlanServers(r) {
			id, _ := cluster.ResigningLeader(srv)
			l[id]++
		}
	}
	return l
}

// pickServers chooses n available DBServers not in exclude, least loaded
// first (ties by id), so placement is deterministic.
func (p *planner) pickServers(n int, exclude []string) []string {
	load := p.load()
	var cands []string
	for _, id := range p.s.DBServers() {
		if p.available(id) && !contains(exclude, id) {
			cands = append(cands, id)
		}
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if load[cands[i]] != load[cands[j]] {
			return load[cands[i]] < load[cands[j]]
		}
		return cands[i] < cands[j]
	})
	if len(cands) < n {
		return nil
	}
	return cands[:n]
}

func (p *planner) maintenance() bool {
	if p.s.Maintenance == "" {
		return false
	}
	if until, err := cluster.ParseTime(p.s.Maintenance); err == nil && !p.in.Now.Before(until) {
		return false
	}
	p.write(newTxn().set(cluster.SupervisionState, map[string]any{"Mode": "Maintenance", "Timestamp": p.now}), "")
	return true
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func without(list []string, s string) []string {
	out := make([]string, 0, len(list))
	for _, e := range list {
		if e != s {
			out = append(out, e)
		}
	}
	return out
}

func shardKey(r ShardRef) string {
	return cluster.Join(cluster.PlanCollections, r.Database, r.Collection, "shards", r.Shard)
}

func jobKey(state, id string) string { return cluster.Join(cluster.Target, state, id) }

// isSubJob reports whether id names a sub-job of parent ("<parent>-<n>").
func isSubJob(id, parent string) bool { return strings.HasPrefix(id, parent+"-") }
