package scheduler

import (
	"fmt"
	"sort"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// OfferPlan is what to do with one offer.
type OfferPlan struct {
	Offer mesos.Offer
	// Ops are the operations to ACCEPT the offer with; none means decline.
	Ops []mesos.Offer_Operation
	// Hold keeps the offer for a later batch (agents of a new Agency wait
	// until they can all be placed at once).
	Hold bool
}

// Waiting explains, per member, why it is not launched yet; the scheduler
// reports it (health, events) so a deploy that cannot proceed says why.
type Waiting map[string]string

// MatchOffers fits the pending members into a batch of offers:
//   - members with a volume relaunch from the offer that brings back their
//     reservation and volume (same host, same port, same data, same id),
//     found by the volume's persistence id, so a rebooted host with a new
//     agent id is recognised;
//   - the agents of a new Agency are placed together, each on its own host,
//     so each starts with the endpoints of all; until enough hosts are
//     offered the suitable offers are held;
//   - other new agents and DBServers get a reservation (task and executor
//     resources and the port) and a persistent volume and are launched, in
//     one ACCEPT; coordinators use unreserved resources;
//   - with placement "unique-host", no two members of a role share a host;
//   - DBServers and coordinators wait until the Agency is up;
//   - the reservation and volume of a retired incarnation are destroyed and
//     released when an offer brings them back.
//
// It changes the placed members in st (placement, task id, phase).
func MatchOffers(st *State, offers []mesos.Offer, w World, tf TaskFactory) ([]OfferPlan, Waiting) {
	m := &matcher{st: st, w: w, tf: tf, waiting: Waiting{}}
	sort.SliceStable(offers, func(i, j int) bool { return offers[i].Hostname < offers[j].Hostname })
	for _, o := range offers {
		m.plans = append(m.plans, &planEntry{OfferPlan: OfferPlan{Offer: o}, pool: unreservedPool(&o), reserved: reservedFor(&o, tf.Config)})
	}
	m.releaseRetired()
	if !st.Uninstalling {
		m.recoverRebooted()
		m.relaunchPlaced()
		m.placeAgents()
		if w.Agency.Up {
			m.placeNew(cluster.RoleDBServer)
			m.placeNew(cluster.RoleCoordinator)
		} else {
			for _, mem := range st.Sorted("") {
				if mem.Role != cluster.RoleAgent && mem.Phase == PhasePending {
					m.waiting[mem.Name] = "waiting for the Agency to be up"
				}
			}
		}
	}
	out := make([]OfferPlan, len(m.plans))
	for i, p := range m.plans {
		out[i] = p.OfferPlan
	}
	return out, m.waiting
}

type planEntry struct {
	OfferPlan
	pool     *pool
	reserved map[string]*memberResources
}

type matcher struct {
	st      *State
	w       World
	tf      TaskFactory
	plans   []*planEntry
	waiting Waiting
}

// releaseRetired destroys the volumes and releases the reservations of
// retired incarnations whose task is over. A reservation may come back in
// parts (the executor's share only after the executor exited): each part
// is released as it is offered, until the whole reservation is.
func (m *matcher) releaseRetired() {
	for _, r := range m.st.Retired {
		if !r.Reserved || (r.TaskID != "" && !IsTerminal(r.TaskState)) {
			continue
		}
		for _, p := range m.plans {
			mr, ok := p.reserved[r.ServerID]
			if !ok {
				continue
			}
			var unres []mesos.Resource
			for _, res := range mr.all {
				if res.Disk != nil && res.Disk.Persistence != nil {
					p.Ops = append(p.Ops, calls.OpDestroy(res))
					res.Disk = nil
				}
				unres = append(unres, res)
			}
			p.Ops = append(p.Ops, calls.OpUnreserve(unres...))
			delete(p.reserved, r.ServerID)
			r.ReservedCPUs, r.ReservedMem = r.ReservedCPUs-mr.cpus, r.ReservedMem-mr.mem
			if r.ReservedCPUs < resourceEpsilon && r.ReservedMem < resourceEpsilon {
				r.Reserved, r.ReservedCPUs, r.ReservedMem = false, 0, 0
			}
		}
	}
}

// recoverRebooted makes lost members without a volume pending again when
// their host offers resources under a new agent id: the host rebooted, so
// the old agent and its tasks are gone, and waiting for the replace timeout
// would only keep the member down. (Members with a volume come back through
// relaunchPlaced when the offer brings their reservation.)
func (m *matcher) recoverRebooted() {
	for _, mem := range m.st.Sorted("") {
		if mem.Phase != PhaseLost || mem.PersistenceID != "" || mem.Hostname == "" {
			continue
		}
		for _, p := range m.plans {
			if p.Offer.Hostname == mem.Hostname && p.Offer.AgentID.Value != mem.AgentID {
				mem.Phase = PhasePending
				mem.Restarts++
				mem.LastMessage = fmt.Sprintf("its host %s came back as a new Mesos agent (rebooted): relaunching", mem.Hostname)
				break
			}
		}
	}
}

// relaunchPlaced relaunches pending members that have a volume from the
// offer carrying their reservation. A member lost with its host is
// relaunched too when its reservation is offered again: Mesos offers only
// resources no task uses, so its old task is gone (the host rebooted and
// came back, typically under a new agent id).
func (m *matcher) relaunchPlaced() {
	for _, mem := range m.st.Sorted("") {
		if (mem.Phase != PhasePending && mem.Phase != PhaseLost) || mem.PersistenceID == "" {
			continue
		}
		if mem.Role != cluster.RoleAgent && !m.w.Agency.Up {
			continue
		}
		found := false
		for _, p := range m.plans {
			mr, ok := p.reserved[mem.ServerID]
			if !ok || mr.volume == nil || mr.volume.Disk.Persistence.ID != mem.PersistenceID {
				continue
			}
			exec := m.tf.Config.ExecutorRes
			if mr.cpus < mem.ReservedCPUs-resourceEpsilon || mr.mem < mem.ReservedMem-resourceEpsilon {
				// The last executor still holds its share.
				m.waiting[mem.Name] = fmt.Sprintf("waiting for the executor of its last task on %s to exit", placeOf(mem))
				found = true
				break
			}
			delete(p.reserved, mem.ServerID)
			mem.AgentID, mem.Hostname = p.Offer.AgentID.Value, p.Offer.Hostname
			if mr.port != 0 {
				mem.Port = int(mr.port)
			}
			taskRes := []mesos.Resource{
				reserved(m.tf.Config, mem, scalarRes("cpus", mr.cpus-exec.CPUs)),
				reserved(m.tf.Config, mem, scalarRes("mem", mr.mem-exec.Mem)),
				reserved(m.tf.Config, mem, portRes(uint64(mem.Port))),
				*mr.volume,
			}
			execRes := []mesos.Resource{
				reserved(m.tf.Config, mem, scalarRes("cpus", exec.CPUs)),
				reserved(m.tf.Config, mem, scalarRes("mem", exec.Mem)),
			}
			if mem.Phase == PhaseLost {
				mem.Restarts++
			}
			m.launch(p, mem, taskRes, execRes)
			found = true
			break
		}
		if !found && mem.Phase == PhasePending {
			m.waiting[mem.Name] = fmt.Sprintf("waiting for an offer from %s with its reserved resources and volume", placeOf(mem))
		}
	}
}

func (m *matcher) launch(p *planEntry, mem *Member, taskRes, execRes []mesos.Resource) {
	mem.TaskID = newTaskID(mem)
	mem.TaskState, mem.Phase, mem.Healthy = "TASK_STAGING", PhaseLaunched, nil
	mem.LaunchedAt, mem.KillRequestedAt, mem.RunningSince = m.w.Now, time.Time{}, time.Time{}
	p.Ops = append(p.Ops, calls.OpLaunch(m.tf.task(m.st, mem, p.Offer.AgentID.Value, taskRes, execRes)))
}

// hostsOf returns the hosts used by the current members of a role.
func (m *matcher) hostsOf(role cluster.Role) map[string]bool {
	used := map[string]bool{}
	for _, mem := range m.st.Sorted(role) {
		if mem.Hostname != "" && (mem.Phase != PhasePending || mem.PersistenceID != "") {
			used[mem.Hostname] = true
		}
	}
	return used
}

// fits reports whether a new member of role fits p's unreserved resources
// (without taking them).
func (m *matcher) fits(p *planEntry, role cluster.Role) bool {
	need := m.tf.resourcesOf(role)
	exec := m.tf.Config.ExecutorRes
	cp := *p.pool
	cp.ports = append([]mesos.Value_Range(nil), p.pool.ports...)
	return cp.take(need.CPUs+exec.CPUs, need.Mem+exec.Mem, need.Disk) && cp.port() != 0
}

// placeAgents places new agents. The first agents of an Agency are placed
// together (each needs the others' endpoints to bootstrap); later ones
// (replacements, scale-up) one by one.
func (m *matcher) placeAgents() {
	var unplaced []*Member
	placed := 0
	for _, mem := range m.st.Sorted(cluster.RoleAgent) {
		switch {
		case mem.Phase == PhasePending && mem.PersistenceID == "":
			unplaced = append(unplaced, mem)
		case mem.PersistenceID != "":
			placed++
		}
	}
	if len(unplaced) == 0 {
		return
	}
	if placed > 0 {
		for _, mem := range unplaced {
			m.placeOne(mem)
		}
		return
	}
	// A new Agency: choose hosts for all agents at once, or hold the offers.
	used := map[string]bool{}
	var chosen []*planEntry
	for _, p := range m.plans {
		if len(chosen) == len(unplaced) {
			break
		}
		if (m.tf.Config.Placement == "unique-host" && used[p.Offer.Hostname]) || !m.fits(p, cluster.RoleAgent) {
			continue
		}
		used[p.Offer.Hostname] = true
		chosen = append(chosen, p)
	}
	if len(chosen) < len(unplaced) && m.tf.Config.Placement == "unique-host" {
		for _, p := range chosen {
			p.Hold = true
		}
		for _, mem := range unplaced {
			m.waiting[mem.Name] = fmt.Sprintf("waiting for %d hosts that can each take an agent (cpus %.2f, mem %.0f MB, disk %.0f MB, a port); %d offered now",
				len(unplaced), m.tf.Config.AgentRes.CPUs+m.tf.Config.ExecutorRes.CPUs, m.tf.Config.AgentRes.Mem+m.tf.Config.ExecutorRes.Mem,
				m.tf.Config.AgentRes.Disk, len(chosen))
		}
		return
	}
	// First fix every placement (the endpoints), then launch with all of them.
	type placement struct {
		p   *planEntry
		mem *Member
	}
	var ps []placement
	for i, mem := range unplaced {
		p := chosen[i%len(chosen)]
		if !m.place(p, mem) {
			continue
		}
		ps = append(ps, placement{p, mem})
	}
	for _, x := range ps {
		m.reserveAndLaunch(x.p, x.mem)
	}
}

// placeNew places pending new members of role, one per offer host.
func (m *matcher) placeNew(role cluster.Role) {
	for _, mem := range m.st.Sorted(role) {
		if mem.Phase != PhasePending || (mem.Persistent() && mem.PersistenceID != "") {
			continue
		}
		if p := m.predecessorInCluster(mem); p != nil {
			m.waiting[mem.Name] = fmt.Sprintf("waiting until Supervision declares its predecessor %s FAILED", p.ServerID)
			continue
		}
		m.placeOne(mem)
	}
}

// predecessorInCluster returns the retired DBServer that mem replaces while
// Supervision still counts it as a healthy member of the cluster. A
// replacement started then would make one DBServer more than Target asks
// for, and Supervision's shrinkCluster would clean out the newest, emptiest
// one — the replacement — again and again. Once the predecessor is FAILED
// (its task is killed; for a lost host long before the replace timeout) or
// removed, Supervision no longer counts it.
func (m *matcher) predecessorInCluster(mem *Member) *Member {
	if mem.Role != cluster.RoleDBServer {
		return nil
	}
	for _, r := range m.st.Retired {
		if r.Name != mem.Name || r.Role != cluster.RoleDBServer || r.RemovedFromCluster || r.ReplaceReason == "cleaned out" {
			continue
		}
		if h, ok := m.w.Agency.Health[r.ServerID]; ok && h.Status != cluster.StatusFailed {
			return r
		}
	}
	return nil
}

// placeOne places and launches one new member on the first suitable offer,
// preferring hosts other than the one it should avoid.
func (m *matcher) placeOne(mem *Member) {
	used := m.hostsOf(mem.Role)
	for _, avoid := range []bool{true, false} {
		if !avoid && mem.AvoidHost != "" && m.w.Now.Before(mem.AvoidUntil) {
			break
		}
		for _, p := range m.plans {
			if p.Hold || (m.tf.Config.Placement == "unique-host" && used[p.Offer.Hostname]) || !m.fits(p, mem.Role) {
				continue
			}
			if avoid && mem.AvoidHost != "" && p.Offer.Hostname == mem.AvoidHost {
				continue
			}
			if m.place(p, mem) {
				m.reserveAndLaunch(p, mem)
				return
			}
		}
	}
	need := m.tf.resourcesOf(mem.Role)
	m.waiting[mem.Name] = fmt.Sprintf("waiting for an offer with cpus %.2f, mem %.0f MB, disk %.0f MB and a port on a host without another %s",
		need.CPUs+m.tf.Config.ExecutorRes.CPUs, need.Mem+m.tf.Config.ExecutorRes.Mem, need.Disk, roleName(mem.Role))
}

// place fixes a member's placement on p: host, agent, port, and for
// persistent roles a persistence id. It takes the resources from p's pool.
func (m *matcher) place(p *planEntry, mem *Member) bool {
	need := m.tf.resourcesOf(mem.Role)
	exec := m.tf.Config.ExecutorRes
	if !p.pool.take(need.CPUs+exec.CPUs, need.Mem+exec.Mem, need.Disk) {
		return false
	}
	port := p.pool.port()
	if port == 0 {
		return false
	}
	mem.AgentID, mem.Hostname, mem.Port = p.Offer.AgentID.Value, p.Offer.Hostname, int(port)
	if mem.Persistent() {
		mem.PersistenceID = m.tf.Config.FrameworkName + "." + mem.ServerID
	}
	return true
}

// reserveAndLaunch adds the operations that launch a placed member: for a
// persistent role RESERVE, CREATE and LAUNCH; otherwise LAUNCH.
func (m *matcher) reserveAndLaunch(p *planEntry, mem *Member) {
	cfg := m.tf.Config
	need := m.tf.resourcesOf(mem.Role)
	exec := cfg.ExecutorRes
	if !mem.Persistent() {
		m.launch(p, mem,
			[]mesos.Resource{scalarRes("cpus", need.CPUs), scalarRes("mem", need.Mem), portRes(uint64(mem.Port))},
			[]mesos.Resource{scalarRes("cpus", exec.CPUs), scalarRes("mem", exec.Mem)})
		return
	}
	p.Ops = append(p.Ops, calls.OpReserve(
		reserved(cfg, mem, scalarRes("cpus", need.CPUs+exec.CPUs)),
		reserved(cfg, mem, scalarRes("mem", need.Mem+exec.Mem)),
		reserved(cfg, mem, scalarRes("disk", need.Disk)),
		reserved(cfg, mem, portRes(uint64(mem.Port))),
	))
	vol := volume(cfg, mem, need.Disk)
	p.Ops = append(p.Ops, calls.OpCreate(vol))
	mem.Reserved, mem.ReservedCPUs, mem.ReservedMem = true, need.CPUs+exec.CPUs, need.Mem+exec.Mem
	m.launch(p, mem,
		[]mesos.Resource{reserved(cfg, mem, scalarRes("cpus", need.CPUs)), reserved(cfg, mem, scalarRes("mem", need.Mem)),
			reserved(cfg, mem, portRes(uint64(mem.Port))), vol},
		[]mesos.Resource{reserved(cfg, mem, scalarRes("cpus", exec.CPUs)), reserved(cfg, mem, scalarRes("mem", exec.Mem))})
}
