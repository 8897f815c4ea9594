package supervision_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/node/agency"
	"github.com/arangomesos/arangomesos/node/agency/agencytest"
	"github.com/arangomesos/arangomesos/node/cluster"
	"github.com/arangomesos/arangomesos/node/supervision"
)

// sim drives supervision against a real in-process Agency with simulated
// DBServers: they heartbeat while alive, and react to Plan as the contract of
// docs/internals.md says a DBServer must (a leader publishes Current with
// itself and its in-sync followers; a resigning leader marks itself "_";
// followers that are alive and planned are in sync after one tick unless
// held back). Time is simulated: each tick advances the clock by one second.
type sim struct {
	t   *testing.T
	c   *agencytest.Cluster
	now time.Time
	// alive DBServers and coordinators heartbeat; dead ones do not.
	alive map[string]bool
	// lagging followers never get in sync.
	lagging map[string]bool
	runner  *supervision.Runner
	agentID string
	beat    int
}

func newSim(t *testing.T, dbservers int) *sim {
	t.Helper()
	s := &sim{t: t, c: agencytest.New(t, 1, agencytest.Options{}), now: time.Unix(1_800_000_000, 0),
		alive: map[string]bool{}, lagging: map[string]bool{}}
	var trxs []cluster.Transaction
	for i := 1; i <= dbservers; i++ {
		id := fmt.Sprintf("PRMR-%d", i)
		s.alive[id] = true
		trxs = append(trxs, cluster.Transaction{Ops: map[string]cluster.Operation{
			cluster.Join(cluster.PlanDBServers, id):     cluster.Set("none"),
			cluster.Join(cluster.CurrentServersReg, id): cluster.Set(cluster.ServerRegistered{Endpoint: "tcp://h:" + id, Host: "h"}),
			cluster.Join(cluster.TargetMapShortID, id):  cluster.Set(map[string]any{"ShortName": fmt.Sprintf("DBServer%04d", i)}),
		}})
	}
	s.write(trxs...)
	s.newRunner()
	return s
}

func (s *sim) agent() *agency.Agent { return s.c.WaitLeader().Agency() }

func (s *sim) newRunner() {
	cfg := supervision.DefaultConfig
	s.runner = supervision.NewRunner(s.agent(), cfg, time.Second, nil)
}

func (s *sim) write(trxs ...cluster.Transaction) {
	s.t.Helper()
	if _, err := s.agent().Write(trxs); err != nil {
		s.t.Fatal(err)
	}
}

// collection plans a collection with shards placed round robin, all copies
// in sync.
func (s *sim) collection(cid string, shards, rf int) {
	s.t.Helper()
	var dbs []string
	for id := range s.alive {
		dbs = append(dbs, id)
	}
	slices.Sort(dbs)
	plan := map[string][]string{}
	ops := map[string]cluster.Operation{}
	for i := 0; i < shards; i++ {
		sh := fmt.Sprintf("s%d", 100+i)
		var servers []string
		for k := 0; k < rf; k++ {
			servers = append(servers, dbs[(i+k)%len(dbs)])
		}
		plan[sh] = servers
		ops[cluster.Join(cluster.CurrentCollections, "_system", cid, sh)] = cluster.Set(cluster.CurrentShard{Servers: servers, FailoverCandidates: servers})
	}
	ops[cluster.Join(cluster.PlanCollections, "_system", cid)] = cluster.Set(cluster.PlanCollection{ID: cid, Name: "c" + cid,
		Type: 2, NumberOfShards: shards, ReplicationFactor: rf, WriteConcern: 1, ShardKeys: []string{"_key"}, Shards: plan})
	s.write(cluster.Transaction{Ops: ops})
}

// tick advances time by a second: alive servers heartbeat, servers react to
// Plan, and the supervision runs one round.
func (s *sim) tick() {
	s.t.Helper()
	s.now = s.now.Add(time.Second)
	s.beat++
	ops := map[string]cluster.Operation{}
	for id, ok := range s.alive {
		if ok {
			ops[cluster.Join(cluster.SyncServerStates, id)] = cluster.Set(cluster.ServerState{Status: "SERVING", Time: fmt.Sprint(s.beat)})
		}
	}
	if len(ops) > 0 {
		if _, err := s.agent().Transient([]cluster.Transaction{{Ops: ops}}); err != nil {
			s.t.Fatal(err)
		}
	}
	s.react()
	if err := s.runner.Step(s.now); err != nil {
		s.t.Fatalf("supervision step: %v", err)
	}
}

// react lets the simulated DBServers follow Plan.
func (s *sim) react() {
	snap := s.snapshot()
	ops := map[string]cluster.Operation{}
	for _, r := range snap.Shards() {
		plan := snap.PlanServers(r)
		cur := snap.CurrentShard(r)
		lead, resigning := cluster.ResigningLeader(plan[0])
		if !s.alive[lead] {
			continue // a dead leader writes nothing
		}
		var want cluster.CurrentShard
		if resigning {
			if cur == nil {
				continue
			}
			want = *cur
			want.Servers = append([]string{"_" + lead}, cur.Servers[1:]...)
		} else {
			want.Servers = []string{lead}
			for _, f := range plan[1:] {
				if s.alive[f] && !s.lagging[f] {
					want.Servers = append(want.Servers, f)
				}
			}
			want.FailoverCandidates = want.Servers
		}
		if cur == nil || fmt.Sprint(cur.Servers) != fmt.Sprint(want.Servers) {
			ops[cluster.Join(cluster.CurrentCollections, r.Database, r.Collection, r.Shard)] = cluster.Set(want)
		}
	}
	if len(ops) > 0 {
		s.write(cluster.Transaction{Ops: ops})
	}
}

func (s *sim) snapshot() *supervision.Snapshot {
	s.t.Helper()
	tree, _ := s.agent().FSM().Tree()
	snap, err := supervision.DecodeSnapshot(tree)
	if err != nil {
		s.t.Fatal(err)
	}
	return snap
}

// until ticks until cond holds, at most n times.
func (s *sim) until(n int, what string, cond func(*supervision.Snapshot) bool) {
	s.t.Helper()
	for i := 0; i < n; i++ {
		if cond(s.snapshot()) {
			return
		}
		s.tick()
	}
	snap := s.snapshot()
	s.t.Fatalf("after %d ticks: %s never happened\nplan: %v\nhealth: %v\ntodo %v pending %v failed %v", n, what,
		planOf(snap), snap.Health, jobsOf(snap.ToDo), jobsOf(snap.Pending), jobsOf(snap.Failed))
}

func planOf(snap *supervision.Snapshot) map[string][]string {
	out := map[string][]string{}
	for _, r := range snap.Shards() {
		out[r.Shard] = snap.PlanServers(r)
	}
	return out
}

func jobsOf(m map[string]*cluster.Job) []string {
	var out []string
	for id, j := range m {
		out = append(out, fmt.Sprintf("%s:%s %s", id, j.Type, j.Reason))
	}
	slices.Sort(out)
	return out
}

func ref(sh string) supervision.ShardRef {
	return supervision.ShardRef{Database: "_system", Collection: "10", Shard: sh}
}

// noShardLosesItsLastInSyncCopy checks the invariant behind "no
// acknowledged write is lost": every shard's leader was in sync before.
func TestSimFailedLeaderPromotesInSyncFollowerAndRestoresReplication(t *testing.T) {
	s := newSim(t, 3)
	s.collection("10", 3, 2)
	s.until(3, "all servers GOOD", func(sn *supervision.Snapshot) bool {
		return sn.Good("PRMR-1") && sn.Good("PRMR-2") && sn.Good("PRMR-3")
	})
	before := planOf(s.snapshot())
	s.alive["PRMR-1"] = false
	// BAD after the ok threshold, never straight to FAILED.
	s.until(7, "PRMR-1 BAD", func(sn *supervision.Snapshot) bool { return sn.Status("PRMR-1") == cluster.StatusBad })
	s.until(7, "PRMR-1 FAILED", func(sn *supervision.Snapshot) bool { return sn.Status("PRMR-1") == cluster.StatusFailed })
	if !s.snapshot().FailedServers["PRMR-1"] {
		t.Fatal("Target/FailedServers lacks PRMR-1")
	}
	// Every shard PRMR-1 led gets one of its in-sync followers as leader.
	s.until(10, "no shard led by PRMR-1", func(sn *supervision.Snapshot) bool {
		for _, r := range sn.Shards() {
			if sn.PlanServers(r)[0] == "PRMR-1" {
				return false
			}
		}
		return true
	})
	after := planOf(s.snapshot())
	for sh, old := range before {
		if old[0] == "PRMR-1" && after[sh][0] != old[1] {
			t.Fatalf("shard %s: promoted %s, but the in-sync follower was %s", sh, after[sh][0], old[1])
		}
	}
	// replicationFactor is restored on the two living servers, and the dead
	// server leaves every Plan once the new copies are in sync.
	s.until(30, "every shard on 2 living, in-sync servers", func(sn *supervision.Snapshot) bool {
		for _, r := range sn.Shards() {
			p := sn.PlanServers(r)
			if len(p) != 2 || slices.Contains(p, "PRMR-1") {
				return false
			}
		}
		return len(sn.ToDo)+len(sn.Pending) == 0
	})
	// The server comes back: GOOD again and out of FailedServers.
	s.alive["PRMR-1"] = true
	s.until(5, "PRMR-1 GOOD and not failed", func(sn *supervision.Snapshot) bool {
		return sn.Good("PRMR-1") && !sn.FailedServers["PRMR-1"]
	})
}

func TestSimFailedLeaderWaitsWithoutInSyncFollower(t *testing.T) {
	s := newSim(t, 3)
	s.collection("10", 1, 2) // s100 on [PRMR-1, PRMR-2]
	s.lagging["PRMR-2"] = true
	s.until(3, "PRMR-2 out of sync", func(sn *supervision.Snapshot) bool {
		return len(sn.CurrentShard(ref("s100")).Servers) == 1
	})
	s.alive["PRMR-1"] = false
	s.until(15, "PRMR-1 FAILED", func(sn *supervision.Snapshot) bool { return sn.Status("PRMR-1") == cluster.StatusFailed })
	for i := 0; i < 10; i++ {
		s.tick()
		if lead := s.snapshot().PlanServers(ref("s100"))[0]; lead != "PRMR-1" {
			t.Fatalf("promoted %s, which was not in sync: an acknowledged write could be lost", lead)
		}
	}
	// The leader comes back: it leads again, nothing was lost.
	s.alive["PRMR-1"] = true
	s.until(5, "PRMR-1 GOOD", func(sn *supervision.Snapshot) bool { return sn.Good("PRMR-1") })
}

func TestSimMoveShardOfALeader(t *testing.T) {
	s := newSim(t, 3)
	s.collection("10", 1, 2) // s100 on [PRMR-1, PRMR-2]
	s.tick()
	s.write(cluster.Transaction{Ops: map[string]cluster.Operation{jobKey("ToDo", "77"): cluster.Set(&cluster.Job{
		Type: cluster.JobMoveShard, JobID: "77", Database: "_system", Collection: "10", Shard: "s100",
		FromServer: "PRMR-1", ToServer: "PRMR-3", Creator: "test", TimeCreated: cluster.FormatTime(s.now)})}})
	sawResign := false
	s.until(20, "moveShard finished", func(sn *supervision.Snapshot) bool {
		if p := sn.PlanServers(ref("s100")); p[0] == "_PRMR-1" {
			sawResign = true
		}
		return sn.Finished["77"] != nil
	})
	if !sawResign {
		t.Fatal("the leader was never asked to resign")
	}
	if p := s.snapshot().PlanServers(ref("s100")); p[0] != "PRMR-3" || slices.Contains(p, "PRMR-1") {
		t.Fatalf("plan after move: %v", p)
	}
	if len(s.snapshot().BlockedShards) != 0 {
		t.Fatal("shard still blocked")
	}
}

func TestSimCleanOutServerAndShrink(t *testing.T) {
	s := newSim(t, 4)
	s.collection("10", 4, 2)
	s.until(3, "all GOOD", func(sn *supervision.Snapshot) bool { return sn.Good("PRMR-4") })
	n := 3
	s.write(cluster.Transaction{Ops: map[string]cluster.Operation{cluster.TargetNumDBServers: cluster.Set(n)}})
	s.until(40, "one server cleaned out", func(sn *supervision.Snapshot) bool { return len(sn.CleanedServers) == 1 })
	victim := s.snapshot().CleanedServers[0]
	for sh, p := range planOf(s.snapshot()) {
		if slices.Contains(p, victim) || len(p) != 2 {
			t.Fatalf("shard %s still on %s or not at replicationFactor: %v", sh, victim, p)
		}
	}
	if snap := s.snapshot(); len(snap.ToBeCleanedServers) != 0 || len(snap.BlockedServers) != 0 {
		t.Fatalf("left over: toBeCleaned %v blocked %v", snap.ToBeCleanedServers, snap.BlockedServers)
	}
	// It stops at 3: no further clean-out.
	for i := 0; i < 5; i++ {
		s.tick()
	}
	if len(s.snapshot().CleanedServers) != 1 {
		t.Fatal("shrank further than NumberOfDBServers")
	}
}

func TestSimCleanOutRefusedWhenInfeasible(t *testing.T) {
	s := newSim(t, 2)
	s.collection("10", 2, 2)
	s.tick()
	if err := supervision.CleanOutFeasible(s.snapshot(), "PRMR-1"); err == nil {
		t.Fatal("cleaning out one of 2 servers with replicationFactor 2 must be refused")
	}
	if err := supervision.CleanOutFeasible(s.snapshot(), "PRMR-9"); err == nil {
		t.Fatal("an unknown server must be refused")
	}
	s.write(cluster.Transaction{Ops: map[string]cluster.Operation{cluster.TargetNumDBServers: cluster.Set(1)}})
	for i := 0; i < 5; i++ {
		s.tick()
	}
	if snap := s.snapshot(); len(snap.ToDo)+len(snap.Pending)+len(snap.CleanedServers) != 0 {
		t.Fatal("shrinkCluster went below the replicationFactor")
	}
}

func TestSimNewAgencyLeaderResumesJobs(t *testing.T) {
	s := &sim{t: t, c: agencytest.New(t, 3, agencytest.Options{}), now: time.Unix(1_800_000_000, 0),
		alive: map[string]bool{}, lagging: map[string]bool{}}
	var trxs []cluster.Transaction
	for i := 1; i <= 3; i++ {
		id := fmt.Sprintf("PRMR-%d", i)
		s.alive[id] = true
		trxs = append(trxs, cluster.Transaction{Ops: map[string]cluster.Operation{cluster.Join(cluster.PlanDBServers, id): cluster.Set("none")}})
	}
	s.write(trxs...)
	s.newRunner()
	s.collection("10", 1, 2)
	s.tick()
	s.write(cluster.Transaction{Ops: map[string]cluster.Operation{jobKey("ToDo", "5"): cluster.Set(&cluster.Job{
		Type: cluster.JobMoveShard, JobID: "5", Database: "_system", Collection: "10", Shard: "s100",
		FromServer: "PRMR-1", ToServer: "PRMR-3", Creator: "test", TimeCreated: cluster.FormatTime(s.now)})}})
	s.until(10, "move pending", func(sn *supervision.Snapshot) bool { return sn.Pending["5"] != nil })
	// The Agency's leader dies in the middle of the move; the supervision on
	// the new leader takes over.
	s.c.WaitLeader().Stop()
	s.newRunner()
	s.until(30, "move finished under the new leader", func(sn *supervision.Snapshot) bool { return sn.Finished["5"] != nil })
}

func jobKey(state, id string) string { return cluster.Join(cluster.Target, state, id) }

func TestSimResignLeadershipHandsShardsToInSyncFollowers(t *testing.T) {
	s := newSim(t, 3)
	s.collection("10", 3, 2) // PRMR-1 leads s100, follows s102
	s.tick()
	s.write(cluster.Transaction{Ops: map[string]cluster.Operation{jobKey("ToDo", "9"): cluster.Set(&cluster.Job{
		Type: cluster.JobResignLeadership, JobID: "9", Server: "PRMR-1", Creator: "test", TimeCreated: cluster.FormatTime(s.now)})}})
	s.until(20, "resignLeadership finished", func(sn *supervision.Snapshot) bool { return sn.Finished["9"] != nil })
	for sh, p := range planOf(s.snapshot()) {
		if p[0] == "PRMR-1" {
			t.Fatalf("PRMR-1 still leads %s: %v", sh, p)
		}
		if sh == "s100" && !slices.Contains(p, "PRMR-1") {
			t.Fatalf("PRMR-1 must remain a follower of s100: %v", p)
		}
	}
	if sn := s.snapshot(); len(sn.ToBeCleanedServers)+len(sn.BlockedServers)+len(sn.BlockedShards) != 0 {
		t.Fatal("locks or ToBeCleanedServers left over")
	}
}

func TestSimRebalanceEvensOutANewServer(t *testing.T) {
	s := newSim(t, 3)
	s.collection("10", 6, 2) // 12 copies on 3 servers
	s.tick()
	// A fourth server joins empty.
	s.alive["PRMR-4"] = true
	s.write(cluster.Transaction{Ops: map[string]cluster.Operation{cluster.Join(cluster.PlanDBServers, "PRMR-4"): cluster.Set("none")}})
	s.until(3, "PRMR-4 GOOD", func(sn *supervision.Snapshot) bool { return sn.Good("PRMR-4") })
	for round := 0; round < 5; round++ {
		moves := supervision.PlanRebalance(s.snapshot(), 10)
		if len(moves) == 0 {
			break
		}
		for i, m := range moves {
			m.JobID = fmt.Sprintf("%d%02d", 50+round, i)
			m.Creator, m.TimeCreated = "test", cluster.FormatTime(s.now)
			s.write(cluster.Transaction{Ops: map[string]cluster.Operation{jobKey("ToDo", m.JobID): cluster.Set(&m)}})
		}
		s.until(40, "moves done", func(sn *supervision.Snapshot) bool { return len(sn.ToDo)+len(sn.Pending) == 0 })
	}
	copies, leaders := map[string]int{}, map[string]int{}
	for _, p := range planOf(s.snapshot()) {
		if len(p) != 2 {
			t.Fatalf("replicationFactor changed: %v", p)
		}
		leaders[p[0]]++
		for _, srv := range p {
			copies[srv]++
		}
	}
	for _, id := range []string{"PRMR-1", "PRMR-2", "PRMR-3", "PRMR-4"} {
		if copies[id] < 2 || copies[id] > 4 || leaders[id] > 2 {
			t.Fatalf("unbalanced: copies %v leaders %v", copies, leaders)
		}
	}
	if len(s.snapshot().Failed) != 0 {
		t.Fatalf("failed jobs: %v", jobsOf(s.snapshot().Failed))
	}
}
