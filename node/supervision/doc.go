// Package supervision watches the cluster from the Agency's leader and
// repairs it, with ArangoDB's jobs and state machines (reference §3).
//
// The heart is Round, a pure function: a typed snapshot of the Agency, the
// heartbeats, the time and the supervisor's memory of the previous round go
// in; health verdicts and jobs come out as Agency transactions whose
// preconditions guard everything they read. Nothing is decided outside Round,
// so the logic is table-tested without a network.
//
//   - health.go: GOOD / BAD / FAILED from heartbeat age on the supervisor's
//     own clock; BAD → FAILED of a DBServer creates failedServer.
//   - job_failed.go: failedServer, failedLeader (promotes only an in-sync
//     follower), failedFollower.
//   - job_replication.go: enforceReplication with addFollower and
//     removeFollower, which restore every replicationFactor.
//   - job_moveshard.go: moveShard, including the resign protocol for leaders.
//   - job_cleanout.go: cleanOutServer, resignLeadership, shrinkCluster.
//
// Jobs live in the Agency (Target/ToDo, Pending, Finished, Failed), so a new
// leader resumes them where they stand. Runner runs one Round per second on
// the leader and applies its output.
package supervision
