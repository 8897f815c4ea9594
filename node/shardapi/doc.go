// Package shardapi is the DBServers' internal HTTP API, shared by its two
// sides: coordinators send document operations, reads and shard queries to
// shard leaders; leaders replicate operations to their followers; followers
// resynchronize from their leaders. It holds the wire types, the paths and a
// client that turns answers back into *arangohttp.Error values. Every
// request carries a superuser JWT and has a timeout.
package shardapi
