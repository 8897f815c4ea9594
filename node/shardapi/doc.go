// Package shardapi is the DBServers' internal API, shared by its two
// sides: coordinators send document operations, reads and shard queries to
// shard leaders; leaders replicate operations to their followers; followers
// resynchronize from their leaders. It holds the wire types, the paths, a
// client that turns answers back into *arangohttp.Error values, and the
// frame connections (frames.go) the client and the DBServers carry these
// calls over, many at once on one connection, instead of one HTTP/1.1
// request each. Every call carries a superuser JWT (a frame connection's
// once, when it is opened) and has a timeout.
package shardapi
