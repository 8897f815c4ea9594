package mesoslocal

import (
	"sort"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// offer is an outstanding offer: resources of one agent held for one
// framework and role.
type offer struct {
	id        string
	fid       string
	agentID   string
	role      string
	resources mesos.Resources // internal format
	created   time.Time
}

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

// offerProto renders an offer for its framework.
func (m *master) offerProtoLocked(fw *framework, o *offer) mesos.Offer {
	a := m.agents[o.agentID]
	off := mesos.Offer{
		ID: mesos.OfferID{Value: o.id}, FrameworkID: mesos.FrameworkID{Value: fw.id},
		AgentID: mesos.AgentID{Value: o.agentID}, Resources: forFramework(o.resources, o.role, fw.multiRole(), fw.refinement()),
		Attributes: []mesos.Attribute{}, ExecutorIDs: []mesos.ExecutorID{},
	}
	if a != nil {
		off.Hostname = a.info.Hostname
		off.Attributes = append(off.Attributes, a.info.Attributes...)
		ip, port := a.addr()
		off.URL = &mesos.URL{Scheme: "http", Address: mesos.Address{Hostname: &a.info.Hostname, IP: &ip, Port: int32(port)},
			Path: strPtr("/slave(1)")}
		eids := make([]string, 0, len(a.executors[fw.id]))
		for eid := range a.executors[fw.id] {
			eids = append(eids, eid)
		}
		sort.Strings(eids)
		for _, eid := range eids {
			off.ExecutorIDs = append(off.ExecutorIDs, mesos.ExecutorID{Value: eid})
		}
	}
	if fw.multiRole() {
		role := o.role
		off.AllocationInfo = &mesos.Resource_AllocationInfo{Role: &role}
	}
	return off
}

func strPtr(s string) *string { return &s }

// sendOffersLocked sends offers in OFFERS events that each stay below the
// RecordIO size limit.
func (m *master) sendOffersLocked(fw *framework, os []*offer) {
	protos := make([]mesos.Offer, len(os))
	for i, o := range os {
		protos[i] = m.offerProtoLocked(fw, o)
	}
	var emit func(ps []mesos.Offer)
	emit = func(ps []mesos.Offer) {
		ev := &scheduler.Event{Type: scheduler.Event_OFFERS, Offers: &scheduler.Event_Offers{Offers: ps}}
		if len(ps) > 1 && ev.Size() > maxRecord/2 {
			emit(ps[:len(ps)/2])
			emit(ps[len(ps)/2:])
			return
		}
		m.sendLocked(fw, ev)
	}
	emit(protos)
}

// discardOffersLocked drops a framework's offers, sending RESCIND when
// rescind is set.
func (m *master) discardOffersLocked(fw *framework, rescind bool) {
	if m.removeOffersLocked(func(o *offer) bool { return o.fid == fw.id }, rescind) > 0 {
		m.requestAllocationLocked()
	}
}

// rescindAgentOffersLocked rescinds every outstanding offer on an agent.
func (m *master) rescindAgentOffersLocked(a *agentEntry) {
	m.removeOffersLocked(func(o *offer) bool { return o.agentID == a.id }, true)
}

// removeOffersLocked removes the offers that match, in id order, telling
// their frameworks with RESCIND when rescind is set.
func (m *master) removeOffersLocked(match func(*offer) bool, rescind bool) int {
	n := 0
	for _, id := range sortedIDs(m.offers) {
		o := m.offers[id]
		if !match(o) {
			continue
		}
		n++
		delete(m.offers, id)
		if fw := m.frameworks[o.fid]; fw != nil && rescind {
			m.sendLocked(fw, &scheduler.Event{Type: scheduler.Event_RESCIND, Rescind: &scheduler.Event_Rescind{OfferID: mesos.OfferID{Value: id}}})
		}
	}
	return n
}

// expireOffersLocked rescinds offers older than the offer timeout, if set.
func (m *master) expireOffersLocked() {
	if m.cfg.Timers.OfferTimeout <= 0 {
		return
	}
	now := time.Now()
	if m.removeOffersLocked(func(o *offer) bool { return now.Sub(o.created) >= m.cfg.Timers.OfferTimeout }, true) > 0 {
		m.requestAllocationLocked()
	}
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
