// Package member makes a coordinator or DBServer a member of the cluster, as
// docs/internals.md describes: it registers the server in the Agency (Plan,
// Current/ServersRegistered, a new rebootId, a short name such as
// DBServer0001), sends a heartbeat to the Agency's transient store every
// second, and keeps the leader lease that a DBServer needs to act as a shard
// leader.
package member
