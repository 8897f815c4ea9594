// Package scheduler is the Mesos framework that deploys the database cluster,
// heals it and scales it: offer matching and placement, reservations and
// persistent volumes, the task lifecycle, the state store (buntdb or
// ZooKeeper), the watch on the Agency's supervision, recovery policy,
// scaling and autoscaling, the /v1 REST API, the web UI and metrics.
//
// It speaks to Mesos with mesos-go v0.0.11 and to the database only through
// node/cluster (the Agency client and key layout); it never imports the
// node's internals.
package scheduler
