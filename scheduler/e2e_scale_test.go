package scheduler

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arangodb/go-driver/v2/arangodb"
	"github.com/arangodb/go-driver/v2/arangodb/shared"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/arangomesos/arangomesos/internal/testharness"
)

// writer inserts documents until stopped and remembers every key whose
// insert was acknowledged. Errors (a coordinator going away, a failover)
// are allowed; losing an acknowledged document is not. It writes at most
// one document every writerPace, so that it is a steady load and not one
// that starves the cluster's processes of the test machine's two cores.
type writer struct {
	mu    sync.Mutex
	acked []string
	errs  int
	stop  chan struct{}
	done  chan struct{}
}

func (d *deployment) startWriter(col string) *writer {
	w := &writer{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		var c arangodb.Collection
		failures := 0
		pace := time.NewTicker(writerPace)
		defer pace.Stop()
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			case <-pace.C:
			}
			if c == nil || failures > 2 {
				// Follow the running coordinators as they change.
				var eps Endpoints
				if _, err := d.api(http.MethodGet, "/v1/endpoints", nil, &eps); err != nil || len(eps.Coordinators) == 0 {
					failures++
					continue
				}
				db, err := testharness.DriverClient(eps.Coordinators, "root", d.rootPassword).GetDatabase(context.Background(), "_system", nil)
				if err == nil {
					c, err = db.GetCollection(context.Background(), col, nil)
				}
				if err != nil {
					c = nil
					failures++
					continue
				}
				failures = 0
			}
			key := fmt.Sprintf("w%d", i)
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			_, err := c.CreateDocument(ctx, map[string]any{"_key": key, "i": i})
			cancel()
			w.mu.Lock()
			if err == nil || shared.IsConflict(err) {
				w.acked = append(w.acked, key)
			} else {
				w.errs++
				failures++
			}
			w.mu.Unlock()
		}
	}()
	d.t.Cleanup(w.halt)
	return w
}

// writerPace is the writer's interval between inserts (at most 200/s).
const writerPace = 5 * time.Millisecond

// halt stops the writer.
func (w *writer) halt() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

func (w *writer) keys() ([]string, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.acked...), w.errs
}

// waitCounts waits until the state has exactly the given members per role
// running, nothing retired is left and the health is 200.
func (d *deployment) waitCounts(timeout time.Duration, dbservers, coordinators int) {
	d.t.Helper()
	testharness.Eventually(d.t, timeout, func() error {
		st := d.state()
		n := map[string]int{}
		for _, m := range st.Members {
			if m.TaskState != "TASK_RUNNING" {
				return fmt.Errorf("%s is %s %s", m.Name, m.TaskState, m.Waiting)
			}
			n[m.Role]++
		}
		if n["dbserver"] != dbservers || n["coordinator"] != coordinators {
			return fmt.Errorf("running %v, want %d DBServers and %d coordinators", n, dbservers, coordinators)
		}
		if len(st.Retired) > 0 {
			return fmt.Errorf("%d retired members still being cleaned up (%s: %s)", len(st.Retired), st.Retired[0].Name, st.Retired[0].Message)
		}
		if st.Health.Code != http.StatusOK {
			return fmt.Errorf("health %s: %s", st.Health.Status, st.Health.Reason)
		}
		return nil
	})
}

// shardCounts returns, per DBServer, how many shard copies of collection it
// holds in the Plan.
func (d *deployment) shardCounts(collection string) (map[string]int, error) {
	var dist struct {
		Results map[string]struct {
			Plan map[string]struct {
				Leader    string   `json:"leader"`
				Followers []string `json:"followers"`
			} `json:"Plan"`
		} `json:"results"`
	}
	if _, err := d.coordinatorJSON(http.MethodGet, "/_admin/cluster/shardDistribution", nil, &dist); err != nil {
		return nil, err
	}
	counts := map[string]int{}
	for _, p := range dist.Results[collection].Plan {
		counts[p.Leader]++
		for _, f := range p.Followers {
			counts[f]++
		}
	}
	return counts, nil
}

// volumesInMesos returns the persistence ids of every volume on the Mesos
// agents, and how many agents hold reservations of any kind.
func (d *deployment) volumesInMesos() []string {
	var ids []string
	for _, a := range d.mc.State().Agents {
		for _, v := range a.Volumes {
			ids = append(ids, v.PersistenceID)
		}
	}
	sort.Strings(ids)
	return ids
}

// reservationsInMesos returns the server ids (from our reservation labels)
// that hold a dynamic reservation on some Mesos agent.
func (d *deployment) reservationsInMesos() []string {
	seen := map[string]bool{}
	for _, a := range d.mc.State().Agents {
		for i := range a.Reserved {
			r := &a.Reserved[i]
			var labels []*mesos.Labels
			if r.Reservation != nil {
				labels = append(labels, r.Reservation.Labels)
			}
			for j := range r.Reservations {
				labels = append(labels, r.Reservations[j].Labels)
			}
			id := "(unlabelled)"
			for _, ls := range labels {
				if ls == nil {
					continue
				}
				for _, l := range ls.Labels {
					if l.Key == labelServer && l.Value != nil {
						id = *l.Value
					}
				}
			}
			seen[id] = true
		}
	}
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// memberReservations returns the server ids of the members with a
// reservation (agents and DBServers).
func memberReservations(st StateView) []string {
	var ids []string
	for _, m := range st.Members {
		if m.Volume != "" {
			ids = append(ids, m.ServerID)
		}
	}
	sort.Strings(ids)
	return ids
}

// memberNames lists the coordinators' and DBServers' names, sorted.
func memberNames(st StateView) string {
	var names []string
	for _, m := range st.Members {
		if m.Role != "agent" {
			names = append(names, m.Name)
		}
	}
	sort.Strings(names)
	return strings.Join(names, " ")
}

func memberVolumes(st StateView) []string {
	var ids []string
	for _, m := range st.Members {
		if m.Volume != "" {
			ids = append(ids, m.Volume)
		}
	}
	sort.Strings(ids)
	return ids
}

func TestScaleUnderAWriter(t *testing.T) {
	d := deploy(t, deployOptions{MesosAgents: 5, Args: []string{"--replace-timeout", "1m"}})
	d.collection("scaled", 10)
	w := d.startWriter("scaled")
	testharness.Eventually(t, time.Minute, func() error {
		if keys, _ := w.keys(); len(keys) < 50 {
			return fmt.Errorf("%d documents written", len(keys))
		}
		return nil
	})

	// Up: 3 → 5 DBServers, 2 → 4 coordinators; the new DBServers get
	// shards (rebalance on scale-up).
	if code, err := d.api(http.MethodPut, "/v1/scale", map[string]int{"dbservers": 5, "coordinators": 4}, nil); err != nil || code != http.StatusAccepted {
		t.Fatalf("scale up: %d %v", code, err)
	}
	d.waitCounts(3*time.Minute, 5, 4)
	// No churn: the members added are exactly the ones asked for (a
	// member retired and added again would have a higher index).
	if names := memberNames(d.state()); names != "coordinator-1 coordinator-2 coordinator-3 coordinator-4 dbserver-1 dbserver-2 dbserver-3 dbserver-4 dbserver-5" {
		t.Errorf("coordinators and DBServers after the scale-up: %s", names)
	}
	testharness.Eventually(t, 2*time.Minute, func() error {
		counts, err := d.shardCounts("scaled")
		if err != nil {
			return err
		}
		if len(counts) != 5 {
			return fmt.Errorf("shard copies on %d DBServers, want all 5: %v", len(counts), counts)
		}
		return d.shardsInSync("scaled", 2)
	})

	// Down: 5 → 3 DBServers (cleaned out first), 4 → 1 coordinator.
	before := d.state()
	if code, err := d.api(http.MethodPut, "/v1/scale", map[string]int{"dbservers": 3, "coordinators": 1}, nil); err != nil || code != http.StatusAccepted {
		t.Fatalf("scale down: %d %v", code, err)
	}
	d.waitCounts(4*time.Minute, 3, 1)
	w.halt()
	keys, errs := w.keys()
	t.Logf("the writer had %d documents acknowledged and %d errors while scaling", len(keys), errs)

	after := d.state()
	remaining := map[string]bool{}
	for _, m := range after.Members {
		remaining[m.ServerID] = true
	}
	var removed []string
	for _, m := range before.Members {
		if !remaining[m.ServerID] {
			removed = append(removed, m.ServerID)
		}
	}
	if len(removed) != 5 {
		t.Errorf("removed %v, want 2 DBServers and 3 coordinators", removed)
	}
	d.checkDocs(d.collection("scaled", 10), keys)
	if err := d.shardsInSync("scaled", 2); err != nil {
		t.Error(err)
	}
	counts, err := d.shardCounts("scaled")
	if err != nil {
		t.Fatal(err)
	}
	// 10 shards × 2 copies on 3 DBServers: balanced means 6 or 7 each;
	// allow one more either way.
	for id, n := range counts {
		if !remaining[id] {
			t.Errorf("removed server %s still holds %d shard copies", id, n)
		}
		if n < 5 || n > 8 {
			t.Errorf("unbalanced: %v", counts)
			break
		}
	}
	// Removed servers are gone from the cluster, and the clean-out's
	// record is reset.
	testharness.Eventually(t, time.Minute, func() error {
		health, err := d.clusterHealth()
		if err != nil {
			return err
		}
		for _, id := range removed {
			if _, ok := health[id]; ok {
				return fmt.Errorf("%s is still in the cluster's health", id)
			}
		}
		n, err := d.numberOfServers()
		if err != nil {
			return err
		}
		if len(n.CleanedServers) > 0 || n.NumberOfDBServers != 3 || n.NumberOfCoordinators != 1 {
			return fmt.Errorf("numberOfServers %+v, want 3 and 1 with no CleanedServers", n)
		}
		return nil
	})
	// The removed DBServers' volumes and reservations are gone from Mesos.
	testharness.Eventually(t, time.Minute, func() error {
		st := d.state()
		if got, want := d.volumesInMesos(), memberVolumes(st); strings.Join(got, ",") != strings.Join(want, ",") {
			return fmt.Errorf("volumes in Mesos %v, the members' %v", got, want)
		}
		if got, want := d.reservationsInMesos(), memberReservations(st); strings.Join(got, ",") != strings.Join(want, ",") {
			return fmt.Errorf("reservations in Mesos for %v, the members' %v", got, want)
		}
		return nil
	})
}

// numberOfServers is GET /_admin/cluster/numberOfServers on a coordinator.
type numberOfServers struct {
	NumberOfDBServers    int      `json:"numberOfDBServers"`
	NumberOfCoordinators int      `json:"numberOfCoordinators"`
	CleanedServers       []string `json:"cleanedServers"`
}

func (d *deployment) numberOfServers() (numberOfServers, error) {
	var n numberOfServers
	code, err := d.coordinatorJSON(http.MethodGet, "/_admin/cluster/numberOfServers", nil, &n)
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("numberOfServers: HTTP %d", code)
	}
	return n, err
}

// The Agency grows 3 → 5 and shrinks back through Raft membership changes,
// one agent at a time, while a writer keeps going: no acknowledged write
// is lost and the cluster keeps serving.
func TestAgencyScalesThreeToFiveAndBack(t *testing.T) {
	d := deploy(t, deployOptions{MesosAgents: 5})
	d.collection("agency", 4)
	w := d.startWriter("agency")
	waitAgents := func(n int) {
		t.Helper()
		testharness.Eventually(t, 3*time.Minute, func() error {
			st := d.state()
			agents := 0
			for _, m := range st.Members {
				if m.Role != "agent" {
					continue
				}
				agents++
				if m.TaskState != "TASK_RUNNING" || m.Health != "GOOD" {
					return fmt.Errorf("%s: %s %s %s", m.Name, m.TaskState, m.Health, m.Waiting)
				}
			}
			if agents != n || len(st.Retired) > 0 || st.Health.Code != http.StatusOK {
				return fmt.Errorf("%d agents (want %d), %d retired, health %s: %s", agents, n, len(st.Retired), st.Health.Status, st.Health.Reason)
			}
			return nil
		})
	}
	if code, err := d.api(http.MethodPut, "/v1/scale", map[string]int{"agents": 5}, nil); err != nil || code != http.StatusAccepted {
		t.Fatalf("agents 5: %d %v", code, err)
	}
	waitAgents(5)
	if code, err := d.api(http.MethodPut, "/v1/scale", map[string]int{"agents": 3}, nil); err != nil || code != http.StatusAccepted {
		t.Fatalf("agents 3: %d %v", code, err)
	}
	waitAgents(3)
	w.halt()
	keys, errs := w.keys()
	t.Logf("%d documents acknowledged, %d errors while the Agency changed size", len(keys), errs)
	d.checkDocs(d.collection("agency", 4), keys)
}

// A DBServer scale-down through POST /v1/scale/dbservers/down survives a
// scheduler crash in the middle of it: the restarted scheduler finishes
// the clean-out (the server leaves the cluster, CleanedServers is reset,
// its volume and reservation are released) and no document is lost.
func TestScaleDownSurvivesASchedulerRestart(t *testing.T) {
	d := deploy(t, deployOptions{MesosAgents: 4, Args: []string{"--dbservers", "4"}})
	col := d.collection("crash", 8)
	keys := d.writeDocs(col, "k", 200)
	before := d.state()
	if code, err := d.api(http.MethodPost, "/v1/scale/dbservers/down", nil, nil); err != nil || code/100 != 2 {
		t.Fatalf("scale down: %d %v", code, err)
	}
	// Another DBServer change while the clean-out runs is refused, with
	// nothing changed.
	var refusal struct {
		Error string `json:"error"`
		Code  int    `json:"code"`
	}
	if code, err := d.api(http.MethodPost, "/v1/scale/dbservers/up", nil, &refusal); err != nil || code != http.StatusConflict || refusal.Error == "" {
		t.Errorf("scale up during the clean-out: %d %+v %v, want 409 with the reason", code, refusal, err)
	}
	if st := d.state(); st.Targets.DBServers != 3 {
		t.Errorf("targets %+v after the refused scale-up, want 3 DBServers", st.Targets)
	}
	// Kill the scheduler once Supervision has cleaned a server out (it is
	// in CleanedServers) or the scheduler has retired it.
	testharness.Eventually(t, 2*time.Minute, func() error {
		if len(d.state().Retired) > 0 {
			return nil
		}
		n, err := d.numberOfServers()
		if err != nil {
			return err
		}
		if len(n.CleanedServers) == 0 {
			return fmt.Errorf("no server cleaned out yet: %+v", n)
		}
		return nil
	})
	n, _ := d.numberOfServers()
	t.Logf("killing the scheduler: CleanedServers %v, %d retired", n.CleanedServers, len(d.state().Retired))
	d.sched.Kill()
	d.sched.Restart()
	testharness.Eventually(t, time.Minute, func() error {
		_, err := d.api(http.MethodGet, "/v1/state", nil, nil)
		return err
	})
	d.waitCounts(3*time.Minute, 3, 2)
	after := d.state()
	remaining := map[string]bool{}
	for _, m := range after.Members {
		remaining[m.ServerID] = true
	}
	var removed []string
	for _, m := range before.Members {
		if !remaining[m.ServerID] {
			removed = append(removed, m.ServerID)
		}
	}
	if len(removed) != 1 {
		t.Fatalf("removed %v, want one DBServer", removed)
	}
	d.checkDocs(col, keys)
	testharness.Eventually(t, time.Minute, func() error {
		if err := d.shardsInSync("crash", 2); err != nil {
			return err
		}
		health, err := d.clusterHealth()
		if err != nil {
			return err
		}
		if _, ok := health[removed[0]]; ok {
			return fmt.Errorf("%s is still in the cluster's health", removed[0])
		}
		n, err := d.numberOfServers()
		if err != nil {
			return err
		}
		if len(n.CleanedServers) > 0 || n.NumberOfDBServers != 3 {
			return fmt.Errorf("numberOfServers %+v, want 3 DBServers and no CleanedServers", n)
		}
		st := d.state()
		if got, want := d.reservationsInMesos(), memberReservations(st); strings.Join(got, ",") != strings.Join(want, ",") {
			return fmt.Errorf("reservations in Mesos for %v, the members' %v", got, want)
		}
		if got, want := d.volumesInMesos(), memberVolumes(st); strings.Join(got, ",") != strings.Join(want, ",") {
			return fmt.Errorf("volumes in Mesos %v, the members' %v", got, want)
		}
		return nil
	})
}
