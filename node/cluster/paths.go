package cluster

import "strings"

// Agency keys under /arango, with ArangoDB's names (reference §2.5), so that an
// operator's knowledge of ArangoDB's Agency carries over.
const (
	Root = "/arango"

	ClusterIDKey = Root + "/Cluster"
	InitDoneKey  = Root + "/InitDone"

	Plan                  = Root + "/Plan"
	PlanVersion           = Plan + "/Version"
	PlanDBServers         = Plan + "/DBServers"
	PlanCoordinators      = Plan + "/Coordinators"
	PlanDatabases         = Plan + "/Databases"
	PlanCollections       = Plan + "/Collections"
	Current               = Root + "/Current"
	CurrentVersion        = Current + "/Version"
	CurrentDBServers      = Current + "/DBServers"
	CurrentCoordinators   = Current + "/Coordinators"
	CurrentDatabases      = Current + "/Databases"
	CurrentCollections    = Current + "/Collections"
	CurrentServersReg     = Current + "/ServersRegistered"
	CurrentServersKnown   = Current + "/ServersKnown"
	Target                = Root + "/Target"
	TargetNumDBServers    = Target + "/NumberOfDBServers"
	TargetNumCoordinators = Target + "/NumberOfCoordinators"
	TargetCleanedServers  = Target + "/CleanedServers"
	TargetToBeCleaned     = Target + "/ToBeCleanedServers"
	TargetFailedServers   = Target + "/FailedServers"
	TargetRemovedServers  = Target + "/RemovedServers"
	TargetMapShortID      = Target + "/MapUniqueToShortID"
	TargetLatestDBServer  = Target + "/LatestDBServerId"
	TargetLatestCoord     = Target + "/LatestCoordinatorId"
	TargetToDo            = Target + "/ToDo"
	TargetPending         = Target + "/Pending"
	TargetFinished        = Target + "/Finished"
	TargetFailed          = Target + "/Failed"
	Supervision           = Root + "/Supervision"
	SupervisionHealth     = Supervision + "/Health"
	SupervisionDBServers  = Supervision + "/DBServers"
	SupervisionShards     = Supervision + "/Shards"
	SupervisionState      = Supervision + "/State"
	SupervisionMaint      = Supervision + "/Maintenance"
	Sync                  = Root + "/Sync"
	SyncLatestID          = Sync + "/LatestID"
	SyncServerStates      = Sync + "/ServerStates"
	SyncHeartbeatInterval = Sync + "/HeartbeatIntervalMs"
	SyncUserVersion       = Sync + "/UserVersion"
)

// Join builds an Agency key from a base key and further components.
func Join(base string, parts ...string) string {
	return base + "/" + strings.Join(parts, "/")
}

// Server id prefixes; Supervision picks the handling of a server by them.
const (
	PrefixAgent       = "AGNT-"
	PrefixCoordinator = "CRDN-"
	PrefixDBServer    = "PRMR-"
)

// Role is the role of a database node.
type Role string

// The roles, spelled as arangod's --cluster.my-role.
const (
	RoleAgent       Role = "AGENT"
	RoleCoordinator Role = "COORDINATOR"
	RoleDBServer    Role = "DBSERVER"
)

// ParseRole accepts a role in any case; PRIMARY is ArangoDB's old name of
// DBSERVER.
func ParseRole(s string) (Role, bool) {
	switch strings.ToUpper(s) {
	case "AGENT":
		return RoleAgent, true
	case "COORDINATOR":
		return RoleCoordinator, true
	case "DBSERVER", "PRIMARY":
		return RoleDBServer, true
	}
	return "", false
}

// Prefix is the server id prefix of the role.
func (r Role) Prefix() string {
	switch r {
	case RoleAgent:
		return PrefixAgent
	case RoleCoordinator:
		return PrefixCoordinator
	default:
		return PrefixDBServer
	}
}

// HealthName is the role as Supervision/Health and /_admin/cluster/health
// spell it: "Agent", "Coordinator", "DBServer".
func (r Role) HealthName() string {
	switch r {
	case RoleAgent:
		return "Agent"
	case RoleCoordinator:
		return "Coordinator"
	default:
		return "DBServer"
	}
}

// RoleOfID derives the role from a server id's prefix.
func RoleOfID(id string) (Role, bool) {
	switch {
	case strings.HasPrefix(id, PrefixAgent):
		return RoleAgent, true
	case strings.HasPrefix(id, PrefixCoordinator):
		return RoleCoordinator, true
	case strings.HasPrefix(id, PrefixDBServer):
		return RoleDBServer, true
	}
	return "", false
}
