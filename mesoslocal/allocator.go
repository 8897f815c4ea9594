package mesoslocal

import (
	"sort"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// filterKey identifies a refusal filter: (framework, role, agent).
type filterKey struct{ role, agentID string }

// refusal is an offer filter installed by DECLINE or by the unused part of
// an ACCEPT.
type refusal struct {
	resources mesos.Resources
	until     time.Time
}

// maxRefuse caps refuse_seconds at one year, as Mesos does.
const maxRefuse = 365 * 24 * time.Hour

// refuseDuration turns Filters into a refusal duration: absent or negative
// means the default.
func (m *master) refuseDuration(f *mesos.Filters) time.Duration {
	if f == nil || f.RefuseSeconds == nil || *f.RefuseSeconds < 0 {
		return m.cfg.Timers.RefuseDefault
	}
	s := *f.RefuseSeconds
	if s > maxRefuse.Seconds() {
		return maxRefuse
	}
	return time.Duration(s * float64(time.Second))
}

// requestAllocationLocked asks for an allocation round soon (event-driven
// allocation: framework added or revived, resources recovered, agent added).
func (m *master) requestAllocationLocked() {
	if m.allocRequested {
		return
	}
	m.allocRequested = true
	select {
	case m.allocWake <- struct{}{}:
	default:
	}
}

func (m *master) allocationLoop() {
	m.every(m.cfg.Timers.AllocationInterval, m.allocWake, func() bool {
		m.allocRequested = false
		m.expireOffersLocked()
		return m.allocateLocked()
	})
}

// every runs f under the master's lock every d, and whenever wake fires,
// until the master stops; f reports whether the state changed.
func (m *master) every(d time.Duration, wake <-chan struct{}, f func() bool) {
	defer m.wg.Done()
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		case <-wake:
		}
		m.mu.Lock()
		if !m.closed && f() {
			m.notifyLocked()
		}
		m.mu.Unlock()
	}
}

// availableLocked is what an agent has left: total minus task, executor and
// offered resources.
func (m *master) availableLocked(a *agentEntry) mesos.Resources {
	used := m.usedLocked(a, "")
	for _, o := range m.offers {
		if o.agentID == a.id {
			used = append(used, o.resources...)
		}
	}
	return minus(a.total, used...)
}

// usedLocked sums the resources of live tasks and executors on an agent,
// of one framework or of all ("").
func (m *master) usedLocked(a *agentEntry, fid string) mesos.Resources {
	var used mesos.Resources
	for f, ts := range a.tasks {
		if fid != "" && f != fid {
			continue
		}
		for _, t := range ts {
			if !t.released {
				used = append(used, t.resources...)
			}
		}
	}
	for f, es := range a.executors {
		if fid != "" && f != fid {
			continue
		}
		for _, e := range es {
			used = append(used, toInternalAll(e.Resources)...)
		}
	}
	return used
}

// allocateLocked makes offers of every active agent's available resources to
// active, unsuppressed framework roles, the framework with the smallest
// allocated cpu share first. It reports whether any offer was made.
func (m *master) allocateLocked() bool {
	fws := make([]*framework, 0, len(m.frameworks))
	for _, fw := range m.frameworks {
		if fw.connected() {
			fws = append(fws, fw)
		}
	}
	if len(fws) == 0 {
		return false
	}
	share := map[string]float64{}
	for _, a := range m.agents {
		for fid, ts := range a.tasks {
			for _, t := range ts {
				if !t.released {
					share[fid] += scalarOf(t.resources, "cpus")
				}
			}
		}
	}
	sort.Slice(fws, func(i, j int) bool {
		if share[fws[i].id] != share[fws[j].id] {
			return share[fws[i].id] < share[fws[j].id]
		}
		return fws[i].registered.Before(fws[j].registered)
	})
	now := time.Now()
	made := map[string][]*offer{}
	for _, a := range m.sortedAgentsLocked() {
		if !a.connected {
			continue
		}
		avail := m.availableLocked(a)
		for _, fw := range fws {
			for _, role := range fw.roles() {
				if fw.suppressed[role] {
					continue
				}
				rs := allocatableTo(avail, role)
				if !isMinAllocatable(rs) && !hasVolume(rs) {
					continue
				}
				key := filterKey{role: role, agentID: a.id}
				if f := fw.filters[key]; f != nil {
					if now.Before(f.until) && containsAll(f.resources, rs) {
						continue
					}
					delete(fw.filters, key)
				}
				o := &offer{id: offerIDFor(m.id, m.nextOffer), fid: fw.id, agentID: a.id, role: role,
					resources: sumResources(rs...), created: now}
				m.nextOffer++
				m.offers[o.id] = o
				made[fw.id] = append(made[fw.id], o)
				avail = minus(avail, rs...)
			}
		}
	}
	for _, fw := range fws {
		if os := made[fw.id]; len(os) > 0 {
			m.sendOffersLocked(fw, os)
		}
	}
	return len(made) > 0
}

func hasVolume(rs mesos.Resources) bool {
	for i := range rs {
		if rs[i].IsPersistentVolume() {
			return true
		}
	}
	return false
}

// reviveLocked clears filters and un-suppresses roles (all when empty).
func (m *master) reviveLocked(fw *framework, roles []string) {
	if len(roles) == 0 {
		roles = fw.roles()
	}
	for _, r := range roles {
		delete(fw.suppressed, r)
		for k := range fw.filters {
			if k.role == r {
				delete(fw.filters, k)
			}
		}
	}
	m.requestAllocationLocked()
}

// suppressLocked stops offers for roles (all when empty).
func (m *master) suppressLocked(fw *framework, roles []string) {
	if len(roles) == 0 {
		roles = fw.roles()
	}
	for _, r := range roles {
		fw.suppressed[r] = true
	}
}
