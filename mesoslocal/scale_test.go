package mesoslocal

import (
	"fmt"
	"testing"
	"time"

	"github.com/gogo/protobuf/proto"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// launchFleet launches one task per offer (one per agent), acknowledges
// every update, and returns when all n tasks are RUNNING and acknowledged.
func launchFleet(tb testing.TB, s *sched, offers []mesos.Offer, round int, ei func(agent string) *mesos.ExecutorInfo, action spec) {
	tb.Helper()
	m := s.mark()
	want := map[string]bool{}
	for i, o := range offers {
		tid := fmt.Sprintf("r%d-t%d", round, i)
		want[tid] = true
		s.use(o.ID.Value)
		s.mustCall(&scheduler.Call{Type: scheduler.Call_ACCEPT, Accept: &scheduler.Call_Accept{OfferIDs: []mesos.OfferID{o.ID},
			Operations: []mesos.Offer_Operation{opLaunch(taskInfo(tid, o, ei(o.AgentID.Value), action,
				scalar("cpus", 0.1), scalar("mem", 16)))}, Filters: &mesos.Filters{RefuseSeconds: proto.Float64(0)}}})
	}
	running := 0
	from := m
	for running < len(want) {
		ev := s.waitFrom(from, 60*time.Second, func(e *scheduler.Event) bool { return e.Type == scheduler.Event_UPDATE })
		// Find its index to continue after it.
		evs := s.eventsSince(from)
		for i, e := range evs {
			if e == ev {
				from += i + 1
				break
			}
		}
		st := ev.Update.Status
		if !want[st.TaskID.Value] {
			continue
		}
		if len(st.UUID) > 0 {
			s.ack(st)
		}
		switch st.GetState() {
		case mesos.TASK_RUNNING:
			running++
		case mesos.TASK_STARTING, mesos.TASK_FINISHED:
		default:
			tb.Fatalf("task %s: %s %s", st.TaskID.Value, st.GetState(), st.GetMessage())
		}
	}
}

func scaleConfig(n int) Config {
	cfg := Config{AgentCount: n, AgentResources: "cpus:1;mem:256;disk:100", Timers: fastTimers()}
	cfg.Timers.AgentPingTimeout = time.Second
	cfg.Timers.StatusUpdateRetryMin = 5 * time.Second
	return cfg
}

// A scale test: 100 agents, 100 tasks (real executor processes), all
// RUNNING and acknowledged.
func TestScale100Agents(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 100 executor processes")
	}
	c := startCluster(t, scaleConfig(100))
	s := subscribe(t, c, frameworkInfo("fleet"), mediaProtobuf)
	offers := collectOffersFrom(t, s, 100)
	path := testExecutorPath(t)
	launchFleet(t, s, offers, 0, func(string) *mesos.ExecutorInfo { return execInfoAt(path, "fleet") }, spec{})
	st, err := c.WaitUntil(testCtx(t, 30*time.Second), func(st State) bool {
		n := 0
		for _, tk := range st.Frameworks[0].Tasks {
			if tk.State == mesos.TASK_RUNNING && tk.StatusUpdateState == "TASK_RUNNING" {
				n++
			}
		}
		return n == 100
	})
	if err != nil {
		t.Fatal(err)
	}
	agents := map[string]bool{}
	for _, tk := range st.Frameworks[0].Tasks {
		agents[tk.AgentID] = true
	}
	if len(agents) != 100 {
		t.Fatalf("tasks on %d agents", len(agents))
	}
}

func execInfoAt(path, id string) *mesos.ExecutorInfo {
	return &mesos.ExecutorInfo{Type: mesos.ExecutorInfo_CUSTOM, ExecutorID: mesos.ExecutorID{Value: id},
		Command:   &mesos.CommandInfo{Value: proto.String(path), Shell: proto.Bool(false)},
		Resources: []mesos.Resource{scalar("cpus", 0.01), scalar("mem", 16)}}
}

// BenchmarkOffers measures offers per second with 100 agents: a framework
// declines every offer with a zero filter, so each decline makes the
// master re-offer that agent at once.
func BenchmarkOffers(b *testing.B) {
	c := startCluster(b, scaleConfig(100))
	s := subscribe(b, c, frameworkInfo("bench-offers"), mediaProtobuf)
	offers := collectOffersFrom(b, s, 100)
	b.ResetTimer()
	start := time.Now()
	total := 0
	for i := 0; i < b.N; i++ {
		ids := make([]mesos.OfferID, 0, len(offers))
		for _, o := range offers {
			ids = append(ids, o.ID)
			s.use(o.ID.Value)
		}
		m := s.mark()
		for _, id := range ids {
			s.mustCall(&scheduler.Call{Type: scheduler.Call_DECLINE, Decline: &scheduler.Call_Decline{OfferIDs: []mesos.OfferID{id},
				Filters: &mesos.Filters{RefuseSeconds: proto.Float64(0)}}})
		}
		seen := map[string]mesos.Offer{}
		s.waitFrom(m, 60*time.Second, func(e *scheduler.Event) bool {
			if e.Type == scheduler.Event_OFFERS {
				for _, o := range e.Offers.Offers {
					if !s.isUsed(o.ID.Value) {
						seen[o.AgentID.Value] = o
					}
				}
			}
			return len(seen) >= 100
		})
		offers = offers[:0]
		for _, o := range seen {
			offers = append(offers, o)
		}
		total += len(offers)
	}
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "offers/s")
}

// BenchmarkTaskLaunch measures task launches per second with 100 agents:
// from ACCEPT to TASK_RUNNING acknowledged, 100 tasks per iteration (the
// first iteration starts 100 executor processes, later ones reuse them).
func BenchmarkTaskLaunch(b *testing.B) {
	c := startCluster(b, scaleConfig(100))
	s := subscribe(b, c, frameworkInfo("bench-launch"), mediaProtobuf)
	path := testExecutorPath(b)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		offers := collectOffersFrom(b, s, 100)
		b.StartTimer()
		launchFleet(b, s, offers, i, func(string) *mesos.ExecutorInfo { return execInfoAt(path, "bench") }, spec{Action: "finish"})
	}
	b.ReportMetric(float64(100*b.N)/time.Since(start).Seconds(), "launches/s")
}

// collectOffersFrom gathers one unused offer per agent with room for a
// task.
func collectOffersFrom(tb testing.TB, s *sched, n int) []mesos.Offer {
	tb.Helper()
	seen := map[string]mesos.Offer{}
	s.waitFrom(0, 60*time.Second, func(e *scheduler.Event) bool {
		if e.Type == scheduler.Event_OFFERS {
			for _, o := range e.Offers.Offers {
				if !s.isUsed(o.ID.Value) && scalarOf(toInternalAll(o.Resources), "cpus") >= 0.2 {
					seen[o.AgentID.Value] = o
				}
			}
		}
		return len(seen) >= n
	})
	var out []mesos.Offer
	for _, o := range seen {
		out = append(out, o)
	}
	return out
}
