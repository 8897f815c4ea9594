// Package dbserver is the DBServer role (DESIGN §3.3, docs/internals.md):
// it stores shards on buntdb (node/dbserver/storage), reconciles its local
// shards with the Plan and reports to Current (maintenance.go), leads shards
// — ordering writes, replicating them synchronously to the in-sync
// followers and dropping followers that do not answer (leader.go,
// current.go) — follows shards (follower.go), and brings followers back in
// sync incrementally (resync.go, syncleader.go). Coordinators and other
// DBServers reach it through the internal API of node/shardapi (api.go).
//
// A DBServer acts as a leader only while it holds its lease (node/member):
// a server that hung and came back refuses leader requests with 1496
// until its heartbeats are acknowledged again and its view of the Agency
// has caught up.
package dbserver
