package scheduler

import (
	"sort"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// Resources in offers and operations use Mesos' pre-refinement format (the
// framework does not ask for RESERVATION_REFINEMENT): unreserved resources
// have role "*"; a dynamic reservation has the framework's role and a
// reservation carrying principal and labels. Our labels name the framework,
// the member and its server id, so a reservation is found again after a
// scheduler restart or a host reboot.
const (
	labelFramework = "arangomesos_framework"
	labelMember    = "arangomesos_member"
	labelServer    = "arangomesos_server"
	// volumePath is the container path of a member's persistent volume; the
	// node's data directory.
	volumePath = "data"
)

func strp(s string) *string { return &s }

func scalarRes(name string, v float64) mesos.Resource {
	t := mesos.SCALAR
	return mesos.Resource{Name: name, Type: &t, Scalar: &mesos.Value_Scalar{Value: v}}
}

func portRes(port uint64) mesos.Resource {
	t := mesos.RANGES
	return mesos.Resource{Name: "ports", Type: &t, Ranges: &mesos.Value_Ranges{Range: []mesos.Value_Range{{Begin: port, End: port}}}}
}

// reservation returns the reservation info of a member.
func reservation(cfg Config, m *Member) *mesos.Resource_ReservationInfo {
	return &mesos.Resource_ReservationInfo{Principal: strp(cfg.Principal), Labels: &mesos.Labels{Labels: []mesos.Label{
		{Key: labelFramework, Value: strp(cfg.FrameworkName)},
		{Key: labelMember, Value: strp(m.Name)},
		{Key: labelServer, Value: strp(m.ServerID)},
	}}}
}

// reserved marks r as reserved for the member.
func reserved(cfg Config, m *Member, r mesos.Resource) mesos.Resource {
	r.Role = strp(cfg.Role)
	r.Reservation = reservation(cfg, m)
	return r
}

// volume is the member's persistent volume resource.
func volume(cfg Config, m *Member, diskMB float64) mesos.Resource {
	r := reserved(cfg, m, scalarRes("disk", diskMB))
	mode := mesos.RW
	r.Disk = &mesos.Resource_DiskInfo{
		Persistence: &mesos.Resource_DiskInfo_Persistence{ID: m.PersistenceID, Principal: strp(cfg.Principal)},
		Volume:      &mesos.Volume{Mode: &mode, ContainerPath: volumePath},
	}
	return r
}

func labelValue(r *mesos.Resource, key string) string {
	if r.Reservation == nil || r.Reservation.Labels == nil {
		return ""
	}
	for _, l := range r.Reservation.Labels.Labels {
		if l.Key == key && l.Value != nil {
			return *l.Value
		}
	}
	return ""
}

// unreserved reports whether r is offered without a reservation.
func unreserved(r *mesos.Resource) bool {
	return r.Reservation == nil && len(r.Reservations) == 0 && (r.Role == nil || *r.Role == "*")
}

// pool tracks what is left of one offer while members are fitted into it.
type pool struct {
	cpus, mem, disk float64
	ports           []mesos.Value_Range
}

// unreservedPool sums an offer's unreserved resources.
func unreservedPool(o *mesos.Offer) *pool {
	p := &pool{}
	for i := range o.Resources {
		r := &o.Resources[i]
		if !unreserved(r) || r.Disk != nil {
			continue
		}
		switch r.Name {
		case "cpus":
			p.cpus += r.GetScalar().GetValue()
		case "mem":
			p.mem += r.GetScalar().GetValue()
		case "disk":
			p.disk += r.GetScalar().GetValue()
		case "ports":
			if r.Ranges != nil {
				p.ports = append(p.ports, r.Ranges.Range...)
			}
		}
	}
	sort.Slice(p.ports, func(i, j int) bool { return p.ports[i].Begin < p.ports[j].Begin })
	return p
}

// resourceEpsilon absorbs floating-point error in sums of scalar resources.
const resourceEpsilon = 1e-6

// take reserves cpus, mem and disk from the pool if they fit.
func (p *pool) take(cpus, mem, disk float64) bool {
	const eps = resourceEpsilon
	if p.cpus+eps < cpus || p.mem+eps < mem || p.disk+eps < disk {
		return false
	}
	p.cpus, p.mem, p.disk = p.cpus-cpus, p.mem-mem, p.disk-disk
	return true
}

// port takes the lowest free port of the pool (0 when none is left).
func (p *pool) port() uint64 {
	for i := range p.ports {
		r := &p.ports[i]
		if r.Begin <= r.End {
			port := r.Begin
			r.Begin++
			return port
		}
	}
	return 0
}

// memberResources are a member's reserved resources found in an offer.
type memberResources struct {
	cpus, mem float64
	port      uint64
	volume    *mesos.Resource
	// all are every resource of the reservation, for UNRESERVE.
	all []mesos.Resource
}

// reservedFor collects, per server id, the resources an offer holds
// reserved for our framework.
func reservedFor(o *mesos.Offer, cfg Config) map[string]*memberResources {
	out := map[string]*memberResources{}
	for i := range o.Resources {
		r := o.Resources[i]
		if r.Reservation == nil || labelValue(&r, labelFramework) != cfg.FrameworkName || r.GetRole() != cfg.Role {
			continue
		}
		id := labelValue(&r, labelServer)
		mr := out[id]
		if mr == nil {
			mr = &memberResources{}
			out[id] = mr
		}
		mr.all = append(mr.all, r)
		switch {
		case r.Name == "cpus":
			mr.cpus += r.GetScalar().GetValue()
		case r.Name == "mem":
			mr.mem += r.GetScalar().GetValue()
		case r.Name == "ports" && r.Ranges != nil && len(r.Ranges.Range) > 0:
			mr.port = r.Ranges.Range[0].Begin
		case r.Name == "disk" && r.Disk != nil && r.Disk.Persistence != nil:
			v := r
			mr.volume = &v
		}
	}
	return out
}
