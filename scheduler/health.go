package scheduler

import (
	"fmt"
	"sort"
	"strings"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// Health states of GET /v1/health and their HTTP codes (like dcos-commons:
// every 2xx means "the scheduler works"; 503 means the cluster cannot serve).
const (
	HealthHealthy      = "healthy"
	HealthDeploying    = "deploying"
	HealthRecovering   = "recovering"
	HealthScaling      = "scaling"
	HealthDegraded     = "degraded"
	HealthUninstalling = "uninstalling"
	HealthUnavailable  = "unavailable"
)

var healthCodes = map[string]int{
	HealthHealthy: 200, HealthDeploying: 202, HealthRecovering: 203, HealthScaling: 205,
	HealthDegraded: 206, HealthUninstalling: 202, HealthUnavailable: 503,
}

// RoleCounts are the desired, running and healthy members of a role.
type RoleCounts struct {
	Desired int `json:"desired"`
	Running int `json:"running"`
	Healthy int `json:"healthy"`
}

// Health is the answer of GET /v1/health.
type Health struct {
	Status string                `json:"status"`
	Code   int                   `json:"code"`
	Reason string                `json:"reason"`
	Roles  map[string]RoleCounts `json:"roles"`
	Agency bool                  `json:"agency"`
}

// ComputeHealth decides the cluster's health from the state, the Agency's
// view and what the scheduler waits for. It is never "healthy" unless every
// desired member runs, is healthy for its executor and GOOD for the
// supervision, and the Agency answers.
func ComputeHealth(st *State, v AgencyView, waiting Waiting, subscribed bool) Health {
	h := Health{Roles: map[string]RoleCounts{}, Agency: v.Up}
	desired := map[cluster.Role]int{cluster.RoleAgent: st.Targets.Agents, cluster.RoleDBServer: st.Targets.DBServers,
		cluster.RoleCoordinator: st.Targets.Coordinators}
	var notRunning, unhealthy, recovering []string
	for _, role := range []cluster.Role{cluster.RoleAgent, cluster.RoleDBServer, cluster.RoleCoordinator} {
		c := RoleCounts{Desired: desired[role]}
		for _, m := range st.Sorted(role) {
			switch {
			case m.Running():
				c.Running++
				rec, known := v.Health[m.ServerID]
				good := role == cluster.RoleAgent || (known && rec.Status == cluster.StatusGood)
				if good && (m.Healthy == nil || *m.Healthy) {
					c.Healthy++
				} else {
					unhealthy = append(unhealthy, m.Name)
				}
			case m.Phase == PhaseDown || m.Phase == PhaseLost || (m.Phase == PhasePending && m.Launches > 0):
				recovering = append(recovering, m.Name)
			default:
				notRunning = append(notRunning, m.Name)
			}
		}
		h.Roles[roleName(role)+"s"] = c
	}
	leavingMembers, lostMembers := splitRetired(st)
	var leaving, onLostHosts []string
	for _, r := range leavingMembers {
		leaving = append(leaving, "removing "+r.Name+" ("+r.ReplaceReason+")")
	}
	for _, r := range lostMembers {
		onLostHosts = append(onLostHosts, r.Name+" ("+r.ServerID+")")
	}
	set := func(status, format string, args ...any) Health {
		h.Status, h.Code, h.Reason = status, healthCodes[status], fmt.Sprintf(format, args...)
		return h
	}
	crd, db := h.Roles["coordinators"], h.Roles["dbservers"]
	switch {
	case st.Uninstalling:
		return set(HealthUninstalling, "uninstalling: removing tasks, volumes and reservations")
	case !subscribed && st.FrameworkID == "":
		return set(HealthDeploying, "connecting to the Mesos master")
	case !st.Deployed:
		return set(HealthDeploying, "deploying: %s", waitingReason(notRunning, waiting))
	case !v.Up:
		return set(HealthUnavailable, "the Agency does not answer")
	case crd.Healthy == 0 || db.Running == 0:
		return set(HealthUnavailable, "no healthy coordinator or no running DBServer: clients cannot be served")
	case len(recovering) > 0:
		return set(HealthRecovering, "relaunching or replacing %s", strings.Join(recovering, ", "))
	case len(notRunning) > 0 || len(leaving) > 0 || countsDiffer(h.Roles):
		return set(HealthScaling, "scaling: %s", scalingReason(leaving, notRunning, waiting))
	case len(unhealthy) > 0:
		return set(HealthDegraded, "running but not healthy: %s", strings.Join(unhealthy, ", "))
	case len(onLostHosts) > 0:
		return set(HealthHealthy, "every member runs and is healthy; the reservations of %s are released when their lost hosts return",
			strings.Join(onLostHosts, ", "))
	}
	return set(HealthHealthy, "every member runs and is healthy")
}

// splitRetired separates the retired incarnations still leaving the
// cluster from those that left it and only wait for their lost host to come
// back to release its reservation: those do not hold the cluster's health.
func splitRetired(st *State) (leaving, onLostHosts []*Member) {
	for _, r := range st.Retired {
		if r.RemovedFromCluster && hostLost[r.TaskState] {
			onLostHosts = append(onLostHosts, r)
			continue
		}
		leaving = append(leaving, r)
	}
	return leaving, onLostHosts
}

// hostLost are the task states Mesos reports for a task whose host is away.
var hostLost = map[string]bool{"TASK_UNREACHABLE": true, "TASK_LOST": true, "TASK_GONE": true,
	"TASK_GONE_BY_OPERATOR": true, "TASK_UNKNOWN": true}

func countsDiffer(roles map[string]RoleCounts) bool {
	for _, c := range roles {
		if c.Running != c.Desired {
			return true
		}
	}
	return false
}

func waitingReason(names []string, waiting Waiting) string {
	if len(names) == 0 {
		return "starting members"
	}
	var parts []string
	for _, n := range names {
		if why := waiting[n]; why != "" {
			parts = append(parts, n+": "+why)
		} else {
			parts = append(parts, n+": launching")
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

func scalingReason(leaving, notRunning []string, waiting Waiting) string {
	var parts []string
	if len(notRunning) > 0 {
		parts = append(parts, "launching "+waitingReason(notRunning, waiting))
	}
	parts = append(parts, leaving...)
	if len(parts) == 0 {
		return "adjusting to the desired counts"
	}
	return strings.Join(parts, "; ")
}
