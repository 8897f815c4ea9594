package mesoslocal

import (
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// T-7: the explicit reconciliation matrix, (task known / unknown) ×
// (agent registered / unreachable / gone / unknown / not given) × (PA /
// not PA), and implicit reconciliation.
func TestReconciliationMatrix(t *testing.T) {
	for _, pa := range []bool{true, false} {
		name := "plain"
		var caps []mesos.FrameworkInfo_Capability_Type
		if pa {
			name, caps = "partition-aware", []mesos.FrameworkInfo_Capability_Type{mesos.FrameworkInfo_Capability_PARTITION_AWARE}
		}
		t.Run(name, func(t *testing.T) {
			c := startCluster(t, Config{AgentCount: 3, Timers: detectionTimers()})
			s := subscribe(t, c, frameworkInfo("reconcile", caps...), mediaJSON)
			offers := s.waitOffers(0)
			byAgent := map[string]mesos.Offer{}
			for _, o := range offers {
				byAgent[o.AgentID.Value] = o
			}
			agents := c.Agents()
			registered, partitioned, gone := agents[0], agents[1], agents[2]
			m := s.mark()
			for tid, a := range map[string]*Agent{"known-reg": registered, "known-unr": partitioned, "known-gone": gone} {
				o := byAgent[a.ID()]
				launch(s, o, taskInfo(tid, o, execInfo(t, "e-"+tid), spec{}))
				s.waitUpdate(m, tid, mesos.TASK_STARTING, true)
				s.waitUpdate(m, tid, mesos.TASK_RUNNING, true)
			}
			goneID, unrID := gone.ID(), partitioned.ID()
			if err := partitioned.Partition(); err != nil {
				t.Fatal(err)
			}
			if _, err := c.WaitUntil(testCtx(t, 10*time.Second), func(st State) bool { return len(st.UnreachableAgents) == 1 }); err != nil {
				t.Fatal(err)
			}
			m = s.mark()
			if err := gone.MarkGone(); err != nil {
				t.Fatal(err)
			}
			goneState := mesos.TASK_LOST
			if pa {
				goneState = mesos.TASK_GONE_BY_OPERATOR
			}
			s.waitFrom(m, 10*time.Second, isUpdateOf("known-gone", goneState))
			pick := func(paState mesos.TaskState) mesos.TaskState {
				if pa {
					return paState
				}
				return mesos.TASK_LOST
			}
			cases := []struct {
				tid, agent string
				want       mesos.TaskState
			}{
				{"known-reg", registered.ID(), mesos.TASK_RUNNING},
				{"known-unr", unrID, pick(mesos.TASK_UNREACHABLE)},
				{"unknown-reg", registered.ID(), pick(mesos.TASK_GONE)},
				{"unknown-unr", unrID, pick(mesos.TASK_UNREACHABLE)},
				{"unknown-gone", goneID, pick(mesos.TASK_GONE_BY_OPERATOR)},
				{"unknown-agent", "no-such-agent", pick(mesos.TASK_UNKNOWN)},
				{"unknown-none", "", pick(mesos.TASK_UNKNOWN)},
			}
			var tasks []scheduler.Call_Reconcile_Task
			for _, tc := range cases {
				rt := scheduler.Call_Reconcile_Task{TaskID: mesos.TaskID{Value: tc.tid}}
				if tc.agent != "" {
					rt.AgentID = &mesos.AgentID{Value: tc.agent}
				}
				tasks = append(tasks, rt)
			}
			m = s.mark()
			s.mustCall(&scheduler.Call{Type: scheduler.Call_RECONCILE, Reconcile: &scheduler.Call_Reconcile{Tasks: tasks}})
			for _, tc := range cases {
				ev := s.waitFrom(m, 10*time.Second, func(e *scheduler.Event) bool {
					return e.Type == scheduler.Event_UPDATE && e.Update.Status.TaskID.Value == tc.tid
				})
				st := ev.Update.Status
				if st.GetState() != tc.want || st.GetReason() != mesos.REASON_RECONCILIATION || st.GetSource() != mesos.SOURCE_MASTER || len(st.UUID) != 0 {
					t.Errorf("%s: got %s %s %s uuid=%d, want %s", tc.tid, st.GetState(), st.GetReason(), st.GetSource(), len(st.UUID), tc.want)
				}
				if tc.want == mesos.TASK_UNREACHABLE && st.UnreachableTime == nil {
					t.Errorf("%s: no unreachable_time", tc.tid)
				}
			}
			// Implicit: only the tasks map (known-reg), not unreachable ones.
			m = s.mark()
			s.mustCall(&scheduler.Call{Type: scheduler.Call_RECONCILE, Reconcile: &scheduler.Call_Reconcile{}})
			s.waitFrom(m, 10*time.Second, isUpdateOf("known-reg", mesos.TASK_RUNNING))
			// A second explicit reconcile is the marker that the implicit answers are all in.
			s.mustCall(&scheduler.Call{Type: scheduler.Call_RECONCILE, Reconcile: &scheduler.Call_Reconcile{
				Tasks: []scheduler.Call_Reconcile_Task{{TaskID: mesos.TaskID{Value: "marker"}}}}})
			s.waitFrom(m, 10*time.Second, func(e *scheduler.Event) bool {
				return e.Type == scheduler.Event_UPDATE && e.Update.Status.TaskID.Value == "marker"
			})
			for _, e := range s.eventsSince(m) {
				if e.Type == scheduler.Event_UPDATE {
					if id := e.Update.Status.TaskID.Value; id != "known-reg" && id != "marker" {
						t.Errorf("implicit reconciliation answered for %s", id)
					}
				}
			}
			// A gone agent can never come back.
			if err := partitioned.Heal(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
