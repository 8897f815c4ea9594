// Package coordinator is the Coordinator role (DESIGN §3.4): the stateless
// front door that speaks ArangoDB's client API, so official drivers work
// unchanged. It follows the Agency through a cluster.View; creates
// databases, collections (placing shards on DBServers) and indexes in the
// Plan; routes each document to its shard's leader by a hash of the shard
// keys and retries against a new leader during failover; fans queries out
// to every shard and merges them into cursors.
//
// One concept per file: routing.go (/_db/{db}/ prefix, databases known),
// auth.go (basic auth, JWTs, /_open/auth), databases.go, collections.go,
// placement.go (shards onto DBServers), documents.go (single and batch
// CRUD), dispatch.go (to shard leaders, with retries), coalesce.go
// (concurrent writes to one shard share a request), importer.go,
// cursors.go, indexes.go, ids.go (ids and keys), metrics.go, routes.go.
//
// Other packages add routes with Server.Register (the cluster admin
// endpoints of node/supervision live there) and read the Agency through
// Server.View and Server.Agency.
package coordinator
