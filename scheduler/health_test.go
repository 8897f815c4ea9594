package scheduler

import (
	"strings"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// running deploys every member and reports them running, healthy and GOOD.
func running(t *testing.T) (*State, AgencyView) {
	t.Helper()
	cfg := testConfig()
	st, tf := deployed(t, cfg)
	up := World{Now: now, Config: cfg, Agency: AgencyView{Up: true}}
	MatchOffers(st, []mesos.Offer{offer("h1", 31100), offer("h2", 32100), offer("h3", 33100)}, up, tf)
	v := AgencyView{Up: true, Health: map[string]cluster.HealthRecord{}}
	yes := true
	for _, m := range st.Sorted("") {
		ApplyStatus(st, Status{TaskID: m.TaskID, State: "TASK_RUNNING", AgentID: m.AgentID, Healthy: &yes}, now)
		v.Health[m.ServerID] = cluster.HealthRecord{Status: cluster.StatusGood}
	}
	st.Deployed = true
	return st, v
}

func TestComputeHealth(t *testing.T) {
	cases := []struct {
		name   string
		change func(*State, *AgencyView)
		status string
		reason string
	}{
		{"all good", func(*State, *AgencyView) {}, HealthHealthy, "every member runs and is healthy"},
		{"agency down", func(_ *State, v *AgencyView) { v.Up = false }, HealthUnavailable, "Agency"},
		{"a DBServer is BAD", func(st *State, v *AgencyView) {
			v.Health[st.Members["dbserver-2"].ServerID] = cluster.HealthRecord{Status: cluster.StatusBad}
		}, HealthDegraded, "dbserver-2"},
		{"a DBServer's task failed", func(st *State, _ *AgencyView) {
			ApplyStatus(st, Status{TaskID: st.Members["dbserver-1"].TaskID, State: "TASK_FAILED"}, now)
		}, HealthRecovering, "dbserver-1"},
		{"a member is leaving the cluster", func(st *State, _ *AgencyView) {
			_ = st.Retire(st.Members["coordinator-2"], "scaled down", false)
		}, HealthScaling, "removing coordinator-2"},
		{"a replaced member only waits for its lost host", func(st *State, _ *AgencyView) {
			m := st.Members["dbserver-3"]
			ApplyStatus(st, Status{TaskID: m.TaskID, State: "TASK_UNREACHABLE"}, now)
			_ = st.Retire(m, "its host stayed unreachable", true)
			st.Retired[0].RemovedFromCluster = true
			ApplyStatus(st, Status{TaskID: st.Members["dbserver-3"].TaskID, State: "TASK_RUNNING", Healthy: boolp(true)}, now)
			st.Members["dbserver-3"].Phase = PhaseLaunched
		}, HealthHealthy, "released when their lost hosts return"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, v := running(t)
			c.change(st, &v)
			for _, m := range st.Sorted("") {
				if _, ok := v.Health[m.ServerID]; !ok {
					v.Health[m.ServerID] = cluster.HealthRecord{Status: cluster.StatusGood}
				}
			}
			h := ComputeHealth(st, v, Waiting{}, true)
			if h.Status != c.status || !strings.Contains(h.Reason, c.reason) || h.Code != healthCodes[c.status] {
				t.Fatalf("health %s %d %q, want %s with %q", h.Status, h.Code, h.Reason, c.status, c.reason)
			}
		})
	}
}
