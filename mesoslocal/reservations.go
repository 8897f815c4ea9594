package mesoslocal

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/gogo/protobuf/proto"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// applyOperationLocked validates one RESERVE, UNRESERVE, CREATE or DESTROY
// against the offered resources avail and applies it to avail and to the
// agent's total. The error is the reason the operation was dropped.
func (m *master) applyOperationLocked(fw *framework, a *agentEntry, role string, avail mesos.Resources, op *mesos.Offer_Operation) (mesos.Resources, error) {
	var remove, add mesos.Resources
	switch op.GetType() {
	case mesos.Offer_Operation_RESERVE:
		if op.Reserve == nil || len(op.Reserve.Resources) == 0 {
			return nil, fmt.Errorf("Invalid RESERVE Operation: no resources")
		}
		for _, fr := range op.Reserve.Resources {
			r := toInternal(fr)
			if err := r.Validate(); err != nil {
				return nil, fmt.Errorf("Invalid RESERVE Operation: %w", err)
			}
			n := len(r.Reservations)
			if n == 0 || r.Reservations[n-1].GetType() != mesos.Resource_ReservationInfo_DYNAMIC {
				return nil, fmt.Errorf("Invalid RESERVE Operation: Resource %s is not dynamically reserved", fr.String())
			}
			last := r.Reservations[n-1]
			if last.GetRole() != role {
				return nil, fmt.Errorf("Invalid RESERVE Operation: The reserved resource's role '%s' does not match the allocation role '%s'", last.GetRole(), role)
			}
			if !fw.hasRole(last.GetRole()) {
				return nil, fmt.Errorf("Invalid RESERVE Operation: The reserved resource's role '%s' is not one of the framework's roles", last.GetRole())
			}
			if p := fw.info.GetPrincipal(); p != "" && last.GetPrincipal() != p {
				return nil, fmt.Errorf("Invalid RESERVE Operation: A reserve operation was attempted by authenticated principal '%s', which does not match a reserved resource in the request with principal '%s'", p, last.GetPrincipal())
			}
			if r.IsPersistentVolume() {
				return nil, fmt.Errorf("Invalid RESERVE Operation: A persistent volume cannot be reserved")
			}
			remove = append(remove, mesos.Resources{r}.PopReservation()...)
			add = append(add, r)
		}
	case mesos.Offer_Operation_UNRESERVE:
		if op.Unreserve == nil || len(op.Unreserve.Resources) == 0 {
			return nil, fmt.Errorf("Invalid UNRESERVE Operation: no resources")
		}
		for _, fr := range op.Unreserve.Resources {
			r := toInternal(fr)
			if err := r.Validate(); err != nil {
				return nil, fmt.Errorf("Invalid UNRESERVE Operation: %w", err)
			}
			if !r.IsDynamicallyReserved() {
				return nil, fmt.Errorf("Invalid UNRESERVE Operation: Resource %s is not dynamically reserved", fr.String())
			}
			if r.IsPersistentVolume() {
				return nil, fmt.Errorf("Invalid UNRESERVE Operation: A dynamically reserved persistent volume %s cannot be unreserved", fr.String())
			}
			remove = append(remove, r)
			add = append(add, mesos.Resources{r}.PopReservation()...)
		}
	case mesos.Offer_Operation_CREATE:
		if op.Create == nil || len(op.Create.Volumes) == 0 {
			return nil, fmt.Errorf("Invalid CREATE Operation: no volumes")
		}
		ids := map[string]bool{}
		for _, fr := range op.Create.Volumes {
			v := toInternal(fr)
			if err := validateVolume(&v); err != nil {
				return nil, fmt.Errorf("Invalid CREATE Operation: %w", err)
			}
			if v.IsUnreserved() {
				return nil, fmt.Errorf("Invalid CREATE Operation: Persistent volumes cannot be created from unreserved resources")
			}
			key := reservationRole(&v) + "/" + v.Disk.Persistence.ID
			if ids[key] || volumeExists(a.total, &v) {
				return nil, fmt.Errorf("Invalid CREATE Operation: Persistence ID '%s' is not unique", v.Disk.Persistence.ID)
			}
			ids[key] = true
			if p := fw.info.GetPrincipal(); p != "" && v.Disk.Persistence.Principal != nil && v.Disk.Persistence.GetPrincipal() != p {
				return nil, fmt.Errorf("Invalid CREATE Operation: Create with principal '%s' does not match the framework's principal '%s'", v.Disk.Persistence.GetPrincipal(), p)
			}
			remove = append(remove, plainDisk(v))
			add = append(add, v)
		}
	case mesos.Offer_Operation_DESTROY:
		if op.Destroy == nil || len(op.Destroy.Volumes) == 0 {
			return nil, fmt.Errorf("Invalid DESTROY Operation: no volumes")
		}
		for _, fr := range op.Destroy.Volumes {
			v := toInternal(fr)
			if err := validateVolume(&v); err != nil {
				return nil, fmt.Errorf("Invalid DESTROY Operation: %w", err)
			}
			if !volumeExists(a.total, &v) {
				return nil, fmt.Errorf("Invalid DESTROY Operation: Persistent volumes not found")
			}
			if m.volumeInUseLocked(a, &v) {
				return nil, fmt.Errorf("Invalid DESTROY Operation: Persistent volumes in use")
			}
			remove = append(remove, v)
			add = append(add, plainDisk(v))
		}
	default:
		return nil, fmt.Errorf("unsupported operation %s", op.GetType())
	}
	if !containsAll(avail, remove) {
		return nil, fmt.Errorf("Invalid %s Operation: %s is not available in %s", op.GetType(), sumResources(remove...).String(), avail.String())
	}
	a.total = sumResources(append(minus(a.total, remove...), add...)...)
	return sumResources(append(minus(avail, remove...), add...)...), nil
}

// validateVolume checks the DiskInfo of a persistent volume.
func validateVolume(v *mesos.Resource) error {
	if err := v.Validate(); err != nil {
		return err
	}
	if v.Disk == nil {
		return fmt.Errorf("Resource %s does not have DiskInfo", v.String())
	}
	if v.Disk.Persistence == nil {
		return fmt.Errorf("'persistence' is not set in DiskInfo")
	}
	if v.Disk.Volume == nil {
		return fmt.Errorf("Expecting 'volume' to be set for persistent volume")
	}
	if v.Disk.Volume.HostPath != nil {
		return fmt.Errorf("Expecting 'host_path' to be unset for persistent volume")
	}
	if v.Disk.Volume.GetMode() == mesos.RO {
		return fmt.Errorf("Read-only persistent volume not supported")
	}
	if err := validateID(v.Disk.Persistence.ID); err != nil {
		return fmt.Errorf("Invalid persistence ID for persistent volume: %w", err)
	}
	cp := v.Disk.Volume.ContainerPath
	if cp == "" || filepath.IsAbs(cp) || strings.Contains(cp, "/") || cp == "." || cp == ".." {
		return fmt.Errorf("Volume 'container_path' must be a relative, non-nested path: '%s'", cp)
	}
	return nil
}

// plainDisk is the reserved disk a volume is made of.
func plainDisk(v mesos.Resource) mesos.Resource {
	d := *proto.Clone(&v).(*mesos.Resource)
	d.Disk = nil
	d.Shared = nil
	return d
}

// volumeExists reports whether total holds a volume with v's persistence id
// and role.
func volumeExists(total mesos.Resources, v *mesos.Resource) bool {
	for i := range total {
		r := &total[i]
		if r.IsPersistentVolume() && r.Disk.Persistence.ID == v.Disk.Persistence.ID && reservationRole(r) == reservationRole(v) {
			return true
		}
	}
	return false
}

// volumeInUseLocked reports whether a live task on the agent uses volume v.
func (m *master) volumeInUseLocked(a *agentEntry, v *mesos.Resource) bool {
	for _, ts := range a.tasks {
		for _, t := range ts {
			if t.released {
				continue
			}
			for i := range t.resources {
				r := &t.resources[i]
				if r.IsPersistentVolume() && r.Disk.Persistence.ID == v.Disk.Persistence.ID && reservationRole(r) == reservationRole(v) {
					return true
				}
			}
		}
	}
	return false
}

// checkpointedOf keeps the resources an agent checkpoints: dynamic
// reservations and persistent volumes.
func checkpointedOf(total mesos.Resources) mesos.Resources {
	var out mesos.Resources
	for i := range total {
		r := &total[i]
		if r.IsDynamicallyReserved() || r.IsPersistentVolume() {
			out = append(out, *proto.Clone(r).(*mesos.Resource))
		}
	}
	return out
}

// volumeDirName is the directory of a volume below <work>/volumes/roles:
// '/' in the role becomes ' ', as in Mesos.
func volumeDirName(role, id string) string {
	return filepath.Join(strings.ReplaceAll(role, "/", " "), id)
}
