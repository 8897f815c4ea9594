package scheduler

import (
	"strings"
	"testing"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// replaceWorld is a deployed cluster of 3 agents, 3 DBServers and 2
// coordinators, every member running, every server GOOD, the Agency's pool
// the three agents.
func replaceWorld(t *testing.T) (*State, AgencyView) {
	t.Helper()
	st := newTestState(t, testConfig())
	v := AgencyView{Up: true, Health: map[string]cluster.HealthRecord{}, Pool: map[string]string{}, InSync: map[string][]string{}}
	for _, role := range []cluster.Role{cluster.RoleAgent, cluster.RoleDBServer, cluster.RoleDBServer, cluster.RoleAgent, cluster.RoleAgent,
		cluster.RoleDBServer, cluster.RoleCoordinator, cluster.RoleCoordinator} {
		m, err := st.AddMember(role)
		if err != nil {
			t.Fatal(err)
		}
		m.Phase, m.TaskState, m.TaskID = PhaseLaunched, "TASK_RUNNING", "task-"+m.Name
		v.Health[m.ServerID] = cluster.HealthRecord{Status: cluster.StatusGood}
		if role == cluster.RoleAgent {
			v.Pool[m.ServerID] = "tcp://" + m.Name
		}
	}
	return st, v
}

func id(st *State, name string) string { return st.Members[name].ServerID }

func TestReplaceRefusal(t *testing.T) {
	for _, c := range []struct {
		name   string
		member string
		setup  func(st *State, v *AgencyView)
		refuse string // "" when the replace is safe
	}{
		{name: "a coordinator is always safe", member: "coordinator-1",
			setup: func(st *State, v *AgencyView) { v.Up = false }},
		{name: "a DBServer whose shards have another in-sync copy", member: "dbserver-1",
			setup: func(st *State, v *AgencyView) {
				v.InSync["db/c/s1"] = []string{id(st, "dbserver-1"), id(st, "dbserver-2")}
				v.InSync["db/c/s2"] = []string{id(st, "dbserver-3"), id(st, "dbserver-1")}
				v.InSync["db/c/s3"] = []string{id(st, "dbserver-2"), id(st, "dbserver-3")}
			}},
		{name: "a DBServer that is the only in-sync copy (followers catching up)", member: "dbserver-1", refuse: "only in-sync copy of shard db/c/s2",
			setup: func(st *State, v *AgencyView) {
				v.InSync["db/c/s1"] = []string{id(st, "dbserver-1"), id(st, "dbserver-2")}
				v.InSync["db/c/s2"] = []string{id(st, "dbserver-1")}
			}},
		{name: "the other copy is on a server that is not GOOD", member: "dbserver-1", refuse: "only in-sync copy",
			setup: func(st *State, v *AgencyView) {
				v.InSync["db/c/s1"] = []string{id(st, "dbserver-1"), id(st, "dbserver-2")}
				v.Health[id(st, "dbserver-2")] = cluster.HealthRecord{Status: cluster.StatusBad}
			}},
		{name: "a second replacement while the first one's copies are not rebuilt", member: "dbserver-2", refuse: "only in-sync copy of shard db/c/s1",
			setup: func(st *State, v *AgencyView) {
				old := id(st, "dbserver-1")
				v.InSync["db/c/s1"] = []string{id(st, "dbserver-2"), old}
				if err := st.Retire(st.Members["dbserver-1"], "replaced by the operator", true); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "a DBServer with no data", member: "dbserver-3",
			setup: func(st *State, v *AgencyView) { v.InSync["db/c/s1"] = []string{id(st, "dbserver-1")} }},
		{name: "a DBServer while the Agency does not answer", member: "dbserver-3", refuse: "Agency does not answer",
			setup: func(st *State, v *AgencyView) { v.Up = false }},
		{name: "an agent of a healthy Agency", member: "agent-2"},
		{name: "an agent that is down itself", member: "agent-2",
			setup: func(st *State, v *AgencyView) { st.Members["agent-2"].Phase = PhaseDown }},
		{name: "a second agent while the first is still leaving", member: "agent-2", refuse: "still leaving the Agency",
			setup: func(st *State, v *AgencyView) {
				if err := st.Retire(st.Members["agent-1"], "replaced by the operator", true); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "a second agent while the first one's replacement is still joining", member: "agent-2", refuse: "still joining or down",
			setup: func(st *State, v *AgencyView) {
				if err := st.Retire(st.Members["agent-1"], "replaced by the operator", true); err != nil {
					t.Fatal(err)
				}
				st.Retired[0].RemovedFromCluster = true
			}},
		{name: "an agent while another agent is down", member: "agent-2", refuse: "still joining or down",
			setup: func(st *State, v *AgencyView) { st.Members["agent-3"].Phase = PhaseDown }},
		{name: "an agent while another one's process is unhealthy", member: "agent-2", refuse: "below its quorum of 2",
			setup: func(st *State, v *AgencyView) { f := false; st.Members["agent-3"].Healthy = &f }},
		{name: "an agent while the Agency changes size", member: "agent-2", refuse: "changing size",
			setup: func(st *State, v *AgencyView) { st.Targets.Agents = 5 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, v := replaceWorld(t)
			if c.setup != nil {
				c.setup(st, &v)
			}
			got := ReplaceRefusal(st, v, st.Members[c.member])
			switch {
			case c.refuse == "" && got != "":
				t.Errorf("refused: %s", got)
			case c.refuse != "" && !strings.Contains(got, c.refuse):
				t.Errorf("got %q, want a refusal with %q", got, c.refuse)
			}
		})
	}
}

// An operator's replace that would lose the last copy is a 409 with the
// reason, and nothing changes.
func TestAPIReplaceRefusedKeepsTheMember(t *testing.T) {
	f := newAPIFixture(t)
	f.s.mu.Lock()
	m := f.s.st.Members["dbserver-1"]
	before := m.ServerID
	f.s.view = AgencyView{Up: true, Health: map[string]cluster.HealthRecord{before: {Status: cluster.StatusGood}},
		InSync: map[string][]string{"db/c/s1": {before}}}
	f.s.mu.Unlock()
	code, body := f.call("POST", "/v1/members/dbserver-1/replace", "", true)
	if msg, _ := body["error"].(string); code != 409 || !strings.Contains(msg, "only in-sync copy") || body["code"] != float64(409) {
		t.Fatalf("replace: %d %v", code, body)
	}
	f.s.mu.Lock()
	changed := f.s.st.Members["dbserver-1"].ServerID != before || len(f.s.st.Retired) != 0
	f.s.mu.Unlock()
	if changed {
		t.Fatal("a refused replace changed the member")
	}
	for _, path := range []string{"/v1/members/nobody/replace", "/v1/members/nobody/restart"} {
		if code, body := f.call("POST", path, "", true); code != 404 || body["error"] == nil {
			t.Errorf("%s: %d %v", path, code, body)
		}
	}
	if code, body := f.call("GET", "/v1/members/nobody", "", true); code != 404 || body["error"] == nil {
		t.Errorf("GET an unknown member: %d %v", code, body)
	}
}

// force=true replaces a member ReplaceRefusal refuses, and says so in the
// event; a force that is not a boolean is a 400.
func TestAPIReplaceForced(t *testing.T) {
	f := newAPIFixture(t)
	f.s.mu.Lock()
	before := f.s.st.Members["dbserver-1"].ServerID
	f.s.view = AgencyView{Up: true, Health: map[string]cluster.HealthRecord{before: {Status: cluster.StatusGood}},
		InSync: map[string][]string{"db/c/s1": {before}}}
	f.s.mu.Unlock()
	if code, body := f.call("POST", "/v1/members/dbserver-1/replace?force=maybe", "", true); code != 400 || body["error"] == nil {
		t.Fatalf("force=maybe: %d %v", code, body)
	}
	if code, body := f.call("POST", "/v1/members/dbserver-1/replace?force=true", "", true); code != 202 {
		t.Fatalf("forced replace: %d %v", code, body)
	}
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	if f.s.st.Members["dbserver-1"].ServerID == before || len(f.s.st.Retired) != 1 {
		t.Fatalf("a forced replace did not replace: %+v", f.s.st.Members["dbserver-1"])
	}
	found := false
	evs, _ := f.s.events.Since(0)
	for _, e := range evs {
		found = found || (e.Kind == EventReplace && strings.Contains(e.Message, "forced although"))
	}
	if !found {
		t.Error("no event says the replace was forced")
	}
}
