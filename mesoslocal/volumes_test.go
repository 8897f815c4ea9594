package mesoslocal

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gogo/protobuf/proto"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// reserved builds a dynamically reserved scalar in the pre-refinement
// format a framework without RESERVATION_REFINEMENT uses.
func reserved(name string, v float64, role, principal string) mesos.Resource {
	r := scalar(name, v)
	r.Role = proto.String(role)
	r.Reservation = &mesos.Resource_ReservationInfo{Principal: proto.String(principal)}
	return r
}

func volume(size float64, role, principal, id, path string) mesos.Resource {
	r := reserved("disk", size, role, principal)
	r.Disk = &mesos.Resource_DiskInfo{Persistence: &mesos.Resource_DiskInfo_Persistence{ID: id, Principal: proto.String(principal)},
		Volume: &mesos.Volume{ContainerPath: path, Mode: mesos.RW.Enum()}}
	return r
}

// waitOfferWith returns an outstanding offer (not used by this test's
// calls, not rescinded) that satisfies pred, waiting for one if needed.
func waitOfferWith(s *sched, _ int, pred func(mesos.Offer) bool) mesos.Offer {
	s.t.Helper()
	var found mesos.Offer
	s.waitFrom(0, 15*time.Second, func(e *scheduler.Event) bool {
		if e.Type != scheduler.Event_OFFERS {
			return false
		}
		for _, o := range e.Offers.Offers {
			if !s.isUsed(o.ID.Value) && pred(o) {
				found = o
				return true
			}
		}
		return false
	})
	return found
}

func hasVolumeID(o mesos.Offer, id string) bool {
	for _, r := range o.Resources {
		if r.GetDisk().GetPersistence().GetID() == id {
			return true
		}
	}
	return false
}

func hasRole(o mesos.Offer, role string) bool {
	for _, r := range o.Resources {
		if r.GetRole() == role {
			return true
		}
	}
	return false
}

func accept(s *sched, o mesos.Offer, ops ...mesos.Offer_Operation) {
	s.t.Helper()
	s.use(o.ID.Value)
	s.mustCall(&scheduler.Call{Type: scheduler.Call_ACCEPT, Accept: &scheduler.Call_Accept{OfferIDs: []mesos.OfferID{o.ID},
		Operations: ops, Filters: &mesos.Filters{RefuseSeconds: proto.Float64(0.05)}}})
}

// acceptWhen waits until the framework's outstanding offers on one agent
// hold need, then accepts all of them with ops.
func acceptWhen(s *sched, c *Cluster, need []mesos.Resource, ops ...mesos.Offer_Operation) {
	s.t.Helper()
	var ids []mesos.OfferID
	_, err := c.WaitUntil(testCtx(s.t, 15*time.Second), func(st State) bool {
		fw, ok := st.Framework(s.fid)
		if !ok {
			return false
		}
		byAgent := map[string]mesos.Resources{}
		idsBy := map[string][]mesos.OfferID{}
		for _, o := range fw.Offers {
			byAgent[o.AgentID] = append(byAgent[o.AgentID], o.Resources...)
			idsBy[o.AgentID] = append(idsBy[o.AgentID], mesos.OfferID{Value: o.ID})
		}
		for a, rs := range byAgent {
			if containsAll(rs, toInternalAll(need)) {
				ids = idsBy[a]
				return true
			}
		}
		return false
	})
	if err != nil {
		s.t.Fatalf("no offers with %v: %v", need, err)
	}
	for _, id := range ids {
		s.use(id.Value)
	}
	s.mustCall(&scheduler.Call{Type: scheduler.Call_ACCEPT, Accept: &scheduler.Call_Accept{OfferIDs: ids,
		Operations: ops, Filters: &mesos.Filters{RefuseSeconds: proto.Float64(0.05)}}})
}

func opLaunch(ts ...mesos.TaskInfo) mesos.Offer_Operation {
	return mesos.Offer_Operation{Type: mesos.Offer_Operation_LAUNCH, Launch: &mesos.Offer_Operation_Launch{TaskInfos: ts}}
}

// T-6: RESERVE + CREATE + LAUNCH, data through the volume symlink across
// task relaunch and agent restart, DESTROY in use fails, DESTROY then
// UNRESERVE gives the resources back to "*".
func TestReservationsAndVolumes(t *testing.T) {
	cfg := Config{AgentCount: 1, Timers: fastTimers()}
	cfg.Timers.ExecutorReregistrationTimeout = 3 * time.Second
	cfg.Timers.AgentReregisterTimeout = time.Minute
	c := startCluster(t, cfg)
	agent := c.Agents()[0]
	fi := frameworkInfo("db")
	fi.Role, fi.Principal = proto.String("eng"), proto.String("p")
	s := subscribe(t, c, fi, mediaJSON)
	o := s.waitOffers(0)[0]
	vol := volume(256, "eng", "p", "vol1", "data")
	res := []mesos.Resource{reserved("cpus", 1, "eng", "p"), reserved("mem", 128, "eng", "p"), reserved("disk", 256, "eng", "p")}
	taskRes := []mesos.Resource{reserved("cpus", 0.5, "eng", "p"), reserved("mem", 64, "eng", "p"), vol}
	m := s.mark()
	accept(s, o,
		mesos.Offer_Operation{Type: mesos.Offer_Operation_RESERVE, Reserve: &mesos.Offer_Operation_Reserve{Resources: res}},
		mesos.Offer_Operation{Type: mesos.Offer_Operation_CREATE, Create: &mesos.Offer_Operation_Create{Volumes: []mesos.Resource{vol}}},
		opLaunch(taskInfo("t1", o, execInfo(t, "e1"), spec{Action: "write", Path: "data/hello.txt", Content: "world"}, taskRes...)))
	s.waitUpdate(m, "t1", mesos.TASK_STARTING, true)
	s.waitUpdate(m, "t1", mesos.TASK_RUNNING, true)
	if st := s.waitUpdate(m, "t1", mesos.TASK_FINISHED, true); st.GetMessage() != "wrote data/hello.txt" {
		t.Fatalf("t1: %v", st)
	}
	onDisk := filepath.Join(agent.WorkDir(), "volumes", "roles", "eng", "vol1", "hello.txt")
	if b, err := os.ReadFile(onDisk); err != nil || string(b) != "world" {
		t.Fatalf("volume file: %q %v", b, err)
	}
	st := c.State()
	if len(st.Agents[0].Volumes) != 1 || st.Agents[0].Volumes[0].PersistenceID != "vol1" || len(st.Agents[0].Reserved) == 0 {
		t.Fatalf("agent state %+v", st.Agents[0])
	}
	// A framework of another role never sees the reserved resources.
	other := subscribe(t, c, frameworkInfo("other"), mediaJSON)
	// The data survives an agent restart.
	if err := agent.Restart(); err != nil {
		t.Fatal(err)
	}
	if _, err := agent.WaitRegistered(testCtx(t, 20*time.Second)); err != nil {
		t.Fatal(err)
	}
	m = s.mark()
	at := mesos.Offer{AgentID: mesos.AgentID{Value: agent.ID()}}
	e2 := execInfo(t, "e2")
	acceptWhen(s, c, append(append([]mesos.Resource{}, taskRes...), e2.Resources...),
		opLaunch(taskInfo("t2", at, e2, spec{Action: "read", Path: "data/hello.txt"}, taskRes...)))
	s.waitUpdate(m, "t2", mesos.TASK_STARTING, true)
	s.waitUpdate(m, "t2", mesos.TASK_RUNNING, true)
	if st := s.waitUpdate(m, "t2", mesos.TASK_FINISHED, true); st.GetMessage() != "world" {
		t.Fatalf("t2 read %q", st.GetMessage())
	}
	// DESTROY while a task uses the volume is dropped.
	m = s.mark()
	acceptWhen(s, c, taskRes, opLaunch(taskInfo("t3", at, e2, spec{}, taskRes...)))
	s.waitUpdate(m, "t3", mesos.TASK_STARTING, true)
	s.waitUpdate(m, "t3", mesos.TASK_RUNNING, true)
	m = s.mark()
	o = waitOfferWith(s, m, func(o mesos.Offer) bool { return hasRole(o, "eng") })
	accept(s, o, mesos.Offer_Operation{Type: mesos.Offer_Operation_DESTROY, Destroy: &mesos.Offer_Operation_Destroy{Volumes: []mesos.Resource{vol}}})
	if _, err := c.WaitUntil(testCtx(t, 5*time.Second), func(st State) bool { return len(st.Frameworks[0].Offers) > 0 }); err != nil {
		t.Fatal(err)
	}
	if st := c.State(); len(st.Agents[0].Volumes) != 1 {
		t.Fatalf("volume destroyed while in use")
	}
	m = s.mark()
	s.mustCall(killCall("t3"))
	s.waitUpdate(m, "t3", mesos.TASK_KILLED, true)
	acceptWhen(s, c, []mesos.Resource{vol},
		mesos.Offer_Operation{Type: mesos.Offer_Operation_DESTROY, Destroy: &mesos.Offer_Operation_Destroy{Volumes: []mesos.Resource{vol}}})
	if _, err := c.WaitUntil(testCtx(t, 10*time.Second), func(st State) bool {
		return len(st.Agents[0].Volumes) == 0 && len(st.Agents[0].Reserved) > 0
	}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "volume directory removed", func() bool {
		_, err := os.Stat(filepath.Dir(onDisk))
		return os.IsNotExist(err)
	})
	acceptWhen(s, c, res, mesos.Offer_Operation{Type: mesos.Offer_Operation_UNRESERVE, Unreserve: &mesos.Offer_Operation_Unreserve{Resources: res}})
	if _, err := c.WaitUntil(testCtx(t, 10*time.Second), func(st State) bool { return len(st.Agents[0].Reserved) == 0 }); err != nil {
		t.Fatal(err)
	}
	for _, e := range other.eventsSince(0) {
		if e.Type == scheduler.Event_OFFERS {
			for _, o := range e.Offers.Offers {
				if hasRole(o, "eng") {
					t.Fatalf("role * framework got reserved resources: %v", o)
				}
			}
		}
	}
	// The resources come back unreserved, with role "*".
	other.mustCall(&scheduler.Call{Type: scheduler.Call_REVIVE})
	s.mustCall(&scheduler.Call{Type: scheduler.Call_SUPPRESS})
	waitOfferWith(other, other.mark(), func(o mesos.Offer) bool {
		cpus := 0.0
		for _, r := range o.Resources {
			if r.Name == "cpus" && r.GetRole() == "*" {
				cpus += r.GetScalar().GetValue()
			}
		}
		return cpus >= 1
	})
}

// Reservation rules: a principal mismatch and a reservation for another
// role are dropped; the post-refinement format of a MULTI_ROLE framework
// carries allocation_info.
func TestReservationRules(t *testing.T) {
	c := startCluster(t, Config{AgentCount: 1})
	fi := frameworkInfo("multi", mesos.FrameworkInfo_Capability_MULTI_ROLE, mesos.FrameworkInfo_Capability_RESERVATION_REFINEMENT)
	fi.Roles, fi.Principal = []string{"eng"}, proto.String("p")
	s := subscribe(t, c, fi, mediaProtobuf)
	o := s.waitOffers(0)[0]
	if o.AllocationInfo.GetRole() != "eng" || o.Resources[0].AllocationInfo.GetRole() != "eng" || o.Resources[0].Role != nil {
		t.Fatalf("MULTI_ROLE offer: %v", o)
	}
	post := func(name string, v float64, role, principal string) mesos.Resource {
		r := scalar(name, v)
		r.Reservations = []mesos.Resource_ReservationInfo{{Type: mesos.Resource_ReservationInfo_DYNAMIC.Enum(), Role: proto.String(role), Principal: proto.String(principal)}}
		return r
	}
	for _, bad := range []mesos.Resource{post("cpus", 1, "eng", "intruder"), post("cpus", 1, "other", "p"), post("cpus", 100, "eng", "p")} {
		m := s.mark()
		accept(s, o, mesos.Offer_Operation{Type: mesos.Offer_Operation_RESERVE, Reserve: &mesos.Offer_Operation_Reserve{Resources: []mesos.Resource{bad}}})
		o = waitOfferWith(s, m, func(mesos.Offer) bool { return true })
		if st := c.State(); len(st.Agents[0].Reserved) != 0 {
			t.Fatalf("bad reservation %v applied", bad)
		}
	}
	m := s.mark()
	accept(s, o, mesos.Offer_Operation{Type: mesos.Offer_Operation_RESERVE, Reserve: &mesos.Offer_Operation_Reserve{Resources: []mesos.Resource{post("cpus", 1, "eng", "p")}}})
	o = waitOfferWith(s, m, func(o mesos.Offer) bool {
		for _, r := range o.Resources {
			if len(r.Reservations) == 1 && r.Reservations[0].GetRole() == "eng" && r.AllocationInfo.GetRole() == "eng" {
				return true
			}
		}
		return false
	})
}

// S-7.4: after a reboot the agent has a new id, and its reservations and
// volumes (with their data) are offered under it.
func TestRebootKeepsReservationsAndVolumes(t *testing.T) {
	c := startCluster(t, Config{AgentCount: 1})
	agent := c.Agents()[0]
	fi := frameworkInfo("db", mesos.FrameworkInfo_Capability_PARTITION_AWARE)
	fi.Role, fi.Principal = proto.String("eng"), proto.String("p")
	s := subscribe(t, c, fi, mediaJSON)
	o := s.waitOffers(0)[0]
	vol := volume(64, "eng", "p", "keep", "data")
	res := []mesos.Resource{reserved("cpus", 0.5, "eng", "p"), reserved("mem", 64, "eng", "p"), reserved("disk", 64, "eng", "p")}
	taskRes := []mesos.Resource{reserved("cpus", 0.5, "eng", "p"), reserved("mem", 64, "eng", "p"), vol}
	m := s.mark()
	accept(s, o,
		mesos.Offer_Operation{Type: mesos.Offer_Operation_RESERVE, Reserve: &mesos.Offer_Operation_Reserve{Resources: res}},
		mesos.Offer_Operation{Type: mesos.Offer_Operation_CREATE, Create: &mesos.Offer_Operation_Create{Volumes: []mesos.Resource{vol}}},
		opLaunch(taskInfo("w", o, execInfo(t, "e1"), spec{Action: "write", Path: "data/f", Content: "kept"}, taskRes...)))
	s.waitUpdate(m, "w", mesos.TASK_STARTING, true)
	s.waitUpdate(m, "w", mesos.TASK_RUNNING, true)
	s.waitUpdate(m, "w", mesos.TASK_FINISHED, true)
	old := agent.ID()
	if err := agent.Reboot(); err != nil {
		t.Fatal(err)
	}
	id, err := agent.WaitRegistered(testCtx(t, 20*time.Second))
	if err != nil || id == old {
		t.Fatalf("id after reboot %q (was %q): %v", id, old, err)
	}
	st, err := c.WaitUntil(testCtx(t, 10*time.Second), func(st State) bool {
		for _, a := range st.Agents {
			if a.ID == id && len(a.Volumes) == 1 {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("volume not under the new id: %+v", st.Agents)
	}
	at := mesos.Offer{AgentID: mesos.AgentID{Value: id}}
	e2 := execInfo(t, "e2")
	m = s.mark()
	acceptWhen(s, c, append(append([]mesos.Resource{}, taskRes...), e2.Resources...),
		opLaunch(taskInfo("r", at, e2, spec{Action: "read", Path: "data/f"}, taskRes...)))
	s.waitUpdate(m, "r", mesos.TASK_STARTING, true)
	s.waitUpdate(m, "r", mesos.TASK_RUNNING, true)
	if got := s.waitUpdate(m, "r", mesos.TASK_FINISHED, true); got.GetMessage() != "kept" {
		t.Fatalf("read %q after reboot", got.GetMessage())
	}
}
