package cluster

import (
	"strings"
	"sync/atomic"
	"time"
)

// The records below are the Agency's values, with ArangoDB's field names
// (reference §2.5), so an operator's queries and knowledge carry over.

// PlanDatabase is /arango/Plan/Databases/<db>.
type PlanDatabase struct {
	Name              string `json:"name"`
	ID                string `json:"id"`
	IsSystem          bool   `json:"isSystem,omitempty"`
	ReplicationFactor int    `json:"replicationFactor,omitempty"`
	WriteConcern      int    `json:"writeConcern,omitempty"`
	Sharding          string `json:"sharding,omitempty"`
	// IsBuilding is set while a coordinator creates the database.
	IsBuilding bool `json:"isBuilding,omitempty"`
}

// KeyOptions are a collection's key generator settings.
type KeyOptions struct {
	Type          string `json:"type"` // "traditional" (default), "autoincrement", "uuid", "padded"
	AllowUserKeys bool   `json:"allowUserKeys"`
	Increment     int    `json:"increment,omitempty"`
	Offset        int    `json:"offset,omitempty"`
}

// Index describes an index of a collection.
type Index struct {
	ID          string   `json:"id"`
	Type        string   `json:"type"` // "primary", "persistent" (or its aliases "hash", "skiplist"), "edge"
	Name        string   `json:"name"`
	Fields      []string `json:"fields"`
	Unique      bool     `json:"unique"`
	Sparse      bool     `json:"sparse"`
	Deduplicate bool     `json:"deduplicate,omitempty"`
	Estimates   bool     `json:"estimates,omitempty"`
	// InBackground is accepted and ignored.
	InBackground bool `json:"inBackground,omitempty"`
	// Error, ErrorNum and ErrorMessage report in Current that a DBServer
	// could not build the index (e.g. 1210 for duplicates).
	Error        bool   `json:"error,omitempty"`
	ErrorNum     int    `json:"errorNum,omitempty"`
	ErrorMessage string `json:"errorMessage,omitempty"`
}

// PlanCollection is /arango/Plan/Collections/<db>/<cid>: the desired state of
// one collection. Shards maps each shard to its planned servers; element 0
// is the leader. A leader id prefixed with "_" has been asked to resign
// (moveShard).
type PlanCollection struct {
	ID                   string              `json:"id"`
	Name                 string              `json:"name"`
	Type                 int                 `json:"type"` // 2 document, 3 edge
	Status               int                 `json:"status"`
	StatusString         string              `json:"statusString"`
	IsSystem             bool                `json:"isSystem"`
	Deleted              bool                `json:"deleted"`
	NumberOfShards       int                 `json:"numberOfShards"`
	ReplicationFactor    int                 `json:"replicationFactor"`
	WriteConcern         int                 `json:"writeConcern"`
	MinReplicationFactor int                 `json:"minReplicationFactor"`
	ShardKeys            []string            `json:"shardKeys"`
	ShardingStrategy     string              `json:"shardingStrategy"`
	DistributeShardsLike string              `json:"distributeShardsLike,omitempty"`
	WaitForSync          bool                `json:"waitForSync"`
	CacheEnabled         bool                `json:"cacheEnabled"`
	KeyOptions           KeyOptions          `json:"keyOptions"`
	Schema               any                 `json:"schema"`
	Shards               map[string][]string `json:"shards"`
	Indexes              []Index             `json:"indexes"`
	IsBuilding           bool                `json:"isBuilding,omitempty"`
	// Coordinator is the id of the coordinator that creates the collection
	// while IsBuilding.
	Coordinator string `json:"coordinator,omitempty"`

	// sorted remembers ShardNames' answer for the shards it was computed
	// from.
	sorted atomic.Pointer[[]string]
}

// ShardNames returns the collection's shards ordered by numeric id (the
// order in which documents are hashed to shards). Do not modify the
// slice.
func (c *PlanCollection) ShardNames() []string {
	if p := c.sorted.Load(); p != nil && sameShards(*p, c.Shards) {
		return *p
	}
	names := SortShards(c.Shards)
	c.sorted.Store(&names)
	return names
}

// sameShards reports whether names are exactly the shards of m.
func sameShards(names []string, m map[string][]string) bool {
	if len(names) != len(m) {
		return false
	}
	for _, n := range names {
		if _, ok := m[n]; !ok {
			return false
		}
	}
	return true
}

// CurrentShard is /arango/Current/Collections/<db>/<cid>/<shard>, written by
// the shard's leader: Servers is [leader, in-sync followers…]. Only servers
// in FailoverCandidates may be promoted when the leader fails.
type CurrentShard struct {
	Servers            []string `json:"servers"`
	FailoverCandidates []string `json:"failoverCandidates"`
	Indexes            []Index  `json:"indexes"`
	Error              bool     `json:"error"`
	ErrorNum           int      `json:"errorNum"`
	ErrorMessage       string   `json:"errorMessage"`
}

// CurrentDatabase is /arango/Current/Databases/<db>/<serverId>.
type CurrentDatabase struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Error        bool   `json:"error"`
	ErrorNum     int    `json:"errorNum"`
	ErrorMessage string `json:"errorMessage"`
}

// ServerRegistered is /arango/Current/ServersRegistered/<id>: how to reach a
// coordinator or DBServer.
type ServerRegistered struct {
	Endpoint           string `json:"endpoint"`
	AdvertisedEndpoint string `json:"advertisedEndpoint"`
	Host               string `json:"host"`
	Version            int    `json:"version"`
	VersionString      string `json:"versionString"`
	Engine             string `json:"engine"`
	Timestamp          string `json:"timestamp"`
}

// ServerState is a heartbeat, /arango/Sync/ServerStates/<id> in the transient
// store.
type ServerState struct {
	Status string `json:"status"` // "SERVING", "STARTUP", "STOPPING", …
	Time   string `json:"time"`   // RFC 3339, whole seconds, UTC
	// RebootID changes whenever the server restarts.
	RebootID uint64 `json:"rebootId,omitempty"`
}

// Health statuses.
const (
	StatusGood   = "GOOD"
	StatusBad    = "BAD"
	StatusFailed = "FAILED"
)

// HealthRecord is /arango/Supervision/Health/<id>.
type HealthRecord struct {
	ShortName          string `json:"ShortName"`
	Endpoint           string `json:"Endpoint"`
	AdvertisedEndpoint string `json:"AdvertisedEndpoint,omitempty"`
	Host               string `json:"Host"`
	SyncStatus         string `json:"SyncStatus"`
	Status             string `json:"Status"`
	Version            string `json:"Version"`
	Engine             string `json:"Engine"`
	Timestamp          string `json:"Timestamp"`
	SyncTime           string `json:"SyncTime"`
	LastAckedTime      string `json:"LastAckedTime"`
	Role               string `json:"Role,omitempty"`
}

// Job types (reference §3.4).
const (
	JobFailedServer     = "failedServer"
	JobFailedLeader     = "failedLeader"
	JobFailedFollower   = "failedFollower"
	JobAddFollower      = "addFollower"
	JobRemoveFollower   = "removeFollower"
	JobMoveShard        = "moveShard"
	JobCleanOutServer   = "cleanOutServer"
	JobResignLeadership = "resignLeadership"
)

// Job is a supervision job, living in exactly one of Target/ToDo, Pending,
// Finished or Failed under its JobID.
type Job struct {
	Type            string `json:"type"`
	JobID           string `json:"jobId"`
	Creator         string `json:"creator"`
	TimeCreated     string `json:"timeCreated"`
	TimeStarted     string `json:"timeStarted,omitempty"`
	TimeFinished    string `json:"timeFinished,omitempty"`
	Reason          string `json:"reason,omitempty"`
	Server          string `json:"server,omitempty"`
	Database        string `json:"database,omitempty"`
	Collection      string `json:"collection,omitempty"` // collection id
	Shard           string `json:"shard,omitempty"`
	FromServer      string `json:"fromServer,omitempty"`
	ToServer        string `json:"toServer,omitempty"`
	IsLeader        bool   `json:"isLeader,omitempty"`
	RemainsFollower bool   `json:"remainsFollower,omitempty"`
	TryUndo         bool   `json:"tryUndo,omitempty"`
	ParentJob       string `json:"parentJob,omitempty"`
	Abort           bool   `json:"abort,omitempty"`
	// NewFollower lists the servers an addFollower job added.
	NewFollower []string `json:"newFollower,omitempty"`
}

// TimeFormat is the Agency's timestamp format (UTC, whole seconds).
const TimeFormat = "2006-01-02T15:04:05Z"

// FormatTime formats t in the Agency's timestamp format.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// ParseTime parses an Agency timestamp (RFC 3339 is accepted too).
func ParseTime(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }

// ResigningLeader reports whether a planned leader entry asks its server to
// resign ("_PRMR-…"), and returns the server id.
func ResigningLeader(entry string) (string, bool) {
	if strings.HasPrefix(entry, "_") {
		return entry[1:], true
	}
	return entry, false
}
