package cluster

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
)

// Snapshot is a typed, read-only view of the parts of the Agency that
// coordinators and DBServers route and reconcile by: Plan, Current, the
// registered servers and their health. It is built from a Cache at one
// Raft index; never modify it.
type Snapshot struct {
	Index uint64
	// Databases are Plan/Databases by name.
	Databases map[string]PlanDatabase
	// Collections are Plan/Collections: database → collection id → record.
	Collections map[string]map[string]*PlanCollection
	// Current is Current/Collections: database → collection id → shard.
	Current map[string]map[string]map[string]CurrentShard
	// CurrentDatabases is Current/Databases: database → server → record.
	CurrentDatabases map[string]map[string]CurrentDatabase
	// Servers are Current/ServersRegistered by id.
	Servers map[string]ServerRegistered
	// DBServers and Coordinators are the ids in Plan.
	DBServers    []string
	Coordinators []string
	// Health is Supervision/Health by id.
	Health map[string]HealthRecord
	// ShortNames maps server ids to Target/MapUniqueToShortID's names.
	ShortNames map[string]string
	// Removed holds the ids in Target/RemovedServers.
	Removed map[string]bool
}

// ReadSnapshot builds a Snapshot from the cache's current state.
func ReadSnapshot(c *Cache) (*Snapshot, error) {
	s := &Snapshot{Index: c.Index()}
	var plan struct {
		Databases    map[string]PlanDatabase               `json:"Databases"`
		Collections  map[string]map[string]*PlanCollection `json:"Collections"`
		DBServers    map[string]any                        `json:"DBServers"`
		Coordinators map[string]any                        `json:"Coordinators"`
	}
	if _, err := c.Get(Plan, &plan); err != nil {
		return nil, fmt.Errorf("cluster: decode Plan: %w", err)
	}
	var cur struct {
		Collections       map[string]map[string]map[string]CurrentShard `json:"Collections"`
		Databases         map[string]map[string]CurrentDatabase         `json:"Databases"`
		ServersRegistered map[string]any                                `json:"ServersRegistered"`
	}
	if _, err := c.Get(Current, &cur); err != nil {
		return nil, fmt.Errorf("cluster: decode Current: %w", err)
	}
	s.Databases, s.Collections, s.Current, s.CurrentDatabases = plan.Databases, plan.Collections, cur.Collections, cur.Databases
	s.Servers = map[string]ServerRegistered{}
	for id := range cur.ServersRegistered {
		var r ServerRegistered
		if ok, err := c.Get(Join(CurrentServersReg, id), &r); ok && err == nil && r.Endpoint != "" {
			s.Servers[id] = r
		}
	}
	for id := range plan.DBServers {
		s.DBServers = append(s.DBServers, id)
	}
	for id := range plan.Coordinators {
		s.Coordinators = append(s.Coordinators, id)
	}
	sort.Strings(s.DBServers)
	sort.Strings(s.Coordinators)
	s.Health = map[string]HealthRecord{}
	_, _ = c.Get(SupervisionHealth, &s.Health)
	var short map[string]struct {
		ShortName string `json:"ShortName"`
	}
	_, _ = c.Get(TargetMapShortID, &short)
	s.ShortNames = map[string]string{}
	for id, r := range short {
		s.ShortNames[id] = r.ShortName
	}
	var removed map[string]any
	_, _ = c.Get(TargetRemovedServers, &removed)
	s.Removed = map[string]bool{}
	for id := range removed {
		s.Removed[id] = true
	}
	if s.Databases == nil {
		s.Databases = map[string]PlanDatabase{}
	}
	return s, nil
}

// Collection finds a collection of a database by name or by id; nil when
// there is none (or it is being built or deleted).
func (s *Snapshot) Collection(db, nameOrID string) *PlanCollection {
	for id, c := range s.Collections[db] {
		if c == nil || c.Deleted || c.IsBuilding {
			continue
		}
		if c.Name == nameOrID || id == nameOrID {
			if c.ID == "" {
				c.ID = id
			}
			return c
		}
	}
	return nil
}

// CollectionNames returns the names of a database's collections, sorted.
func (s *Snapshot) CollectionNames(db string) []string {
	var out []string
	for _, c := range s.Collections[db] {
		if c != nil && !c.Deleted && !c.IsBuilding {
			out = append(out, c.Name)
		}
	}
	sort.Strings(out)
	return out
}

// CurrentShard returns the Current entry of a shard.
func (s *Snapshot) CurrentShard(db, cid, shard string) (CurrentShard, bool) {
	cs, ok := s.Current[db][cid][shard]
	return cs, ok
}

// Endpoint returns the registered endpoint of a server ("" if unknown).
func (s *Snapshot) Endpoint(id string) string { return s.Servers[id].Endpoint }

// Healthy reports whether supervision does not consider the server FAILED
// or BAD (a server without a health record yet counts as healthy).
func (s *Snapshot) Healthy(id string) bool {
	h, ok := s.Health[id]
	return !ok || h.Status == "" || h.Status == StatusGood
}

// View keeps a Snapshot of a Cache up to date: it rebuilds it after every
// change of the Agency. Coordinators route with it; DBServers reconcile
// with it.
type View struct {
	cache *Cache
	cur   atomic.Pointer[Snapshot]

	mu      sync.Mutex
	changed chan struct{}
}

// NewView returns a view of cache; call Run to follow it.
func NewView(cache *Cache) *View {
	v := &View{cache: cache, changed: make(chan struct{})}
	v.cur.Store(&Snapshot{Databases: map[string]PlanDatabase{}})
	return v
}

// Cache returns the underlying cache.
func (v *View) Cache() *Cache { return v.cache }

// Run rebuilds the snapshot after every change until ctx ends.
func (v *View) Run(ctx context.Context) {
	select {
	case <-v.cache.Ready():
	case <-ctx.Done():
		return
	}
	for {
		ch := v.cache.Changed()
		v.Refresh()
		select {
		case <-ctx.Done():
			return
		case <-ch:
		}
	}
}

// Refresh rebuilds the snapshot now.
func (v *View) Refresh() {
	s, err := ReadSnapshot(v.cache)
	if err != nil {
		return
	}
	if old := v.cur.Load(); old != nil && old.Index > s.Index {
		return
	}
	v.cur.Store(s)
	v.mu.Lock()
	close(v.changed)
	v.changed = make(chan struct{})
	v.mu.Unlock()
}

// Snapshot returns the latest snapshot.
func (v *View) Snapshot() *Snapshot { return v.cur.Load() }

// Changed returns a channel closed when the next snapshot is built.
func (v *View) Changed() <-chan struct{} {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.changed
}

// WaitIndex waits until the snapshot reflects at least index (for example
// the index of one's own Agency write) and returns it.
func (v *View) WaitIndex(ctx context.Context, index uint64) (*Snapshot, error) {
	for {
		ch := v.Changed()
		if s := v.Snapshot(); s.Index >= index {
			return s, nil
		}
		if v.cache.Index() >= index {
			v.Refresh()
			continue
		}
		select {
		case <-ch:
		case <-v.cache.Changed():
			v.Refresh()
		case <-ctx.Done():
			return nil, fmt.Errorf("cluster: view at index %d, waiting for %d: %w", v.Snapshot().Index, index, ctx.Err())
		}
	}
}
