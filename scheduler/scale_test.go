package scheduler

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/internal/testharness"
	"github.com/arangomesos/arangomesos/node/agency/agencytest"
	"github.com/arangomesos/arangomesos/node/cluster"
)

// agencyFixture is an API fixture whose scheduler follows a real
// (in-process) Agency that holds the desired counts, as after a deployment.
type agencyFixture struct {
	*apiFixture
	client *cluster.AgencyClient
	peers  []string
}

func newAgencyFixture(t *testing.T) *agencyFixture {
	t.Helper()
	f := newAPIFixture(t)
	ag := agencytest.New(t, 1, agencytest.Options{Secret: cluster.Secret(f.s.st.Secret)})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	f.s.agency.ensure(ctx, ag.Peers())
	t.Cleanup(func() { f.s.agency.stop() })
	af := &agencyFixture{apiFixture: f, client: ag.Client(), peers: ag.Peers()}
	af.setTarget(map[string]int{cluster.TargetNumDBServers: 3, cluster.TargetNumCoordinators: 2})
	f.s.mu.Lock()
	f.s.st.TargetsInAgency = true
	f.s.mu.Unlock()
	return af
}

// setTarget writes counts to the Agency's Target directly, as a
// coordinator's PUT /_admin/cluster/numberOfServers does, and waits until
// the scheduler's watch has seen the write.
func (f *agencyFixture) setTarget(counts map[string]int) {
	f.t.Helper()
	ops := map[string]cluster.Operation{}
	for k, n := range counts {
		ops[k] = cluster.Set(n)
	}
	res, err := f.client.Write(context.Background(), cluster.Transaction{Ops: ops})
	if err != nil || !res.OK() {
		f.t.Fatalf("write Target: %v %v", res, err)
	}
	f.s.agency.mu.Lock()
	cache := f.s.agency.cache
	f.s.agency.mu.Unlock()
	if err := cache.WaitIndex(testharness.Context(f.t, 10*time.Second), res.Index()); err != nil {
		f.t.Fatal(err)
	}
}

// target reads the Agency's Target counts.
func (f *agencyFixture) target() (dbservers, coordinators int) {
	f.t.Helper()
	ctx := context.Background()
	if _, err := f.client.Get(ctx, cluster.TargetNumDBServers, &dbservers); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.client.Get(ctx, cluster.TargetNumCoordinators, &coordinators); err != nil {
		f.t.Fatal(err)
	}
	return dbservers, coordinators
}

// A scale request writes only the counts it names, against the Agency's
// Target as it is now: a coordinator's change the scheduler has not
// folded in yet is kept, not overwritten with the scheduler's older value.
func TestScaleKeepsACoordinatorsChangeItHasNotSeenYet(t *testing.T) {
	f := newAgencyFixture(t)
	// A coordinator moves numberOfCoordinators to 3; no decision round
	// has run since, so the scheduler's own targets still say 2.
	f.setTarget(map[string]int{cluster.TargetNumCoordinators: 3})
	if got := f.s.Targets().Coordinators; got != 2 {
		t.Fatalf("the scheduler's targets moved without a round: %d coordinators", got)
	}
	if code, m := f.call("PUT", "/v1/scale", `{"dbservers":4}`, true); code != 202 || m["coordinators"] != float64(3) || m["dbservers"] != float64(4) {
		t.Fatalf("PUT /v1/scale dbservers 4: %d %v", code, m)
	}
	if db, co := f.target(); db != 4 || co != 3 {
		t.Fatalf("Target after the scale: %d DBServers, %d coordinators; want 4 and 3", db, co)
	}
	// A step starts from the Agency's value too: 3 + 1.
	if code, m := f.call("POST", "/v1/scale/coordinators/up", "", true); code != 202 || m["coordinators"] != float64(4) {
		t.Fatalf("coordinators up: %d %v", code, m)
	}
	if _, co := f.target(); co != 4 {
		t.Fatalf("Target after the step: %d coordinators, want 4", co)
	}
}

// Concurrent steps are applied one after the other: two "up"s are two
// coordinators more, never one step lost.
func TestConcurrentScaleStepsAreEachApplied(t *testing.T) {
	f := newAgencyFixture(t)
	var wg sync.WaitGroup
	codes := make([]int, 4)
	for i := range codes {
		wg.Go(func() { codes[i], _ = f.call("POST", "/v1/scale/coordinators/up", "", true) })
	}
	wg.Wait()
	for i, c := range codes {
		if c != 202 {
			t.Errorf("step %d: HTTP %d", i, c)
		}
	}
	if _, co := f.target(); co != 6 {
		t.Fatalf("Target after four concurrent steps up from 2: %d coordinators, want 6", co)
	}
	if got := f.s.Targets().Coordinators; got != 6 {
		t.Fatalf("the scheduler's targets: %d coordinators, want 6", got)
	}
}

// A decision round that still sees the Agency from before the scheduler's
// own scale write does not move the targets back (they would flap, and
// GET /v1/state right after a 202 would show the old counts); a round
// that sees a newer Target, moved through a coordinator, takes it.
func TestStaleAgencyViewDoesNotUndoAScale(t *testing.T) {
	f := newAgencyFixture(t)
	ctx := context.Background()
	f.s.step(ctx)
	if got := f.s.Targets(); got.DBServers != 3 || got.Coordinators != 2 {
		t.Fatalf("targets after a round: %+v", got)
	}
	// Freeze the watch: its cache keeps the Agency as it is now.
	f.s.agency.mu.Lock()
	f.s.agency.stop()
	f.s.agency.mu.Unlock()
	if code, m := f.call("PUT", "/v1/scale", `{"dbservers":5,"coordinators":4}`, true); code != 202 {
		t.Fatalf("scale: %d %v", code, m)
	}
	f.s.step(ctx)
	if !f.s.view.Up {
		t.Fatal("the frozen view is not up; the test proves nothing")
	}
	if got := f.s.Targets(); got.DBServers != 5 || got.Coordinators != 4 {
		t.Fatalf("a round with the old view moved the targets back: %+v", got)
	}

	// Watch again; a coordinator sets 3 coordinators: the next round
	// takes it.
	f.s.agency.mu.Lock()
	f.s.agency.endpoints = nil
	f.s.agency.mu.Unlock()
	f.s.agency.ensure(ctx, f.peers)
	f.setTarget(map[string]int{cluster.TargetNumCoordinators: 3})
	testharness.Eventually(t, 10*time.Second, func() error {
		f.s.step(ctx)
		if got := f.s.Targets(); got.DBServers != 5 || got.Coordinators != 3 {
			return fmt.Errorf("targets %+v, want 5 DBServers and 3 coordinators", got)
		}
		return nil
	})
}
