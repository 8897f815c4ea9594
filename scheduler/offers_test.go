package scheduler

import (
	"fmt"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/arangomesos/arangomesos/executor/spec"
	"github.com/arangomesos/arangomesos/node/cluster"
)

var now = time.Unix(1_800_000_000, 0)

func testConfig() Config {
	c := DefaultConfig()
	return c
}

func newTestState(t *testing.T, cfg Config) *State {
	t.Helper()
	st, err := NewState(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// offer builds an offer of unreserved resources on host (agent id host-id).
func offer(host string, firstPort uint64, extra ...mesos.Resource) mesos.Offer {
	t := mesos.RANGES
	res := []mesos.Resource{scalarRes("cpus", 4), scalarRes("mem", 8192), scalarRes("disk", 20480),
		{Name: "ports", Type: &t, Ranges: &mesos.Value_Ranges{Range: []mesos.Value_Range{{Begin: firstPort, End: firstPort + 999}}}}}
	for i := range res {
		res[i].Role = strp("*")
	}
	return mesos.Offer{ID: mesos.OfferID{Value: "o-" + host}, AgentID: mesos.AgentID{Value: host + "-id"},
		Hostname: host, Resources: append(res, extra...)}
}

func opTypes(p OfferPlan) string {
	var s []string
	for _, op := range p.Ops {
		s = append(s, op.Type.String())
	}
	return strings.Join(s, ",")
}

func launched(t *testing.T, p OfferPlan) []mesos.TaskInfo {
	t.Helper()
	var out []mesos.TaskInfo
	for _, op := range p.Ops {
		if op.Launch != nil {
			out = append(out, op.Launch.TaskInfos...)
		}
	}
	return out
}

func TestNewAgencyWaitsForEnoughHostsThenPlacesAllAgents(t *testing.T) {
	cfg := testConfig()
	st := newTestState(t, cfg)
	Decide(st, World{Now: now, Config: cfg})
	tf := TaskFactory{Config: cfg, ArtifactURL: "http://s/v1/artifacts/arangomesos"}
	plans, waiting := MatchOffers(st, []mesos.Offer{offer("h1", 31000), offer("h2", 32000)}, World{Now: now, Config: cfg}, tf)
	for _, p := range plans {
		if !p.Hold || len(p.Ops) != 0 {
			t.Fatalf("with 2 hosts for 3 agents the offers are held, nothing launched: %+v", p)
		}
	}
	if !strings.Contains(waiting["agent-1"], "3 hosts") {
		t.Fatalf("waiting: %v", waiting)
	}
	if !strings.Contains(waiting["dbserver-1"], "Agency") {
		t.Fatalf("DBServers must wait for the Agency: %v", waiting)
	}
	plans, _ = MatchOffers(st, []mesos.Offer{offer("h1", 31000), offer("h2", 32000), offer("h3", 33000)}, World{Now: now, Config: cfg}, tf)
	hosts := map[string]bool{}
	for _, p := range plans {
		if opTypes(p) != "RESERVE,CREATE,LAUNCH" {
			t.Fatalf("agent ops on %s: %s", p.Offer.Hostname, opTypes(p))
		}
		ti := launched(t, p)[0]
		sp, err := spec.Decode(ti.Data)
		if err != nil {
			t.Fatal(err)
		}
		if len(sp.AgencyEndpoints) != 3 || sp.AgencySize != 3 || sp.Role != "AGENT" {
			t.Fatalf("agent spec: %+v", sp)
		}
		hosts[p.Offer.Hostname] = true
	}
	if len(hosts) != 3 {
		t.Fatal("agents must be on three hosts")
	}
	for _, m := range st.Sorted(cluster.RoleAgent) {
		if m.Phase != PhaseLaunched || m.PersistenceID == "" || m.Port == 0 {
			t.Fatalf("agent after launch: %+v", m)
		}
	}
}

// deployed returns a state whose agents run on h1..h3 with reservations.
func deployed(t *testing.T, cfg Config) (*State, TaskFactory) {
	st := newTestState(t, cfg)
	Decide(st, World{Now: now, Config: cfg})
	tf := TaskFactory{Config: cfg, ArtifactURL: "http://s/a"}
	MatchOffers(st, []mesos.Offer{offer("h1", 31000), offer("h2", 32000), offer("h3", 33000)}, World{Now: now, Config: cfg}, tf)
	for _, m := range st.Sorted(cluster.RoleAgent) {
		ApplyStatus(st, Status{TaskID: m.TaskID, State: "TASK_RUNNING", AgentID: m.AgentID}, now)
	}
	return st, tf
}

func TestDBServersAndCoordinatorsOnceTheAgencyIsUp(t *testing.T) {
	cfg := testConfig()
	cfg.DBServerRes.CPUs = 2.5 // a node runs 3 threads of Go code, not one per core of its host
	st, tf := deployed(t, cfg)
	up := World{Now: now, Config: cfg, Agency: AgencyView{Up: true}}
	plans, waiting := MatchOffers(st, []mesos.Offer{offer("h1", 31100), offer("h2", 32100), offer("h3", 33100)}, up, tf)
	dbHosts, crdnHosts := map[string]bool{}, map[string]bool{}
	for _, p := range plans {
		for _, ti := range launched(t, p) {
			sp, _ := spec.Decode(ti.Data)
			procs := strings.Join(sp.Args, " ")
			switch sp.Role {
			case "DBSERVER":
				dbHosts[p.Offer.Hostname] = true
				if !strings.HasSuffix(procs, "--server.max-procs 3") {
					t.Fatalf("DBServer args %q: want --server.max-procs 3 for 2.5 CPUs", procs)
				}
			case "COORDINATOR":
				crdnHosts[p.Offer.Hostname] = true
				if !strings.HasSuffix(procs, "--server.max-procs 1") {
					t.Fatalf("coordinator args %q: want --server.max-procs 1 for 0.5 CPUs", procs)
				}
				if sp.RootPassword == "" {
					t.Fatal("coordinators need the root password")
				}
			}
		}
	}
	if len(dbHosts) != 3 || len(crdnHosts) != 2 || len(waiting) != 0 {
		t.Fatalf("dbservers on %v, coordinators on %v, waiting %v", dbHosts, crdnHosts, waiting)
	}
}

// reservedOffer is the offer of host with the member's reservation in it.
func reservedOffer(cfg Config, m *Member, host string) mesos.Offer {
	o := offer(host, 35000)
	need := cfg.DBServerRes
	if m.Role == cluster.RoleAgent {
		need = cfg.AgentRes
	}
	o.Resources = append(o.Resources,
		reserved(cfg, m, scalarRes("cpus", need.CPUs+cfg.ExecutorRes.CPUs)),
		reserved(cfg, m, scalarRes("mem", need.Mem+cfg.ExecutorRes.Mem)),
		reserved(cfg, m, portRes(uint64(m.Port))),
		volume(cfg, m, need.Disk))
	return o
}

func TestRelaunchOnOwnReservationAfterRebootWithNewAgentID(t *testing.T) {
	cfg := testConfig()
	st, tf := deployed(t, cfg)
	a := st.Members["agent-2"]
	oldPort, oldTask := a.Port, a.TaskID
	ApplyStatus(st, Status{TaskID: a.TaskID, State: "TASK_FAILED", Reason: "REASON_EXECUTOR_TERMINATED"}, now)
	Decide(st, World{Now: now.Add(2 * time.Second), Config: cfg})
	if a.Phase != PhasePending || a.Restarts != 1 {
		t.Fatalf("after backoff the member is pending: %+v", a)
	}
	// An offer from another host without its reservation does not launch it.
	plans, waiting := MatchOffers(st, []mesos.Offer{offer("h9", 39000)}, World{Now: now, Config: cfg}, tf)
	if len(plans[0].Ops) != 0 || !strings.Contains(waiting["agent-2"], "reserved resources") {
		t.Fatalf("ops %s waiting %v", opTypes(plans[0]), waiting)
	}
	// Its host comes back with a new agent id (reboot): found by persistence id.
	o := reservedOffer(cfg, a, a.Hostname)
	o.AgentID = mesos.AgentID{Value: "rebooted-id"}
	plans, _ = MatchOffers(st, []mesos.Offer{o}, World{Now: now, Config: cfg}, tf)
	if opTypes(plans[0]) != "LAUNCH" {
		t.Fatalf("relaunch ops: %s", opTypes(plans[0]))
	}
	ti := launched(t, plans[0])[0]
	sp, _ := spec.Decode(ti.Data)
	if a.Port != oldPort || sp.Port != oldPort || a.AgentID != "rebooted-id" || a.TaskID == oldTask || sp.ServerID != a.ServerID {
		t.Fatalf("relaunched %+v spec %+v", a, sp)
	}
}

func TestLostMemberIsRelaunchedWhenItsRebootedHostOffersItsVolume(t *testing.T) {
	cfg := testConfig()
	st, tf := deployed(t, cfg)
	a := st.Members["agent-1"]
	oldTask := a.TaskID
	ApplyStatus(st, Status{TaskID: a.TaskID, State: "TASK_UNREACHABLE"}, now)
	if a.Phase != PhaseLost {
		t.Fatalf("phase %s", a.Phase)
	}
	o := reservedOffer(cfg, a, a.Hostname)
	o.AgentID = mesos.AgentID{Value: "rebooted-id"}
	plans, _ := MatchOffers(st, []mesos.Offer{o}, World{Now: now, Config: cfg}, tf)
	if opTypes(plans[0]) != "LAUNCH" || a.AgentID != "rebooted-id" || a.TaskID == oldTask || a.Phase != PhaseLaunched {
		t.Fatalf("ops %s member %+v", opTypes(plans[0]), a)
	}
	// A late update of the old task changes nothing.
	ApplyStatus(st, Status{TaskID: oldTask, State: "TASK_GONE"}, now)
	if a.Phase != PhaseLaunched {
		t.Fatalf("the old task's update moved the member to %s", a.Phase)
	}
}

func TestLostCoordinatorIsRelaunchedWhenItsHostComesBackAsANewAgent(t *testing.T) {
	cfg := testConfig()
	st, tf := deployed(t, cfg)
	up := World{Now: now, Config: cfg, Agency: AgencyView{Up: true}}
	MatchOffers(st, []mesos.Offer{offer("h1", 31100), offer("h2", 32100), offer("h3", 33100)}, up, tf)
	c := st.Members["coordinator-1"]
	oldTask, host := c.TaskID, c.Hostname
	ApplyStatus(st, Status{TaskID: c.TaskID, State: "TASK_RUNNING"}, now)
	ApplyStatus(st, Status{TaskID: c.TaskID, State: "TASK_UNREACHABLE"}, now)
	// Another host's offer says nothing about it.
	other := "h1"
	if host == "h1" {
		other = "h2"
	}
	MatchOffers(st, []mesos.Offer{offer(other, 34000)}, up, tf)
	if c.Phase != PhaseLost || c.TaskID != oldTask {
		t.Fatalf("relaunched on an unrelated offer: %+v", c)
	}
	// Its host under a new agent id: the old agent and task are gone.
	o := offer(host, 35000)
	o.AgentID = mesos.AgentID{Value: "rebooted-id"}
	plans, _ := MatchOffers(st, []mesos.Offer{o}, up, tf)
	if opTypes(plans[0]) != "LAUNCH" || c.TaskID == oldTask || c.Phase != PhaseLaunched || c.Restarts != 1 || c.ServerID == "" {
		t.Fatalf("ops %s member %+v", opTypes(plans[0]), c)
	}
}

func TestRetiredReservationIsReleased(t *testing.T) {
	cfg := testConfig()
	st, tf := deployed(t, cfg)
	a := st.Members["agent-3"]
	ApplyStatus(st, Status{TaskID: a.TaskID, State: "TASK_KILLED"}, now)
	old := *a
	if err := st.Retire(a, "test", true); err != nil {
		t.Fatal(err)
	}
	plans, _ := MatchOffers(st, []mesos.Offer{reservedOffer(cfg, &old, old.Hostname)}, World{Now: now, Config: cfg}, tf)
	if got := opTypes(plans[0]); !strings.HasPrefix(got, "DESTROY,UNRESERVE") {
		t.Fatalf("ops %s", got)
	}
	if st.Retired[0].Reserved {
		t.Fatal("retired incarnation still marked reserved")
	}
}

func TestUniqueHostPerRole(t *testing.T) {
	cfg := testConfig()
	st, tf := deployed(t, cfg)
	up := World{Now: now, Config: cfg, Agency: AgencyView{Up: true}}
	plans, waiting := MatchOffers(st, []mesos.Offer{offer("h1", 31100)}, up, tf)
	roles := map[string]int{}
	for _, ti := range launched(t, plans[0]) {
		sp, _ := spec.Decode(ti.Data)
		roles[sp.Role]++
	}
	if roles["DBSERVER"] != 1 || roles["COORDINATOR"] != 1 || waiting["dbserver-2"] == "" {
		t.Fatalf("one of each role per host: %v, waiting %v", roles, waiting)
	}
}

func TestBackoffGrowsAndResetsAfterAStableRun(t *testing.T) {
	cfg := testConfig()
	st, _ := deployed(t, cfg)
	a := st.Members["agent-1"]
	at := now
	var waits []time.Duration
	for i := 0; i < 5; i++ {
		ApplyStatus(st, Status{TaskID: a.TaskID, State: "TASK_RUNNING"}, at)
		at = at.Add(time.Second)
		ApplyStatus(st, Status{TaskID: a.TaskID, State: "TASK_FAILED"}, at)
		waits = append(waits, a.BackoffUntil.Sub(at))
		a.Phase, a.TaskID = PhaseLaunched, fmt.Sprintf("t%d", i)
	}
	for i := 1; i < len(waits); i++ {
		if waits[i] <= waits[i-1] {
			t.Fatalf("backoff must grow for a crash loop: %v", waits)
		}
	}
	ApplyStatus(st, Status{TaskID: a.TaskID, State: "TASK_RUNNING"}, at)
	at = at.Add(10 * time.Minute)
	ApplyStatus(st, Status{TaskID: a.TaskID, State: "TASK_FAILED"}, at)
	if a.BackoffUntil.Sub(at) != backoffMin {
		t.Fatalf("after a stable run the backoff starts over: %v", a.BackoffUntil.Sub(at))
	}
}

func TestUnreachableHostIsReplacedAfterTheTimeout(t *testing.T) {
	cfg := testConfig()
	st, _ := deployed(t, cfg)
	a := st.Members["agent-2"]
	old := a.ServerID
	ApplyStatus(st, Status{TaskID: a.TaskID, State: "TASK_UNREACHABLE"}, now)
	Decide(st, World{Now: now.Add(cfg.ReplaceTimeout - time.Second), Config: cfg})
	if a.ServerID != old || a.Phase != PhaseLost {
		t.Fatal("replaced before the replace timeout")
	}
	// The host comes back in time: nothing is replaced.
	ApplyStatus(st, Status{TaskID: a.TaskID, State: "TASK_RUNNING"}, now.Add(time.Minute))
	if a.Phase != PhaseLaunched {
		t.Fatalf("phase %s", a.Phase)
	}
	ApplyStatus(st, Status{TaskID: a.TaskID, State: "TASK_UNREACHABLE"}, now.Add(2*time.Minute))
	_, ev := Decide(st, World{Now: now.Add(2*time.Minute + cfg.ReplaceTimeout), Config: cfg})
	if a.ServerID == old || a.Phase != PhasePending || a.PersistenceID != "" || len(st.Retired) != 1 || st.Retired[0].ServerID != old {
		t.Fatalf("not replaced: %+v retired %v", a, st.Retired)
	}
	if len(ev) == 0 || ev[0].Kind != EventReplace {
		t.Fatalf("events %v", ev)
	}
	// The retired agent leaves the Agency.
	acts, _ := Decide(st, World{Now: now.Add(3 * cfg.ReplaceTimeout), Config: cfg,
		Agency: AgencyView{Up: true, Pool: map[string]string{old: "x"}}})
	if !hasAction(acts, ActAgencyLeave, old) {
		t.Fatalf("actions %+v", acts)
	}
}

func TestReplacementAgentJoinsTheAgencyOnceItsProcessStarted(t *testing.T) {
	cfg := testConfig()
	st, _ := deployed(t, cfg)
	a := st.Members["agent-2"]
	pool := map[string]string{}
	for _, m := range st.Sorted(cluster.RoleAgent) {
		if m != a {
			pool[m.ServerID] = m.Endpoint()
		}
	}
	w := World{Now: now.Add(time.Minute), Config: cfg, Agency: AgencyView{Up: true, Pool: pool}}
	for _, c := range []struct {
		state string
		join  bool
	}{{"TASK_STAGING", false}, {"TASK_STARTING", true}, {"TASK_RUNNING", true}} {
		ApplyStatus(st, Status{TaskID: a.TaskID, State: c.state}, w.Now)
		// A new agent cannot pass its health check (a known leader) before
		// it is a member: it joins while TASK_STARTING.
		if acts, _ := Decide(st, w); hasAction(acts, ActAgencyJoin, a.ServerID) != c.join {
			t.Errorf("%s: join %v, want %v (%+v)", c.state, !c.join, c.join, acts)
		}
	}
	pool[a.ServerID] = a.Endpoint()
	if acts, _ := Decide(st, w); hasAction(acts, ActAgencyJoin, a.ServerID) {
		t.Error("a member of the pool joins again")
	}
}

func hasAction(acts []Action, kind, server string) bool {
	for _, a := range acts {
		if a.Kind == kind && (server == "" || a.ServerID == server || (a.Member != nil && a.Member.ServerID == server)) {
			return true
		}
	}
	return false
}

func TestHungProcessIsKilledOnce(t *testing.T) {
	cfg := testConfig()
	st, _ := deployed(t, cfg)
	d := st.Members["agent-1"]
	failed := World{Now: now.Add(time.Minute), Config: cfg, Agency: AgencyView{Up: true, Health: map[string]cluster.HealthRecord{
		d.ServerID: {Status: cluster.StatusFailed}}}}
	acts, _ := Decide(st, failed)
	if !hasAction(acts, ActKill, d.ServerID) {
		t.Fatalf("no kill: %+v", acts)
	}
	failed.Now = failed.Now.Add(time.Second)
	if acts, _ = Decide(st, failed); hasAction(acts, ActKill, d.ServerID) {
		t.Fatal("kill repeated at once")
	}
	failed.Now = failed.Now.Add(killRepeat)
	if acts, _ = Decide(st, failed); !hasAction(acts, ActKill, d.ServerID) {
		t.Fatal("kill not repeated after it had no effect")
	}
}

func TestScaleAndRetiredCleanup(t *testing.T) {
	cfg := testConfig()
	st, _ := deployed(t, cfg)
	st.TargetsInAgency = true
	four, one := 4, 1
	c2 := st.Members["coordinator-2"]
	c2.TaskID, c2.TaskState, c2.Phase = "c2-task", "TASK_RUNNING", PhaseLaunched
	w := World{Now: now, Config: cfg, Agency: AgencyView{Up: true, NumDBServers: &four, NumCoordinators: &one,
		Health: map[string]cluster.HealthRecord{c2.ServerID: {Status: cluster.StatusGood}}}}
	acts, _ := Decide(st, w)
	if len(st.Sorted(cluster.RoleDBServer)) != 4 || len(st.Sorted(cluster.RoleCoordinator)) != 1 || len(st.Retired) != 1 {
		t.Fatalf("dbservers %d coordinators %d retired %d", len(st.Sorted(cluster.RoleDBServer)), len(st.Sorted(cluster.RoleCoordinator)), len(st.Retired))
	}
	if !hasAction(acts, ActKill, c2.ServerID) {
		t.Fatalf("the coordinator scaled away must be stopped: %+v", acts)
	}
	// A cleaned-out DBServer leaves; then its server is removed once it stopped.
	victim := st.Members["dbserver-2"]
	w.Agency.Health[victim.ServerID] = cluster.HealthRecord{Status: cluster.StatusGood}
	w.Agency.Cleaned = []string{victim.ServerID}
	Decide(st, w)
	if st.Members["dbserver-2"] != nil {
		t.Fatal("cleaned-out DBServer still a member")
	}
	w.Agency.Cleaned = nil
	w.Agency.Health[victim.ServerID] = cluster.HealthRecord{Status: cluster.StatusFailed}
	acts, _ = Decide(st, w)
	if !hasAction(acts, ActRemoveServer, victim.ServerID) {
		t.Fatalf("actions %+v", acts)
	}
	for _, r := range st.Retired {
		r.RemovedFromCluster = true
	}
	ApplyStatus(st, Status{TaskID: "c2-task", State: "TASK_KILLED"}, now)
	Decide(st, w)
	if len(st.Retired) != 0 {
		t.Fatalf("retired incarnations without task, reservation or cluster entry must be forgotten: %v", st.Retired)
	}
}

func TestTargetsArePublishedOnce(t *testing.T) {
	cfg := testConfig()
	st, _ := deployed(t, cfg)
	acts, _ := Decide(st, World{Now: now, Config: cfg, Agency: AgencyView{Up: true}})
	if !hasAction(acts, ActWriteTargets, "") {
		t.Fatalf("actions %+v", acts)
	}
	st.TargetsInAgency = true
	if acts, _ = Decide(st, World{Now: now, Config: cfg, Agency: AgencyView{Up: true}}); hasAction(acts, ActWriteTargets, "") {
		t.Fatal("targets written twice")
	}
}

func TestScaleUpRebalancesOnceTheNewDBServersAreGood(t *testing.T) {
	cfg := testConfig()
	st, _ := deployed(t, cfg)
	st.TargetsInAgency, st.Deployed = true, true
	five := 5
	w := World{Now: now, Config: cfg, Agency: AgencyView{Up: true, NumDBServers: &five, Health: map[string]cluster.HealthRecord{}}}
	if acts, _ := Decide(st, w); hasKind(acts, ActRebalance) || !st.RebalancePending {
		t.Fatalf("new DBServers are not running yet: pending %v, actions %+v", st.RebalancePending, acts)
	}
	dbs := st.Sorted(cluster.RoleDBServer)
	for i, m := range dbs {
		m.TaskID, m.TaskState, m.Phase = fmt.Sprintf("db-%d", i), "TASK_RUNNING", PhaseLaunched
		if i < 4 {
			w.Agency.Health[m.ServerID] = cluster.HealthRecord{Status: cluster.StatusGood}
		}
	}
	if acts, _ := Decide(st, w); hasKind(acts, ActRebalance) {
		t.Fatal("rebalanced before the last new DBServer is GOOD")
	}
	w.Agency.Health[dbs[4].ServerID] = cluster.HealthRecord{Status: cluster.StatusGood}
	if acts, _ := Decide(st, w); !hasKind(acts, ActRebalance) || st.RebalancePending {
		t.Fatalf("no rebalance once all are GOOD: %+v", acts)
	}
	if acts, _ := Decide(st, w); hasKind(acts, ActRebalance) {
		t.Fatal("rebalanced twice")
	}
	// Off by flag: never.
	cfg.RebalanceOnScaleUp = false
	st2, _ := deployed(t, cfg)
	st2.TargetsInAgency, st2.Deployed = true, true
	Decide(st2, World{Now: now, Config: cfg, Agency: AgencyView{Up: true, NumDBServers: &five}})
	if st2.RebalancePending {
		t.Fatal("--rebalance-on-scale-up=false still rebalances")
	}
}

func hasKind(acts []Action, kind string) bool {
	for _, a := range acts {
		if a.Kind == kind {
			return true
		}
	}
	return false
}

func TestOperatorReplacementWaitsForItsPredecessorToFailAndAvoidsItsHost(t *testing.T) {
	cfg := testConfig()
	st, tf := deployed(t, cfg)
	up := World{Now: now, Config: cfg, Agency: AgencyView{Up: true, Health: map[string]cluster.HealthRecord{}}}
	MatchOffers(st, []mesos.Offer{offer("h1", 31100), offer("h2", 32100), offer("h3", 33100)}, up, tf)
	m := st.Members["dbserver-2"]
	oldID, host := m.ServerID, m.Hostname
	up.Agency.Health[oldID] = cluster.HealthRecord{Status: cluster.StatusGood}
	if err := st.Retire(m, "replaced by the operator", true); err != nil {
		t.Fatal(err)
	}
	m.AvoidHost, m.AvoidUntil = host, now.Add(time.Minute)
	// Its predecessor still counts as GOOD: a replacement now would be one
	// DBServer too many for Supervision.
	_, waiting := MatchOffers(st, []mesos.Offer{offer("h4", 34000)}, up, tf)
	if m.Phase != PhasePending || !strings.Contains(waiting["dbserver-2"], oldID) {
		t.Fatalf("placed while its predecessor is GOOD: %+v %v", m, waiting)
	}
	up.Agency.Health[oldID] = cluster.HealthRecord{Status: cluster.StatusFailed}
	// Only its old host offers: it waits for another one for a while…
	MatchOffers(st, []mesos.Offer{offer(host, 35000)}, up, tf)
	if m.Phase != PhasePending {
		t.Fatalf("took the avoided host at once: %+v", m)
	}
	// …takes another host when one offers…
	MatchOffers(st, []mesos.Offer{offer(host, 35000), offer("h4", 34000)}, up, tf)
	if m.Phase != PhaseLaunched || m.Hostname != "h4" {
		t.Fatalf("not placed on h4: %+v", m)
	}
	// …and, when none does, the avoided host after AvoidUntil.
	c := st.Members["dbserver-3"]
	cHost := c.Hostname
	_ = st.Retire(c, "replaced by the operator", true)
	c.AvoidHost, c.AvoidUntil = cHost, now.Add(time.Minute)
	later := up
	later.Now = now.Add(2 * time.Minute)
	MatchOffers(st, []mesos.Offer{offer(c.AvoidHost, 36000)}, later, tf)
	if c.Phase != PhaseLaunched {
		t.Fatalf("never falls back to the avoided host: %+v", c)
	}
}

// An agent's --agency.size never exceeds the endpoints it is given (the
// node refuses that), and a first deployment always uses the target.
func TestAgencySizeOfALaunchedAgent(t *testing.T) {
	for _, c := range []struct {
		name      string
		deployed  bool
		target    int
		endpoints int
		want      int
	}{
		{"first deployment, all placed", false, 3, 3, 3},
		{"first deployment, partly placed: never smaller", false, 5, 2, 5},
		{"3 → 5, the first new agent placed", true, 5, 4, 3},
		{"3 → 5, both placed", true, 5, 5, 5},
		{"a replacement in a 3-agent Agency", true, 3, 3, 3},
		{"5 → 7, the first new agent placed", true, 7, 6, 5},
	} {
		st := &State{Deployed: c.deployed, Targets: Targets{Agents: c.target}}
		if got := agencySize(st, c.endpoints); got != c.want {
			t.Errorf("%s: size %d, want %d", c.name, got, c.want)
		}
	}
}
