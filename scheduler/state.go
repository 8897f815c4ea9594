package scheduler

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// State is everything the scheduler must remember across restarts (and
// across hosts, with the ZooKeeper store): the framework id, the secrets it
// generated once, the desired counts, and every member of the cluster with
// its placement. It is saved after every change.
type State struct {
	FrameworkName string `json:"frameworkName"`
	FrameworkID   string `json:"frameworkId,omitempty"`
	// Secret is the cluster's JWT secret; RootPassword the database's;
	// APIToken the bearer token of /v1 (unless a token file is configured).
	Secret       string  `json:"secret"`
	RootPassword string  `json:"rootPassword"`
	APIToken     string  `json:"apiToken"`
	Targets      Targets `json:"targets"`
	// TargetsInAgency is set once the targets were written to the Agency;
	// from then on the Agency's Target is the knob.
	TargetsInAgency bool               `json:"targetsInAgency"`
	Members         map[string]*Member `json:"members"`
	// Retired are incarnations that were replaced or scaled away and still
	// need cleaning up (their task killed, their volume destroyed, their
	// reservation released, their server removed from the cluster).
	Retired   []*Member      `json:"retired,omitempty"`
	NextIndex map[string]int `json:"nextIndex"`
	Autoscale Policy         `json:"autoscale"`
	// AutoscaleSteps is when the autoscaler last stepped each role
	// ("coordinators", "dbservers"), kept so that a restarted scheduler
	// still honours the cooldown.
	AutoscaleSteps map[string]time.Time `json:"autoscaleSteps,omitempty"`
	// Deployed is set once every member of the first deployment ran.
	Deployed bool `json:"deployed"`
	// RebalancePending is set when DBServers were added by a scale-up: once
	// they all run and Supervision calls them GOOD, shards are moved onto
	// them (rebalanceShards), once.
	RebalancePending bool `json:"rebalancePending,omitempty"`
	// Uninstalling is set by POST /v1/uninstall.
	Uninstalling bool `json:"uninstalling,omitempty"`
}

// Targets are the desired counts per role.
type Targets struct {
	Agents       int `json:"agents"`
	DBServers    int `json:"dbservers"`
	Coordinators int `json:"coordinators"`
}

// Member phases.
const (
	// PhasePending: never launched, or waiting for an offer to relaunch.
	PhasePending = "pending"
	// PhaseLaunched: a task is staging, starting or running.
	PhaseLaunched = "launched"
	// PhaseDown: its task ended; it waits (backoff) to be relaunched.
	PhaseDown = "down"
	// PhaseLost: its host is unreachable; it waits for the host, then is
	// replaced.
	PhaseLost = "lost"
	// PhaseLeaving: it is being removed (scaled down or replaced).
	PhaseLeaving = "leaving"
)

// Member is one member of the cluster: agent-N, dbserver-N or
// coordinator-N. A member keeps its server id, host, port and volume across
// relaunches; a replacement is a new incarnation (new id, new volume) under
// the same name.
type Member struct {
	Name     string       `json:"name"`
	Role     cluster.Role `json:"role"`
	ServerID string       `json:"serverId"`

	// Placement, fixed at the first launch. AgentID may change when the host
	// reboots (the reservation and volume stay; they are found by
	// PersistenceID).
	AgentID       string `json:"agentId,omitempty"`
	Hostname      string `json:"hostname,omitempty"`
	Port          int    `json:"port,omitempty"`
	PersistenceID string `json:"persistenceId,omitempty"`
	Reserved      bool   `json:"reserved,omitempty"`
	// ReservedCPUs and ReservedMem are the reservation's task and executor
	// shares together; a release counts them down, since Mesos offers the
	// executor's share only once the executor has exited.
	ReservedCPUs float64 `json:"reservedCpus,omitempty"`
	ReservedMem  float64 `json:"reservedMem,omitempty"`

	TaskID string `json:"taskId,omitempty"`
	// Launches counts the member incarnation's launches (part of task ids).
	Launches     int       `json:"launches"`
	TaskState    string    `json:"taskState,omitempty"`
	Healthy      *bool     `json:"healthy,omitempty"`
	Phase        string    `json:"phase"`
	LaunchedAt   time.Time `json:"launchedAt,omitempty"`
	RunningSince time.Time `json:"runningSince,omitempty"`
	DownSince    time.Time `json:"downSince,omitempty"`
	Restarts     int       `json:"restarts"`
	// Failures counts launches in a row that ended without running long;
	// it sets the backoff.
	Failures     int       `json:"failures"`
	BackoffUntil time.Time `json:"backoffUntil,omitempty"`
	// KillRequestedAt is when the scheduler last asked to kill the task.
	KillRequestedAt time.Time `json:"killRequestedAt,omitempty"`
	LastMessage     string    `json:"lastMessage,omitempty"`
	// AvoidHost, when set, keeps a replacement off its predecessor's host
	// if another host fits; until AvoidUntil it waits for another host's
	// offer (declined offers come back after a revive), then it takes the
	// avoided host rather than none.
	AvoidHost  string    `json:"avoidHost,omitempty"`
	AvoidUntil time.Time `json:"avoidUntil,omitempty"`
	// ReplaceReason is set on a retired incarnation.
	ReplaceReason string `json:"replaceReason,omitempty"`
	// RemovedFromCluster is set once removeServer (or the Agency membership
	// change for an agent) is done.
	RemovedFromCluster bool `json:"removedFromCluster,omitempty"`
}

// NewState returns the state of a new framework with fresh secrets.
func NewState(cfg Config) (*State, error) {
	s := &State{FrameworkName: cfg.FrameworkName, Members: map[string]*Member{}, NextIndex: map[string]int{},
		Targets:   Targets{Agents: cfg.Agents, DBServers: cfg.DBServers, Coordinators: cfg.Coordinators},
		Autoscale: DefaultPolicy(cfg)}
	var err error
	if s.Secret, err = randomHex(32); err != nil {
		return nil, err
	}
	if s.RootPassword, err = randomHex(12); err != nil {
		return nil, err
	}
	if s.APIToken, err = randomHex(24); err != nil {
		return nil, err
	}
	return s, nil
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("scheduler: random: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// roleName is the task name prefix of a role.
func roleName(r cluster.Role) string {
	switch r {
	case cluster.RoleAgent:
		return "agent"
	case cluster.RoleCoordinator:
		return "coordinator"
	default:
		return "dbserver"
	}
}

// AddMember creates a new member of role with the next free name and a new
// server id.
func (s *State) AddMember(role cluster.Role) (*Member, error) {
	s.NextIndex[roleName(role)]++
	name := fmt.Sprintf("%s-%d", roleName(role), s.NextIndex[roleName(role)])
	id, err := newServerID(role)
	if err != nil {
		return nil, err
	}
	m := &Member{Name: name, Role: role, ServerID: id, Phase: PhasePending}
	s.Members[name] = m
	return m, nil
}

func newServerID(role cluster.Role) (string, error) {
	h, err := randomHex(4)
	if err != nil {
		return "", err
	}
	return role.Prefix() + h, nil
}

// Retire moves a member's current incarnation to Retired (for clean-up) and,
// when replace, gives the member a fresh incarnation: new server id, no
// placement, pending.
func (s *State) Retire(m *Member, reason string, replace bool) error {
	old := *m
	old.Phase, old.ReplaceReason = PhaseLeaving, reason
	s.Retired = append(s.Retired, &old)
	if !replace {
		delete(s.Members, m.Name)
		return nil
	}
	id, err := newServerID(m.Role)
	if err != nil {
		return err
	}
	*m = Member{Name: m.Name, Role: m.Role, ServerID: id, Phase: PhasePending, Restarts: m.Restarts}
	return nil
}

// Sorted returns the members of role (all when role is ""), ordered by their
// index (agent-2 before agent-10).
func (s *State) Sorted(role cluster.Role) []*Member {
	var out []*Member
	for _, m := range s.Members {
		if role == "" || m.Role == role {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Role != out[j].Role {
			return out[i].Role < out[j].Role
		}
		return memberIndex(out[i].Name) < memberIndex(out[j].Name)
	})
	return out
}

func memberIndex(name string) int {
	i := strings.LastIndexByte(name, '-')
	n, _ := strconv.Atoi(name[i+1:])
	return n
}

// ByTask finds the member (current or retired) that owns a task id.
func (s *State) ByTask(taskID string) (*Member, bool) {
	for _, m := range s.Members {
		if m.TaskID == taskID {
			return m, false
		}
	}
	for _, m := range s.Retired {
		if m.TaskID == taskID {
			return m, true
		}
	}
	return nil, false
}

// ByServerID finds the current member with a server id.
func (s *State) ByServerID(id string) *Member {
	for _, m := range s.Members {
		if m.ServerID == id {
			return m
		}
	}
	return nil
}

// AgentEndpoints returns the endpoints of the agents that have a placement.
func (s *State) AgentEndpoints() []string {
	var eps []string
	for _, m := range s.Sorted(cluster.RoleAgent) {
		if m.Hostname != "" && m.Port > 0 {
			eps = append(eps, m.Endpoint())
		}
	}
	return eps
}

// Endpoint is the member's tcp:// endpoint (empty before its first launch).
func (m *Member) Endpoint() string {
	if m.Hostname == "" || m.Port == 0 {
		return ""
	}
	return fmt.Sprintf("tcp://%s:%d", m.Hostname, m.Port)
}

// Persistent reports whether the member's role keeps data on a volume.
func (m *Member) Persistent() bool { return m.Role != cluster.RoleCoordinator }

// Running reports whether the member's task is running.
func (m *Member) Running() bool { return m.Phase == PhaseLaunched && m.TaskState == "TASK_RUNNING" }
