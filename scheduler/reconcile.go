package scheduler

import (
	"fmt"
	"slices"
	"time"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// AgencyView is what the scheduler knows of the database cluster, from the
// Agency (through its watching cache).
type AgencyView struct {
	// Up: the Agency answers and has a leader.
	Up bool
	// Index is the Raft index the view reflects (at least).
	Index uint64
	// Health is Supervision/Health by server id.
	Health map[string]cluster.HealthRecord
	// NumDBServers and NumCoordinators are Target's desired counts (nil
	// when unset).
	NumDBServers, NumCoordinators *int
	// Cleaned is Target/CleanedServers.
	Cleaned []string
	// ShardHolders are the server ids holding a shard copy in Plan or
	// Current.
	ShardHolders map[string]bool
	// InSync lists, per shard ("database/collection/shard"), the servers
	// Current reports in sync (leader first).
	InSync map[string][]string
	// Pool is the Agency's membership: agent id → endpoint.
	Pool map[string]string
	// MaxReplicationFactor is the largest replicationFactor of any
	// collection: the fewest DBServers the data needs.
	MaxReplicationFactor int
}

// MesosView is what the scheduler knows of Mesos besides task updates.
type MesosView struct {
	// GoneAgents are agents Mesos declared gone for good.
	GoneAgents map[string]bool
}

// World is the input of Decide besides the state.
type World struct {
	Now    time.Time
	Agency AgencyView
	Mesos  MesosView
	Config Config
}

// Action kinds: the side effects Decide asks for.
const (
	// ActKill kills a member's task.
	ActKill = "kill"
	// ActRemoveServer removes a retired DBServer or coordinator from the
	// cluster (removeServer).
	ActRemoveServer = "removeServer"
	// ActAgencyJoin adds a new agent whose process has started to the
	// Agency: it cannot pass its health check (a known leader) before.
	ActAgencyJoin = "agencyJoin"
	// ActAgencyLeave removes a retired agent from the Agency.
	ActAgencyLeave = "agencyLeave"
	// ActWriteTargets writes the desired counts to the Agency's Target.
	ActWriteTargets = "writeTargets"
	// ActRebalance asks a coordinator to move shards onto new DBServers.
	ActRebalance = "rebalance"
)

// Action is one side effect for the scheduler's I/O layer.
type Action struct {
	Kind     string
	Member   *Member
	ServerID string
	Reason   string
}

// Backoff limits for relaunching crashing members.
const (
	backoffMin = time.Second
	backoffMax = 5 * time.Minute
	// stableAfter: a task that ran this long before it ended was not a
	// crash loop; its backoff starts over.
	stableAfter = 2 * time.Minute
	// killRepeat: a kill that has not taken effect is repeated after this.
	killRepeat = 30 * time.Second
)

// relaunchBackoff is the wait before relaunching a member that failed n times in a
// row: 1 s, 2 s, 4 s, … up to 5 min.
func relaunchBackoff(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	d := backoffMin << min(n-1, 20)
	return min(d, backoffMax)
}

// terminal task states (Mesos' isTerminalState).
var terminal = map[string]bool{"TASK_FINISHED": true, "TASK_FAILED": true, "TASK_KILLED": true, "TASK_ERROR": true,
	"TASK_LOST": true, "TASK_DROPPED": true, "TASK_GONE": true, "TASK_GONE_BY_OPERATOR": true, "TASK_UNKNOWN": true}

// IsTerminal reports whether a task state name is terminal.
func IsTerminal(state string) bool { return terminal[state] }

// Status is one task status update, as the I/O layer received it.
type Status struct {
	TaskID  string
	State   string // TASK_RUNNING, …
	Reason  string
	Message string
	AgentID string
	Healthy *bool
}

// ApplyStatus folds a task update into the member that owns the task, and
// returns what happened for the event log. Updates of tasks that are not a
// member's current task change nothing (the caller kills such tasks when
// they are active).
func ApplyStatus(st *State, s Status, now time.Time) []Event {
	m, retired := st.ByTask(s.TaskID)
	if m == nil {
		return nil
	}
	prev := m.TaskState
	m.TaskState, m.Healthy = s.State, s.Healthy
	if s.AgentID != "" {
		m.AgentID = s.AgentID
	}
	if s.Message != "" {
		m.LastMessage = s.Message
	}
	if retired {
		return nil
	}
	var ev []Event
	add := func(kind, format string, args ...any) {
		ev = append(ev, Event{Time: now, Kind: kind, Member: m.Name, Message: fmt.Sprintf(format, args...)})
	}
	switch {
	case s.State == "TASK_RUNNING":
		if m.Phase != PhaseLaunched || prev != "TASK_RUNNING" {
			m.RunningSince = now
			add(EventRunning, "%s (%s) runs on %s:%d", m.Name, m.ServerID, m.Hostname, m.Port)
		}
		m.Phase = PhaseLaunched
	case s.State == "TASK_STAGING" || s.State == "TASK_STARTING" || s.State == "TASK_KILLING":
		if m.Phase != PhaseLeaving {
			m.Phase = PhaseLaunched
		}
	case s.State == "TASK_UNREACHABLE":
		if m.Phase != PhaseLost {
			m.Phase, m.DownSince = PhaseLost, now
			add(EventLost, "%s is unreachable (its host is partitioned or down); waiting for it", m.Name)
		}
	case s.State == "TASK_GONE" || s.State == "TASK_GONE_BY_OPERATOR":
		m.Phase = PhaseLost
		m.DownSince = now.Add(-st.replaceAfterGone())
		add(EventLost, "%s is gone with its host (%s)", m.Name, s.Reason)
	case terminal[s.State]:
		if m.Phase == PhaseDown && prev == s.State {
			break
		}
		ran := !m.RunningSince.IsZero() && now.Sub(m.RunningSince) >= stableAfter
		if ran {
			m.Failures = 0
		}
		m.Failures++
		m.Phase, m.DownSince = PhaseDown, now
		m.BackoffUntil = now.Add(relaunchBackoff(m.Failures))
		m.RunningSince = time.Time{}
		add(EventFailed, "%s ended: %s %s %s (relaunch in %v)", m.Name, s.State, s.Reason, s.Message, relaunchBackoff(m.Failures))
	}
	return ev
}

// replaceAfterGone makes a member whose host is gone for good due for
// replacement at once.
func (st *State) replaceAfterGone() time.Duration { return 100 * 365 * 24 * time.Hour }

// Decide brings the members in line with the targets and the world: it adds
// members below a target and retires members above it (coordinators at
// once; DBServers only once supervision has cleaned them out), relaunches
// ended tasks after their backoff, kills tasks that supervision declares
// FAILED while Mesos still runs them (hung processes), replaces members whose
// host stays unreachable beyond the replace timeout, and cleans up retired
// incarnations. It changes only st; the returned actions are for the I/O
// layer, the events for the log.
func Decide(st *State, w World) ([]Action, []Event) {
	d := &decider{st: st, w: w}
	d.syncTargets()
	d.scale()
	for _, m := range st.Sorted("") {
		d.member(m)
	}
	d.retired()
	d.rebalance()
	if !st.Deployed && len(st.Members) > 0 && d.allRunning(st.Sorted("")) {
		st.Deployed = true
		d.event(EventScale, "", "the cluster is deployed: every member runs")
	}
	return d.actions, d.events
}

type decider struct {
	st      *State
	w       World
	actions []Action
	events  []Event
}

func (d *decider) act(a Action) { d.actions = append(d.actions, a) }

func (d *decider) event(kind, member, format string, args ...any) {
	d.events = append(d.events, Event{Time: d.w.Now, Kind: kind, Member: member, Message: fmt.Sprintf(format, args...)})
}

// syncTargets makes the Agency's Target the knob once the Agency is up: the
// first time, the scheduler's targets are written there; afterwards the
// Agency's values (moved by /v1/scale, the web UI or ArangoDB's
// numberOfServers) are the desired counts.
func (d *decider) syncTargets() {
	if !d.w.Agency.Up {
		return
	}
	if !d.st.TargetsInAgency {
		d.act(Action{Kind: ActWriteTargets, Reason: "publish the desired counts in the Agency"})
		return
	}
	if n := d.w.Agency.NumDBServers; n != nil && *n > 0 {
		d.st.Targets.DBServers = *n
	}
	if n := d.w.Agency.NumCoordinators; n != nil && *n > 0 {
		d.st.Targets.Coordinators = *n
	}
}

func (d *decider) scale() {
	if d.st.Uninstalling {
		return
	}
	for _, role := range []cluster.Role{cluster.RoleAgent, cluster.RoleDBServer, cluster.RoleCoordinator} {
		want := d.target(role)
		have := d.st.Sorted(role)
		for n := len(have); n < want; n++ {
			m, err := d.st.AddMember(role)
			if err != nil {
				return
			}
			if d.st.FrameworkID != "" && len(have) > 0 {
				d.event(EventScale, m.Name, "scaling %ss up to %d: added %s", roleName(role), want, m.Name)
			}
			if role == cluster.RoleDBServer && d.st.Deployed && d.w.Config.RebalanceOnScaleUp {
				d.st.RebalancePending = true
			}
		}
		switch {
		case role == cluster.RoleCoordinator && len(have) > want:
			for _, m := range have[want:] {
				d.event(EventScale, m.Name, "scaling coordinators down to %d: draining and removing %s", want, m.Name)
				_ = d.st.Retire(m, "scaled down", false)
			}
		case role == cluster.RoleDBServer:
			// Supervision's shrinkCluster picks and empties the DBServer;
			// only a cleaned-out server leaves.
			for _, m := range have {
				if slices.Contains(d.w.Agency.Cleaned, m.ServerID) {
					d.event(EventScale, m.Name, "%s (%s) is cleaned out: removing it", m.Name, m.ServerID)
					_ = d.st.Retire(m, "cleaned out", false)
				}
			}
		case role == cluster.RoleAgent && len(have) > want && d.allRunning(have):
			m := have[len(have)-1]
			d.event(EventScale, m.Name, "scaling agents down to %d: removing %s from the Agency", want, m.Name)
			_ = d.st.Retire(m, "scaled down", false)
		}
	}
}

// rebalance moves shards onto DBServers added by a scale-up, once every
// DBServer runs and Supervision reports each GOOD (a server still starting
// would be skipped by rebalanceShards). A failed request sets the flag
// again (Scheduler.act).
func (d *decider) rebalance() {
	if !d.st.RebalancePending || d.st.Uninstalling || !d.w.Agency.Up {
		return
	}
	dbs := d.st.Sorted(cluster.RoleDBServer)
	if len(dbs) != d.st.Targets.DBServers || !d.allRunning(dbs) {
		return
	}
	for _, m := range dbs {
		if h, ok := d.w.Agency.Health[m.ServerID]; !ok || h.Status != cluster.StatusGood {
			return
		}
	}
	d.st.RebalancePending = false
	d.act(Action{Kind: ActRebalance, Reason: "move shards onto the new DBServers"})
}

func (d *decider) target(role cluster.Role) int {
	switch role {
	case cluster.RoleAgent:
		return d.st.Targets.Agents
	case cluster.RoleDBServer:
		return d.st.Targets.DBServers
	default:
		return d.st.Targets.Coordinators
	}
}

func (d *decider) allRunning(ms []*Member) bool {
	for _, m := range ms {
		if !m.Running() {
			return false
		}
	}
	return true
}

// member drives one current member.
func (d *decider) member(m *Member) {
	now := d.w.Now
	switch m.Phase {
	case PhaseLaunched:
		started := m.Running() || m.TaskState == "TASK_STARTING"
		if m.Role == cluster.RoleAgent && started && d.w.Agency.Up && d.w.Agency.Pool != nil && d.w.Agency.Pool[m.ServerID] == "" {
			d.act(Action{Kind: ActAgencyJoin, Member: m, Reason: "a new agent joins the Agency"})
		}
		h, known := d.w.Agency.Health[m.ServerID]
		grace := d.w.Config.SupervisionGracePeriod + 2*d.w.Config.SupervisionOkThreshold
		if m.Running() && known && h.Status == cluster.StatusFailed && now.Sub(m.RunningSince) > grace {
			d.kill(m, "supervision declares it FAILED although its task runs (hung process)")
		}
	case PhaseDown:
		if m.AgentID != "" && d.w.Mesos.GoneAgents[m.AgentID] {
			m.Phase, m.DownSince = PhaseLost, now.Add(-d.st.replaceAfterGone())
			return
		}
		if !now.Before(m.BackoffUntil) {
			m.Phase = PhasePending
			m.Restarts++
			d.event(EventRelaunch, m.Name, "relaunching %s (%s) on %s (restart %d)", m.Name, m.ServerID, placeOf(m), m.Restarts)
		}
	case PhaseLost:
		if now.Sub(m.DownSince) >= d.w.Config.ReplaceTimeout {
			old := m.ServerID
			reason := fmt.Sprintf("its host stayed unreachable for more than %v", d.w.Config.ReplaceTimeout)
			if err := d.st.Retire(m, reason, true); err == nil {
				d.event(EventReplace, m.Name, "replacing %s (%s) elsewhere with %s: %s", m.Name, old, m.ServerID, reason)
			}
		}
	}
}

func placeOf(m *Member) string {
	if m.Hostname == "" {
		return "any host"
	}
	return m.Hostname
}

// kill asks for a member's task to be killed, repeating the request if it
// does not take effect.
func (d *decider) kill(m *Member, reason string) {
	if m.TaskID == "" || IsTerminal(m.TaskState) {
		return
	}
	if !m.KillRequestedAt.IsZero() && d.w.Now.Sub(m.KillRequestedAt) < killRepeat {
		return
	}
	m.KillRequestedAt = d.w.Now
	d.act(Action{Kind: ActKill, Member: m, Reason: reason})
	d.event(EventKill, m.Name, "killing %s: %s", m.Name, reason)
}

// retired cleans up retired incarnations: their tasks are killed, their
// servers leave the cluster (removeServer, or the Agency membership for an
// agent), and they are forgotten once nothing of them is left (their volume
// and reservation are released when an offer brings them back; see offers).
func (d *decider) retired() {
	var keep []*Member
	for _, m := range d.st.Retired {
		if m.TaskID != "" && !IsTerminal(m.TaskState) && m.TaskState != "TASK_UNREACHABLE" {
			d.kill(m, "it was "+m.ReplaceReason)
		}
		if !m.RemovedFromCluster && d.w.Agency.Up {
			switch m.Role {
			case cluster.RoleAgent:
				if _, member := d.w.Agency.Pool[m.ServerID]; member || d.w.Agency.Pool == nil {
					d.act(Action{Kind: ActAgencyLeave, Member: m, ServerID: m.ServerID, Reason: m.ReplaceReason})
				} else {
					m.RemovedFromCluster = true
				}
			default:
				h, known := d.w.Agency.Health[m.ServerID]
				stopped := known && (h.Status == cluster.StatusFailed || h.SyncStatus == "STOPPED" || h.SyncStatus == "SHUTDOWN")
				switch {
				case !known:
					m.RemovedFromCluster = true // the cluster no longer lists it
				case stopped && !d.w.Agency.ShardHolders[m.ServerID]:
					d.act(Action{Kind: ActRemoveServer, Member: m, ServerID: m.ServerID, Reason: m.ReplaceReason})
				}
			}
		}
		gone := m.AgentID != "" && d.w.Mesos.GoneAgents[m.AgentID]
		done := m.RemovedFromCluster && (m.TaskID == "" || IsTerminal(m.TaskState) || gone) && (!m.Reserved || gone)
		if done {
			d.event(EventRemoved, m.Name, "%s (%s) is gone from the cluster", m.Name, m.ServerID)
			continue
		}
		keep = append(keep, m)
	}
	d.st.Retired = keep
}

// ReplaceRefusal says why replacing member m now (killing its incarnation
// and destroying its volume) would lose data or the Agency's quorum, or ""
// when it is safe:
//   - a DBServer must not hold the only in-sync copy of a shard: some other
//     DBServer that is GOOD and not itself going away must be in sync too
//     (a second replacement right after a first, or a replacement while
//     the followers still catch up, would destroy the last copy);
//   - an agent is replaced only when no other Agency change is under way
//     and the agents left keep a quorum of the Agency's membership, so the
//     replacement can still be voted in.
//
// Coordinators hold no data and are always safe to replace.
func ReplaceRefusal(st *State, v AgencyView, m *Member) string {
	switch m.Role {
	case cluster.RoleDBServer:
		if !v.Up {
			return "the Agency does not answer, so it is unknown whether other DBServers hold its data in sync"
		}
		going := map[string]bool{m.ServerID: true}
		for _, r := range st.Retired {
			if r.Role == cluster.RoleDBServer && !r.RemovedFromCluster {
				going[r.ServerID] = true
			}
		}
		shards := make([]string, 0, len(v.InSync))
		for shard := range v.InSync {
			shards = append(shards, shard)
		}
		slices.Sort(shards)
		for _, shard := range shards {
			servers := v.InSync[shard]
			if !slices.Contains(servers, m.ServerID) {
				continue
			}
			safe := false
			for _, id := range servers {
				if h, ok := v.Health[id]; ok && !going[id] && h.Status == cluster.StatusGood {
					safe = true
					break
				}
			}
			if !safe {
				return fmt.Sprintf("%s (%s) holds the only in-sync copy of shard %s that is not going away; replacing it now would lose data — wait until the shard's followers are in sync (or clean the server out first)",
					m.Name, m.ServerID, shard)
			}
		}
	case cluster.RoleAgent:
		agents := st.Sorted(cluster.RoleAgent)
		if len(agents) != st.Targets.Agents {
			return "the Agency is changing size; try again when it is done"
		}
		for _, r := range st.Retired {
			if r.Role == cluster.RoleAgent && !r.RemovedFromCluster {
				return fmt.Sprintf("agent %s (%s) is still leaving the Agency; replace one agent at a time", r.Name, r.ServerID)
			}
		}
		for _, a := range agents {
			if a != m && a.Phase != PhaseLaunched {
				return fmt.Sprintf("agent %s is still joining or down (%s); replace one agent at a time", a.Name, a.Phase)
			}
		}
		size := len(v.Pool)
		if size == 0 {
			size = st.Targets.Agents
		}
		alive := 0
		for _, a := range agents {
			if a == m || !a.Running() || (a.Healthy != nil && !*a.Healthy) {
				continue
			}
			if _, in := v.Pool[a.ServerID]; in || v.Pool == nil {
				alive++
			}
		}
		if quorum := size/2 + 1; alive < quorum {
			return fmt.Sprintf("without %s only %d of the Agency's %d agents run, below its quorum of %d; the Agency would stop and its replacement could not join",
				m.Name, alive, size, quorum)
		}
	}
	return ""
}
