package cluster

import "github.com/google/uuid"

// SystemDatabase is the database every cluster has.
const SystemDatabase = "_system"

// InitialLayout is the /arango tree the Agency writes once, when its first
// leader finds the store empty: Plan, Current, Target, Supervision and Sync
// with their empty objects and version counters, the cluster id, and the
// _system database in Plan.
func InitialLayout() map[string]any {
	return map[string]any{
		"Cluster":  uuid.NewString(),
		"InitDone": true,
		"Agency":   map[string]any{"Definition": 1},
		"Plan": map[string]any{
			"Version":      1,
			"Lock":         "UNLOCKED",
			"DBServers":    map[string]any{},
			"Coordinators": map[string]any{},
			"Databases": map[string]any{
				SystemDatabase: map[string]any{"name": SystemDatabase, "id": "1", "isSystem": true},
			},
			"Collections": map[string]any{SystemDatabase: map[string]any{}},
			"Views":       map[string]any{SystemDatabase: map[string]any{}},
		},
		"Current": map[string]any{
			"Version":           1,
			"Lock":              "UNLOCKED",
			"DBServers":         map[string]any{},
			"Coordinators":      map[string]any{},
			"Databases":         map[string]any{},
			"Collections":       map[string]any{},
			"ServersRegistered": map[string]any{"Version": 1},
			"ServersKnown":      map[string]any{},
		},
		"Target": map[string]any{
			"Version":              1,
			"Lock":                 "UNLOCKED",
			"NumberOfDBServers":    nil,
			"NumberOfCoordinators": nil,
			"CleanedServers":       []any{},
			"ToBeCleanedServers":   []any{},
			"FailedServers":        map[string]any{},
			"RemovedServers":       map[string]any{},
			"MapUniqueToShortID":   map[string]any{},
			"LatestDBServerId":     0,
			"LatestCoordinatorId":  0,
			"ToDo":                 map[string]any{},
			"Pending":              map[string]any{},
			"Finished":             map[string]any{},
			"Failed":               map[string]any{},
		},
		"Supervision": map[string]any{
			"Health":    map[string]any{},
			"DBServers": map[string]any{},
			"Shards":    map[string]any{},
			"State":     map[string]any{"Mode": "Normal"},
		},
		"Sync": map[string]any{
			"LatestID":            10000,
			"HeartbeatIntervalMs": 1000,
			"UserVersion":         1,
			"Problems":            map[string]any{},
		},
	}
}
