package executor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/recordio"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"

	"github.com/arangomesos/arangomesos/mesoslocal"
)

// testFramework is the smallest Mesos framework the executor's tests need:
// it subscribes to mesoslocal with the raw v1 scheduler API (JSON), records
// every event, acknowledges every reliable update at once, and launches
// and kills tasks on the agents the test picks. Declined offers come back
// after mesoslocal's short refusal timeout.
type testFramework struct {
	t        *testing.T
	url      string
	fid      string
	streamID string
	cancel   context.CancelFunc

	mu      sync.Mutex
	events  []*scheduler.Event
	used    map[string]bool // offers accepted or declined
	changed chan struct{}
	ended   bool
}

func startFramework(t *testing.T, mc *mesoslocal.Cluster, caps ...mesos.FrameworkInfo_Capability_Type) *testFramework {
	t.Helper()
	role, checkpoint, failover := "*", true, 600.0
	fi := mesos.FrameworkInfo{User: "root", Name: "executor-test", Role: &role, Checkpoint: &checkpoint, FailoverTimeout: &failover}
	for _, c := range caps {
		fi.Capabilities = append(fi.Capabilities, mesos.FrameworkInfo_Capability{Type: c})
	}
	body, _ := json.Marshal(&scheduler.Call{Type: scheduler.Call_SUBSCRIBE, Subscribe: &scheduler.Call_Subscribe{FrameworkInfo: &fi}})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, mc.MasterURL()+"/api/v1/scheduler", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		cancel()
		t.Fatalf("subscribe: %d %s", resp.StatusCode, b)
	}
	f := &testFramework{t: t, url: mc.MasterURL() + "/api/v1/scheduler", streamID: resp.Header.Get("Mesos-Stream-Id"),
		cancel: cancel, changed: make(chan struct{}), used: map[string]bool{}}
	go f.read(resp.Body)
	t.Cleanup(func() {
		f.call(&scheduler.Call{Type: scheduler.Call_TEARDOWN})
		cancel()
		resp.Body.Close()
	})
	ev := f.wait(10*time.Second, "SUBSCRIBED", func(e *scheduler.Event) bool { return e.Type == scheduler.Event_SUBSCRIBED })
	f.fid = ev.Subscribed.FrameworkID.Value
	return f
}

func (f *testFramework) read(body io.Reader) {
	r := recordio.NewReader(body)
	for {
		b, err := r.ReadFrame()
		var ev scheduler.Event
		if err == nil {
			err = json.Unmarshal(b, &ev)
		}
		f.mu.Lock()
		if err != nil {
			f.ended = true
		} else {
			f.events = append(f.events, &ev)
		}
		close(f.changed)
		f.changed = make(chan struct{})
		f.mu.Unlock()
		if err != nil {
			return
		}
		if ev.Type == scheduler.Event_UPDATE && len(ev.Update.Status.UUID) > 0 {
			st := ev.Update.Status
			f.call(&scheduler.Call{Type: scheduler.Call_ACKNOWLEDGE, Acknowledge: &scheduler.Call_Acknowledge{
				AgentID: *st.AgentID, TaskID: st.TaskID, UUID: st.UUID}})
		}
	}
}

// call sends a call; it returns the HTTP status.
func (f *testFramework) call(c *scheduler.Call) int {
	if c.FrameworkID == nil && f.fid != "" {
		c.FrameworkID = &mesos.FrameworkID{Value: f.fid}
	}
	body, _ := json.Marshal(c)
	req, _ := http.NewRequest(http.MethodPost, f.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Mesos-Stream-Id", f.streamID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func (f *testFramework) mustCall(c *scheduler.Call) {
	f.t.Helper()
	if code := f.call(c); code != http.StatusAccepted {
		f.t.Fatalf("%s answered %d", c.Type, code)
	}
}

// wait returns the first event (from the start) that pred accepts.
func (f *testFramework) wait(timeout time.Duration, what string, pred func(*scheduler.Event) bool) *scheduler.Event {
	f.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		f.mu.Lock()
		for _, e := range f.events {
			if pred(e) {
				f.mu.Unlock()
				return e
			}
		}
		ended, changed := f.ended, f.changed
		f.mu.Unlock()
		if ended {
			f.t.Fatalf("the subscription ended while waiting for %s", what)
		}
		select {
		case <-changed:
		case <-deadline.C:
			f.t.Fatalf("no %s within %v; updates so far:\n%s", what, timeout, f.describeUpdates())
		}
	}
}

// offer waits for an unused offer of the agent with id agentID and
// declines every other unused offer (they come back after the refusal
// timeout).
func (f *testFramework) offer(agentID string) mesos.Offer {
	f.t.Helper()
	var found mesos.Offer
	// wait calls its predicate with f.mu held.
	f.wait(20*time.Second, "an offer from "+agentID, func(e *scheduler.Event) bool {
		if e.Type != scheduler.Event_OFFERS {
			return false
		}
		for _, o := range e.Offers.Offers {
			// An offer of only an exited executor's cpus and mem (the
			// rest of the agent is in another offer) cannot take a task.
			if o.AgentID.Value == agentID && !f.used[o.ID.Value] && hasPorts(o) {
				found = o
				return true
			}
		}
		return false
	})
	f.mu.Lock()
	f.used[found.ID.Value] = true
	var decline []mesos.OfferID
	for _, e := range f.events {
		if e.Type == scheduler.Event_OFFERS {
			for _, o := range e.Offers.Offers {
				if !f.used[o.ID.Value] {
					f.used[o.ID.Value] = true
					decline = append(decline, o.ID)
				}
			}
		}
	}
	f.mu.Unlock()
	if len(decline) > 0 {
		f.call(&scheduler.Call{Type: scheduler.Call_DECLINE, Decline: &scheduler.Call_Decline{OfferIDs: decline}})
	}
	return found
}

// launch accepts offer with the tasks.
func (f *testFramework) launch(o mesos.Offer, tasks ...mesos.TaskInfo) {
	f.t.Helper()
	f.mustCall(&scheduler.Call{Type: scheduler.Call_ACCEPT, Accept: &scheduler.Call_Accept{
		OfferIDs: []mesos.OfferID{o.ID},
		Operations: []mesos.Offer_Operation{{Type: mesos.Offer_Operation_LAUNCH,
			Launch: &mesos.Offer_Operation_Launch{TaskInfos: tasks}}}}})
}

func (f *testFramework) kill(task mesos.TaskInfo, grace time.Duration) {
	f.t.Helper()
	k := &scheduler.Call_Kill{TaskID: task.TaskID, AgentID: &task.AgentID}
	if grace > 0 {
		k.KillPolicy = &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: int64(grace)}}
	}
	f.mustCall(&scheduler.Call{Type: scheduler.Call_KILL, Kill: k})
}

// updates returns the task's updates so far, in order.
func (f *testFramework) updates(taskID string) []mesos.TaskStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []mesos.TaskStatus
	for _, e := range f.events {
		if e.Type == scheduler.Event_UPDATE && e.Update.Status.TaskID.Value == taskID {
			out = append(out, e.Update.Status)
		}
	}
	return out
}

// waitState waits for an update of the task to state and returns it.
func (f *testFramework) waitState(taskID string, state mesos.TaskState, timeout time.Duration) mesos.TaskStatus {
	f.t.Helper()
	e := f.wait(timeout, fmt.Sprintf("%s of %s", state, taskID), func(e *scheduler.Event) bool {
		return e.Type == scheduler.Event_UPDATE && e.Update.Status.TaskID.Value == taskID && e.Update.Status.GetState() == state
	})
	return e.Update.Status
}

// waitHealth waits for an update of the task with healthy == h.
func (f *testFramework) waitHealth(taskID string, h bool, timeout time.Duration) mesos.TaskStatus {
	f.t.Helper()
	e := f.wait(timeout, fmt.Sprintf("healthy=%v of %s", h, taskID), func(e *scheduler.Event) bool {
		st := e.Update.GetStatus()
		return e.Type == scheduler.Event_UPDATE && st.TaskID.Value == taskID && st.Healthy != nil && *st.Healthy == h
	})
	return e.Update.Status
}

func (f *testFramework) describeUpdates() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b strings.Builder
	for _, e := range f.events {
		if e.Type == scheduler.Event_UPDATE {
			st := e.Update.Status
			fmt.Fprintf(&b, "  %s %s %s healthy=%v %q\n", st.TaskID.Value, st.GetState(), st.GetReason(), st.Healthy, st.GetMessage())
		}
		if e.Type == scheduler.Event_FAILURE {
			fmt.Fprintf(&b, "  FAILURE %v\n", e.Failure)
		}
	}
	return b.String()
}

func hasPorts(o mesos.Offer) bool {
	for _, r := range o.Resources {
		if r.Name == "ports" && r.Ranges != nil && len(r.Ranges.Range) > 0 {
			return true
		}
	}
	return false
}
