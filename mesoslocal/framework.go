package mesoslocal

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/gogo/protobuf/proto"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/roles"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// framework is the master's book of one framework.
type framework struct {
	id               string
	info             mesos.FrameworkInfo
	sub              *eventStream // nil while disconnected
	registered       time.Time
	reregistered     time.Time
	unregistered     time.Time
	removedAt        time.Time
	tasks            map[string]*task // non-terminal and terminal-unacked
	unreachableTasks map[string]*task
	completedTasks   []*task
	suppressed       map[string]bool
	filters          map[filterKey]*refusal
	failoverTimer    *time.Timer
	recovered        bool
}

func (fw *framework) connected() bool { return fw.sub != nil }

func (fw *framework) hasCapability(t mesos.FrameworkInfo_Capability_Type) bool {
	for _, c := range fw.info.Capabilities {
		if c.Type == t {
			return true
		}
	}
	return false
}

func (fw *framework) partitionAware() bool {
	return fw.hasCapability(mesos.FrameworkInfo_Capability_PARTITION_AWARE)
}

func (fw *framework) multiRole() bool {
	return fw.hasCapability(mesos.FrameworkInfo_Capability_MULTI_ROLE)
}

func (fw *framework) refinement() bool {
	return fw.hasCapability(mesos.FrameworkInfo_Capability_RESERVATION_REFINEMENT)
}

// roles is the framework's role list: FrameworkInfo.roles for MULTI_ROLE
// frameworks, else the single (deprecated) role, default "*".
func (fw *framework) roles() []string { return frameworkRoles(&fw.info) }

func (fw *framework) primaryRole() string {
	if rs := fw.roles(); len(rs) > 0 {
		return rs[0]
	}
	return "*"
}

func frameworkRoles(info *mesos.FrameworkInfo) []string {
	for _, c := range info.Capabilities {
		if c.Type == mesos.FrameworkInfo_Capability_MULTI_ROLE {
			return info.Roles
		}
	}
	return []string{info.GetRole()}
}

func (fw *framework) hasRole(role string) bool {
	for _, r := range fw.roles() {
		if r == role {
			return true
		}
	}
	return false
}

// validateFrameworkInfo applies Mesos's FrameworkInfo checks; a failure is
// answered with an ERROR event on the subscription stream.
func validateFrameworkInfo(info *mesos.FrameworkInfo, suppressed []string) error {
	multi := false
	for _, c := range info.Capabilities {
		if c.Type == mesos.FrameworkInfo_Capability_MULTI_ROLE {
			multi = true
		}
	}
	if multi && info.Role != nil {
		return fmt.Errorf("'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable")
	}
	if !multi && len(info.Roles) > 0 {
		return fmt.Errorf("'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE capable")
	}
	seen := map[string]bool{}
	for _, r := range frameworkRoles(info) {
		if _, err := roles.Parse(r); err != nil {
			return fmt.Errorf("'FrameworkInfo.roles' contains invalid role: %w", err)
		}
		if seen[r] {
			return fmt.Errorf("'FrameworkInfo.roles' contains duplicate items")
		}
		seen[r] = true
	}
	if ft := info.GetFailoverTimeout(); math.IsNaN(ft) || math.IsInf(ft, 0) || ft < 0 || ft > float64(math.MaxInt64)/1e9 {
		return fmt.Errorf("Invalid 'FrameworkInfo.failover_timeout': %v", ft)
	}
	if id := info.GetID().GetValue(); info.ID != nil {
		if err := validateID(id); err != nil {
			return fmt.Errorf("'FrameworkInfo.id' is invalid: %w", err)
		}
	}
	var bad []string
	for _, r := range suppressed {
		if !seen[r] {
			bad = append(bad, r)
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return fmt.Errorf("Suppressed roles %v are not contained in the set of roles", bad)
	}
	return nil
}

// subscribeLocked handles a SUBSCRIBE whose stream is s. It returns the
// framework id, or an error message to send as ERROR before closing s.
func (m *master) subscribeLocked(sub *scheduler.Call_Subscribe, s *eventStream) (string, string) {
	info := *proto.Clone(sub.FrameworkInfo).(*mesos.FrameworkInfo)
	if err := validateFrameworkInfo(&info, sub.SuppressedRoles); err != nil {
		return "", err.Error()
	}
	now := time.Now()
	fid := info.GetID().GetValue()
	var fw *framework
	switch {
	case info.ID == nil || fid == "":
		fid = frameworkIDFor(m.id, m.nextFramework)
		m.nextFramework++
		info.ID = &mesos.FrameworkID{Value: fid}
		fw = &framework{id: fid, info: info, registered: now, tasks: map[string]*task{},
			unreachableTasks: map[string]*task{}, suppressed: map[string]bool{}, filters: map[filterKey]*refusal{}}
		m.frameworks[fid] = fw
		m.log.Info("framework registered", "framework", fid, "name", info.Name)
	case m.removed[fid]:
		return "", "Framework has been removed"
	default:
		fw = m.frameworks[fid]
		if fw == nil {
			// Unknown but well-formed: recover it under the same id.
			fw = &framework{id: fid, info: info, registered: now, recovered: true, tasks: map[string]*task{},
				unreachableTasks: map[string]*task{}, suppressed: map[string]bool{}, filters: map[filterKey]*refusal{}}
			m.frameworks[fid] = fw
		} else {
			if fw.info.GetPrincipal() != info.GetPrincipal() {
				return "", "Changing framework's principal is not allowed"
			}
			// user and checkpoint changes are ignored on SUBSCRIBE.
			info.User = fw.info.User
			info.Checkpoint = fw.info.Checkpoint
			if fw.sub != nil {
				old := fw.sub
				fw.sub = nil
				ev := &scheduler.Event{Type: scheduler.Event_ERROR, Error: &scheduler.Event_Error{Message: "Framework failed over"}}
				old.send(ev)
				m.tap.schedulerEvent(fid, ev, true)
				old.close()
			}
			if fw.failoverTimer != nil {
				fw.failoverTimer.Stop()
				fw.failoverTimer = nil
			}
			m.discardOffersLocked(fw, false)
			fw.info = info
			fw.reregistered = now
			m.log.Info("framework resubscribed", "framework", fid)
		}
	}
	fw.sub = s
	fw.suppressed = map[string]bool{}
	for _, r := range sub.SuppressedRoles {
		fw.suppressed[r] = true
	}
	hb := m.cfg.Timers.Heartbeat.Seconds()
	ev := &scheduler.Event{Type: scheduler.Event_SUBSCRIBED, Subscribed: &scheduler.Event_Subscribed{
		FrameworkID: &mesos.FrameworkID{Value: fid}, HeartbeatIntervalSeconds: proto.Float64(hb), MasterInfo: m.masterInfo()}}
	m.sendLocked(fw, ev)
	m.sendLocked(fw, &scheduler.Event{Type: scheduler.Event_HEARTBEAT})
	for _, a := range m.agents {
		if a.connected {
			a.link.sendToAgent(msgUpdateFramework{info: fw.info})
		}
	}
	m.requestAllocationLocked()
	return fid, ""
}

// streamClosedLocked handles a subscription connection that went away.
func (m *master) streamClosedLocked(fid string, s *eventStream) {
	fw := m.frameworks[fid]
	if fw == nil || fw.sub != s {
		return
	}
	m.disconnectFrameworkLocked(fw)
}

// disconnectFrameworkLocked makes a framework inactive and starts its
// failover timer; a failover_timeout of 0 removes it at once.
func (m *master) disconnectFrameworkLocked(fw *framework) {
	if fw.sub != nil {
		fw.sub.close()
		fw.sub = nil
	}
	fw.unregistered = time.Now()
	m.discardOffersLocked(fw, false)
	timeout := time.Duration(fw.info.GetFailoverTimeout() * float64(time.Second))
	m.log.Info("framework disconnected", "framework", fw.id, "failover_timeout", timeout)
	if timeout <= 0 {
		m.removeFrameworkLocked(fw)
		return
	}
	fid := fw.id
	fw.failoverTimer = time.AfterFunc(timeout, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if cur := m.frameworks[fid]; cur == fw && fw.sub == nil && !m.closed {
			m.log.Info("framework failover timeout", "framework", fid)
			m.removeFrameworkLocked(fw)
			m.notifyLocked()
		}
	})
}

// removeFrameworkLocked removes a framework for good: its executors are shut
// down, its tasks become TASK_KILLED (REASON_FRAMEWORK_REMOVED) in the
// master's books, it moves to completed frameworks, its stream is closed.
func (m *master) removeFrameworkLocked(fw *framework) {
	if fw.failoverTimer != nil {
		fw.failoverTimer.Stop()
		fw.failoverTimer = nil
	}
	m.discardOffersLocked(fw, false)
	for _, a := range m.agents {
		if len(a.tasks[fw.id]) > 0 || len(a.executors[fw.id]) > 0 {
			a.link.sendToAgent(msgShutdownFramework{fid: fw.id})
		}
		delete(a.executors, fw.id)
		delete(a.kills, fw.id)
	}
	for _, t := range sortedTasks(fw.tasks) {
		if !isTerminal(t.state) {
			st := m.masterStatus(t, mesos.TASK_KILLED, mesos.REASON_FRAMEWORK_REMOVED, "Framework "+fw.id+" removed")
			m.updateTaskLocked(t, mesos.TASK_KILLED, st)
		}
		m.removeTaskLocked(fw, t)
	}
	for _, t := range sortedTasks(fw.unreachableTasks) {
		m.removeTaskLocked(fw, t)
	}
	if fw.sub != nil {
		fw.sub.close()
		fw.sub = nil
	}
	fw.removedAt = time.Now()
	delete(m.frameworks, fw.id)
	m.removed[fw.id] = true
	m.completed = append(m.completed, fw)
	if over := len(m.completed) - m.cfg.Timers.MaxCompletedFrameworks; over > 0 {
		m.completed = append([]*framework(nil), m.completed[over:]...)
	}
	m.log.Info("framework removed", "framework", fw.id)
	m.requestAllocationLocked()
}
