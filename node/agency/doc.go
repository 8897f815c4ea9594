// Package agency is the Agency of the cluster: a JSON tree replicated with
// Raft (hashicorp/raft, with raft-boltdb as log and stable store and file
// snapshots), served through ArangoDB's Agency HTTP API.
//
// One Raft log entry is one validated write request; its preconditions and
// TTLs are decided inside Apply with the time carried in the entry, so every
// agent reaches the same state (fsm.go, store.go). The leader also keeps a
// transient store that is never logged, for heartbeats (transient.go). Reads
// are linearizable: the leader verifies its leadership and waits until it has
// applied everything committed before the read (agent.go, verifier.go). A
// ring of recent changes serves the long poll that the other components use
// instead of busy polling (fsm.go). Agents bootstrap by asking each other
// for their ids (bootstrap.go) and can be replaced without losing the quorum
// (membership.go). Raft and HTTP share the agent's single port (mux.go).
//
// The package knows nothing of Mesos and nothing of DBServers or
// Coordinators; Supervision, which runs on the leader, lives in
// node/supervision.
package agency
