package supervision

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// Snapshot is the part of the Agency that supervision plans from, decoded
// into typed records. It is read from the replicated store (and, for
// heartbeats, the leader's transient store) once per round.
type Snapshot struct {
	PlanDBServers    map[string]any
	PlanCoordinators map[string]any
	// Collections: database → collection id → Plan record.
	Collections map[string]map[string]*cluster.PlanCollection
	// Current: database → collection id → shard → Current record.
	Current map[string]map[string]map[string]*cluster.CurrentShard

	Registered map[string]cluster.ServerRegistered
	ShortNames map[string]string
	// Health is the persisted Supervision/Health.
	Health map[string]cluster.HealthRecord

	ToDo, Pending, Finished, Failed map[string]*cluster.Job

	FailedServers      map[string]bool
	CleanedServers     []string
	ToBeCleanedServers []string
	// NumberOfDBServers is Target/NumberOfDBServers (nil: not set).
	NumberOfDBServers *int

	// BlockedServers and BlockedShards map to the blocking job's id.
	BlockedServers map[string]string
	BlockedShards  map[string]string

	// Maintenance is Supervision/Maintenance (non-empty: maintenance mode).
	Maintenance string
	LatestID    uint64
}

// rawArango mirrors /arango for decoding.
type rawArango struct {
	Plan struct {
		DBServers    map[string]any                                `json:"DBServers"`
		Coordinators map[string]any                                `json:"Coordinators"`
		Collections  map[string]map[string]*cluster.PlanCollection `json:"Collections"`
	} `json:"Plan"`
	Current struct {
		Collections       map[string]map[string]map[string]*cluster.CurrentShard `json:"Collections"`
		ServersRegistered map[string]json.RawMessage                             `json:"ServersRegistered"`
	} `json:"Current"`
	Target struct {
		ToDo               map[string]*cluster.Job `json:"ToDo"`
		Pending            map[string]*cluster.Job `json:"Pending"`
		Finished           map[string]*cluster.Job `json:"Finished"`
		Failed             map[string]*cluster.Job `json:"Failed"`
		FailedServers      map[string]any          `json:"FailedServers"`
		CleanedServers     []string                `json:"CleanedServers"`
		ToBeCleanedServers []string                `json:"ToBeCleanedServers"`
		NumberOfDBServers  *int                    `json:"NumberOfDBServers"`
		MapUniqueToShortID map[string]struct {
			ShortName string `json:"ShortName"`
		} `json:"MapUniqueToShortID"`
	} `json:"Target"`
	Supervision struct {
		Health      map[string]cluster.HealthRecord `json:"Health"`
		DBServers   map[string]string               `json:"DBServers"`
		Shards      map[string]string               `json:"Shards"`
		Maintenance any                             `json:"Maintenance"`
	} `json:"Supervision"`
	Sync struct {
		LatestID uint64 `json:"LatestID"`
	} `json:"Sync"`
}

// DecodeSnapshot builds a Snapshot from the replicated tree (the value of
// the root, as the Agency's read of "/" returns it).
func DecodeSnapshot(tree map[string]any) (*Snapshot, error) {
	arango, ok := tree["arango"]
	if !ok {
		return nil, fmt.Errorf("%w: no /arango in the Agency", ErrNoLayout)
	}
	b, err := json.Marshal(arango)
	if err != nil {
		return nil, fmt.Errorf("supervision: encode snapshot: %w", err)
	}
	var r rawArango
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("supervision: decode snapshot: %w", err)
	}
	s := &Snapshot{
		PlanDBServers: nonNil(r.Plan.DBServers), PlanCoordinators: nonNil(r.Plan.Coordinators),
		Collections: r.Plan.Collections, Current: r.Current.Collections,
		Registered: map[string]cluster.ServerRegistered{}, ShortNames: map[string]string{},
		Health: r.Supervision.Health, ToDo: r.Target.ToDo, Pending: r.Target.Pending,
		Finished: r.Target.Finished, Failed: r.Target.Failed, FailedServers: map[string]bool{},
		CleanedServers: r.Target.CleanedServers, ToBeCleanedServers: r.Target.ToBeCleanedServers,
		NumberOfDBServers: r.Target.NumberOfDBServers,
		BlockedServers:    r.Supervision.DBServers, BlockedShards: r.Supervision.Shards,
		LatestID: r.Sync.LatestID,
	}
	for id, raw := range r.Current.ServersRegistered {
		var reg cluster.ServerRegistered
		if json.Unmarshal(raw, &reg) == nil && id != "Version" {
			s.Registered[id] = reg
		}
	}
	for id, m := range r.Target.MapUniqueToShortID {
		s.ShortNames[id] = m.ShortName
	}
	for id := range r.Target.FailedServers {
		s.FailedServers[id] = true
	}
	if m, ok := r.Supervision.Maintenance.(string); ok {
		s.Maintenance = m
	}
	s.fillDefaults()
	return s, nil
}

func nonNil(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func (s *Snapshot) fillDefaults() {
	if s.Collections == nil {
		s.Collections = map[string]map[string]*cluster.PlanCollection{}
	}
	if s.Current == nil {
		s.Current = map[string]map[string]map[string]*cluster.CurrentShard{}
	}
	for _, m := range []*map[string]*cluster.Job{&s.ToDo, &s.Pending, &s.Finished, &s.Failed} {
		if *m == nil {
			*m = map[string]*cluster.Job{}
		}
	}
	if s.Health == nil {
		s.Health = map[string]cluster.HealthRecord{}
	}
	if s.BlockedServers == nil {
		s.BlockedServers = map[string]string{}
	}
	if s.BlockedShards == nil {
		s.BlockedShards = map[string]string{}
	}
	if s.Registered == nil {
		s.Registered = map[string]cluster.ServerRegistered{}
	}
	if s.ShortNames == nil {
		s.ShortNames = map[string]string{}
	}
	if s.FailedServers == nil {
		s.FailedServers = map[string]bool{}
	}
}

// DBServers returns the planned DBServers, sorted.
func (s *Snapshot) DBServers() []string { return sortedKeys(s.PlanDBServers) }

// Coordinators returns the planned coordinators, sorted.
func (s *Snapshot) Coordinators() []string { return sortedKeys(s.PlanCoordinators) }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ShardRef names one shard of one collection.
type ShardRef struct {
	Database   string
	Collection string // collection id
	Shard      string
}

// PlanServers returns the shard's planned servers (leader first).
func (s *Snapshot) PlanServers(r ShardRef) []string {
	c := s.Collections[r.Database][r.Collection]
	if c == nil {
		return nil
	}
	return c.Shards[r.Shard]
}

// CurrentShard returns the shard's Current record (nil when absent).
func (s *Snapshot) CurrentShard(r ShardRef) *cluster.CurrentShard {
	return s.Current[r.Database][r.Collection][r.Shard]
}

// Shards returns every planned shard of every collection in a stable order,
// skipping collections that are being built or are clones
// (distributeShardsLike), which move with their prototype.
func (s *Snapshot) Shards() []ShardRef {
	var out []ShardRef
	for _, db := range sortedKeys(s.Collections) {
		for _, cid := range sortedKeys(s.Collections[db]) {
			c := s.Collections[db][cid]
			if c == nil || c.IsBuilding || c.DistributeShardsLike != "" {
				continue
			}
			for _, sh := range c.ShardNames() {
				out = append(out, ShardRef{db, cid, sh})
			}
		}
	}
	return out
}

// Status returns a server's persisted health status ("" when unknown).
func (s *Snapshot) Status(id string) string { return s.Health[id].Status }

// Good reports whether a server is GOOD.
func (s *Snapshot) Good(id string) bool { return s.Status(id) == cluster.StatusGood }

// jobOnShard returns the id of a ToDo or Pending job of one of the kinds for
// the shard, or "".
func (s *Snapshot) jobOnShard(shard string, kinds ...string) string {
	for _, jobs := range []map[string]*cluster.Job{s.ToDo, s.Pending} {
		for id, j := range jobs {
			if j.Shard != shard {
				continue
			}
			for _, k := range kinds {
				if j.Type == k {
					return id
				}
			}
		}
	}
	return ""
}
