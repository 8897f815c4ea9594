package mesoslocal

import (
	"sort"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// Outstanding offers: how they are rendered for a framework, sent, and
// taken back.

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
