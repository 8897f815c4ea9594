// Package node runs one database server process of the cluster, in the role
// its configuration names: an agent (node/agency), a coordinator
// (node/coordinator) or a DBServer (node/dbserver). It owns what all roles
// share: the data directory (locked, and bound to one server id), the
// listener, logging, the routes every server answers (/_api/version,
// /_admin/server/…), and graceful shutdown.
//
// The node knows nothing of Mesos: the executor starts it with flags named
// like arangod's.
package node
