// Package localcluster starts a cluster of arangomesos node processes on one
// machine, without Mesos: the Agency first, then DBServers and coordinators,
// each a child process of the caller on its own loopback port, with a shared
// JWT secret. `arangomesos local` uses it for development and benchmarks, and
// the test harness and the Mesos executor build their node command lines
// with NodeArgs, so that the node's flags are spelled in one place.
package localcluster
