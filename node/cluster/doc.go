// Package cluster holds what every part of the database cluster shares, and
// what the Mesos scheduler may know about it: the Agency's key layout and
// wire format (transactions, operations, preconditions), the Agency client
// and its watching cache, the shared types of Plan, Current and Target,
// server ids and roles, and cluster-internal authentication (JWTs signed with
// the cluster secret).
//
// It imports nothing of the node's internals, so the scheduler can use it
// without pulling in the Agency, the DBServer or the Coordinator.
package cluster
