package scheduler

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/internal/testharness"
)

// The one knob: ArangoDB's numberOfServers on a coordinator moves the
// scheduler's targets, and the scheduler's scale API moves numberOfServers.
func TestNumberOfServersKnobBothWays(t *testing.T) {
	d := deploy(t, deployOptions{MesosAgents: 4})
	body := map[string]int{"numberOfCoordinators": 3}
	if code, err := d.coordinatorJSON(http.MethodPut, "/_admin/cluster/numberOfServers", body, nil); err != nil || code != http.StatusOK {
		t.Fatalf("PUT numberOfServers: %d %v", code, err)
	}
	d.waitCounts(2*time.Minute, 3, 3)
	if st := d.state(); st.Targets.Coordinators != 3 {
		t.Fatalf("targets %+v after numberOfServers 3", st.Targets)
	}
	if code, err := d.api(http.MethodPut, "/v1/scale", map[string]int{"coordinators": 2}, nil); err != nil || code != http.StatusAccepted {
		t.Fatalf("scale: %d %v", code, err)
	}
	testharness.Eventually(t, time.Minute, func() error {
		n, err := d.numberOfServers()
		if err != nil {
			return err
		}
		if n.NumberOfCoordinators != 2 || n.NumberOfDBServers != 3 {
			return fmt.Errorf("numberOfServers %+v, want 2 coordinators and 3 DBServers", n)
		}
		return nil
	})
	d.waitCounts(2*time.Minute, 3, 2)

	// DBServers through the knob: 3 → 4 (the new one gets shards), then
	// back to 3 (Supervision's shrinkCluster cleans one out; the scheduler
	// removes it and releases its volume and reservation). No document is
	// lost.
	col := d.collection("knob", 6)
	keys := d.writeDocs(col, "k", 100)
	if code, err := d.coordinatorJSON(http.MethodPut, "/_admin/cluster/numberOfServers", map[string]int{"numberOfDBServers": 4}, nil); err != nil || code != http.StatusOK {
		t.Fatalf("PUT numberOfServers dbservers 4: %d %v", code, err)
	}
	d.waitCounts(2*time.Minute, 4, 2)
	if st := d.state(); st.Targets.DBServers != 4 {
		t.Fatalf("targets %+v after numberOfDBServers 4", st.Targets)
	}
	testharness.Eventually(t, 2*time.Minute, func() error {
		counts, err := d.shardCounts("knob")
		if err != nil {
			return err
		}
		if len(counts) != 4 {
			return fmt.Errorf("shard copies on %d DBServers, want all 4: %v", len(counts), counts)
		}
		return d.shardsInSync("knob", 2)
	})
	before := d.state()
	if code, err := d.coordinatorJSON(http.MethodPut, "/_admin/cluster/numberOfServers", map[string]int{"numberOfDBServers": 3}, nil); err != nil || code != http.StatusOK {
		t.Fatalf("PUT numberOfServers dbservers 3: %d %v", code, err)
	}
	d.waitCounts(3*time.Minute, 3, 2)
	after := d.state()
	if after.Targets.DBServers != 3 {
		t.Errorf("targets %+v after numberOfDBServers 3", after.Targets)
	}
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
		if err := d.shardsInSync("knob", 2); err != nil {
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

func TestRestartAndReplaceAMember(t *testing.T) {
	d := deploy(t, deployOptions{MesosAgents: 4, Args: []string{"--replace-timeout", "1m"}})
	col := d.collection("lifecycle", 4)
	keys := d.writeDocs(col, "k", 100)

	// Restart: the same host, id, port and volume; a new task.
	before := d.member("dbserver-1")
	if code, err := d.api(http.MethodPost, "/v1/members/dbserver-1/restart", nil, nil); err != nil || code/100 != 2 {
		t.Fatalf("restart: %d %v", code, err)
	}
	testharness.Eventually(t, 2*time.Minute, func() error {
		m := d.member("dbserver-1")
		if m.TaskID == before.TaskID || m.TaskState != "TASK_RUNNING" || m.Healthy == nil || !*m.Healthy {
			return fmt.Errorf("dbserver-1: %s %s", m.TaskID, m.TaskState)
		}
		return nil
	})
	after := d.member("dbserver-1")
	if after.ServerID != before.ServerID || after.AgentID != before.AgentID || after.Port != before.Port || after.Volume != before.Volume {
		t.Errorf("restart moved the member: before %+v\nafter %+v", before, after)
	}

	// Replace: a new id on another host with a fresh volume; the old id
	// leaves the cluster and the data is copied back to full replication.
	old := d.member("dbserver-2")
	if code, err := d.api(http.MethodPost, "/v1/members/dbserver-2/replace", nil, nil); err != nil || code/100 != 2 {
		t.Fatalf("replace: %d %v", code, err)
	}
	d.waitCounts(3*time.Minute, 3, 2)
	var repl MemberView
	for _, m := range d.state().Members {
		if m.Role == "dbserver" && m.ServerID != before.ServerID && m.Name != "dbserver-3" {
			repl = m
		}
	}
	if repl.ServerID == old.ServerID || repl.Volume == old.Volume || repl.Host == old.Host {
		var evs []Event
		d.api(http.MethodGet, "/v1/events", nil, &evs)
		for _, e := range evs {
			t.Logf("event %s %s %s", e.Kind, e.Member, e.Message)
		}
		t.Errorf("replacement %+v looks like the old member %+v", repl, old)
	}
	testharness.Eventually(t, 2*time.Minute, func() error {
		health, err := d.clusterHealth()
		if err != nil {
			return err
		}
		if _, ok := health[old.ServerID]; ok {
			return fmt.Errorf("the replaced %s is still in the cluster", old.ServerID)
		}
		return d.shardsInSync("lifecycle", 2)
	})
	d.checkDocs(col, keys)
	testharness.Eventually(t, time.Minute, func() error {
		for _, v := range d.volumesInMesos() {
			if v == old.Volume {
				return fmt.Errorf("the replaced member's volume %s is still on its agent", v)
			}
		}
		for _, id := range d.reservationsInMesos() {
			if id == old.ServerID {
				return fmt.Errorf("the replaced member's reservation (%s) is still on its agent", id)
			}
		}
		return nil
	})

	// Replace a coordinator and an agent of the Agency (one at a time): new
	// ids, the old ones leave the cluster and the Agency's pool; the
	// Agency keeps three GOOD agents and the data stays readable.
	for _, name := range []string{"coordinator-1", "agent-3"} {
		old := d.member(name)
		if code, err := d.api(http.MethodPost, "/v1/members/"+name+"/replace", nil, nil); err != nil || code/100 != 2 {
			t.Fatalf("replace %s: %d %v", name, code, err)
		}
		testharness.Eventually(t, 3*time.Minute, func() error {
			m := d.member(name)
			if m.ServerID == old.ServerID {
				return fmt.Errorf("%s not replaced yet", name)
			}
			if err := allServing(d.state()); err != nil {
				return err
			}
			health, err := d.clusterHealth()
			if err != nil {
				return err
			}
			if _, ok := health[old.ServerID]; ok {
				return fmt.Errorf("the replaced %s (%s) is still in the cluster: %+v", name, old.ServerID, health[old.ServerID])
			}
			agents := 0
			for id, h := range health {
				if h.Role == "Agent" {
					agents++
					if h.Status != "GOOD" {
						return fmt.Errorf("agent %s is %s", id, h.Status)
					}
				}
			}
			if agents != 3 {
				return fmt.Errorf("%d agents in the Agency's pool", agents)
			}
			if _, ok := health[m.ServerID]; !ok {
				return fmt.Errorf("the replacement %s (%s) is not in the cluster's health", name, m.ServerID)
			}
			return nil
		})
		d.waitCounts(2*time.Minute, 3, 2)
	}
	d.checkDocs(col, keys)
	testharness.Eventually(t, time.Minute, func() error {
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

func TestUninstallLeavesNothing(t *testing.T) {
	d := deploy(t, deployOptions{})
	d.writeDocs(d.collection("gone", 2), "k", 10)
	if code, err := d.api(http.MethodPost, "/v1/uninstall", nil, nil); err != nil || code/100 != 2 {
		t.Fatalf("uninstall: %d %v", code, err)
	}
	// A scale request during the uninstall is refused.
	if code, _ := d.api(http.MethodPost, "/v1/scale/coordinators/up", nil, nil); code != http.StatusConflict && d.sched.Running() {
		t.Errorf("scale during an uninstall: HTTP %d, want 409", code)
	}
	// The scheduler reports done (and stays up to say so, until Marathon
	// or DC/OS deletes its app).
	testharness.Eventually(t, 3*time.Minute, func() error {
		var st UninstallStatus
		if _, err := d.api(http.MethodGet, "/v1/uninstall", nil, &st); err != nil {
			return err
		}
		if !st.Done {
			return fmt.Errorf("uninstall: %+v", st)
		}
		return nil
	})
	if st := d.mc.State(); !st.Empty() {
		t.Errorf("mesoslocal still holds frameworks, reservations or volumes: %+v", st.Agents)
	}
	d.sched.Stop(30 * time.Second)
	if err := d.sched.ExitError(); err != nil {
		t.Errorf("the scheduler exited with %v when stopped after the uninstall", err)
	}
	store, err := OpenBuntStore(filepath.Join(d.dir, "state"), "e2e")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if st, err := store.Load(context.Background()); st != nil || err != nil {
		t.Errorf("state left in the store: %v %v", st != nil, err)
	}
	if fi, err := os.Stat(filepath.Join(d.dir, "state", "e2e.db")); err == nil && fi.Size() > 4096 {
		t.Errorf("the state file still holds %d bytes of old versions", fi.Size())
	}
}

func TestUnauthorizedE2E(t *testing.T) {
	d := deploy(t, deployOptions{})
	for _, c := range []struct {
		method, path string
		auth         func(*http.Request)
	}{
		{http.MethodGet, "/v1/state", nil},
		{http.MethodGet, "/v1/state", func(r *http.Request) { r.Header.Set("Authorization", "Bearer wrong") }},
		{http.MethodPut, "/v1/scale", func(r *http.Request) { r.SetBasicAuth("admin", "wrong") }},
		{http.MethodPost, "/v1/uninstall", nil},
		{http.MethodGet, "/v1/events", nil},
	} {
		var body struct {
			Error string `json:"error"`
			Code  int    `json:"code"`
		}
		code, err := testharness.JSONRequest(c.method, d.url+c.path, map[string]int{"coordinators": 5}, &body, c.auth)
		if err != nil || code != http.StatusUnauthorized || body.Code != 401 || body.Error == "" {
			t.Errorf("%s %s: HTTP %d %+v %v, want 401 with a JSON error", c.method, c.path, code, body, err)
		}
	}
	for _, path := range []string{"/v1/health", "/metrics"} {
		resp, err := http.Get(d.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s without auth: HTTP %d", path, resp.StatusCode)
		}
	}
	if st := d.state(); st.Targets.Coordinators != 2 || st.Uninstalling {
		t.Errorf("an unauthorized request changed the state: %+v", st.Targets)
	}
}

// An uninstall right after a scale-up, while the new members are being
// reserved and launched, still leaves nothing behind.
func TestUninstallDuringAScaleUp(t *testing.T) {
	d := deploy(t, deployOptions{MesosAgents: 4})
	if code, err := d.api(http.MethodPut, "/v1/scale", map[string]int{"dbservers": 4, "coordinators": 3}, nil); err != nil || code != http.StatusAccepted {
		t.Fatalf("scale up: %d %v", code, err)
	}
	// Wait until a new member is placed (its reservation may be in flight).
	testharness.Eventually(t, time.Minute, func() error {
		for _, m := range d.state().Members {
			if m.Name == "dbserver-4" && m.TaskID != "" {
				return nil
			}
		}
		return fmt.Errorf("dbserver-4 not launched yet")
	})
	if code, err := d.api(http.MethodPost, "/v1/uninstall", nil, nil); err != nil || code/100 != 2 {
		t.Fatalf("uninstall: %d %v", code, err)
	}
	testharness.Eventually(t, 3*time.Minute, func() error {
		var st UninstallStatus
		if _, err := d.api(http.MethodGet, "/v1/uninstall", nil, &st); err != nil {
			return err
		}
		if !st.Done {
			return fmt.Errorf("uninstall: %+v", st)
		}
		return nil
	})
	testharness.Eventually(t, 30*time.Second, func() error {
		if st := d.mc.State(); !st.Empty() {
			return fmt.Errorf("mesoslocal still holds frameworks, reservations or volumes: %+v", st.Agents)
		}
		return nil
	})
	d.sched.Stop(30 * time.Second)
	if err := d.sched.ExitError(); err != nil {
		t.Errorf("the scheduler exited with %v when stopped after the uninstall", err)
	}
}
