// Package mesoslocal is a Mesos master and N agents in one process that
// speak the real Mesos v1 scheduler and executor HTTP APIs (the 1.10
// protocol of mesos-go v0.0.11), so that frameworks can be developed and
// tested on one machine without Apache Mesos. It is faithful on the wire
// (mesos-go's own protobuf and JSON codecs, RecordIO streams, Mesos's status
// codes and messages) and real about processes: executors are child
// processes in their own process groups, with sandboxes, the fetcher,
// persistent-volume directories and the Mesos executor environment.
//
// It imports no other package of this project.
//
// # Go API
//
//	c, err := mesoslocal.Start(ctx, mesoslocal.Config{AgentCount: 3})
//	if err != nil { … }
//	defer c.Close()                      // kills every executor, removes the temp work dir
//	url := c.MasterURL() + "/api/v1/scheduler"
//	… run a scheduler against url …
//	c.WaitForTaskState(ctx, "task-1", mesos.TASK_RUNNING)
//	a := c.Agent("agent-2")
//	a.Partition(); a.Heal(); a.Restart(); a.Reboot(); a.Kill(); a.MarkGone()
//	st := c.State()                      // frameworks, tasks, offers, reservations, volumes
//	if !st.Empty() { … something was left behind … }
//
// Config sets the master address, the agents (AgentSpec: name, IP —
// 127.0.1.N by default, port, hostname, resources in Mesos syntax,
// attributes), the work directory and every timer (Timers, Mesos's defaults
// when zero). Cluster.Events and Cluster.WaitForEvent tap every scheduler
// and executor event and call; Cluster.WaitUntil waits for any predicate of
// State. Errors are wrapped around the sentinel errors (ErrAgentState,
// ErrUnknownAgent, …).
//
// # HTTP surface of the master listener
//
//   - /api/v1/scheduler and /master/api/v1/scheduler: the scheduler API.
//   - /master/state, /state, /master/state.json, /state.json (?jsonp=).
//   - /redirect, /master/redirect (307 to itself), /health, /version,
//     /metrics/snapshot, and a small HTML page at /.
//   - /sim/v1/...: the control API (see Cluster.controlHandler): list agents,
//     add one, kill/partition/heal/restart/reboot/gone an agent, disconnect
//     a framework.
//
// Each agent serves /api/v1/executor on its own address.
//
// # Model
//
// The master and each agent are separate components joined by an
// in-process link (connected, silently partitioned, or severed with
// notice) carrying Mesos's internal messages in order; neither side calls
// into the other while holding its lock. Agents keep their checkpointed
// state (id, reservations and volumes, checkpointing frameworks' executors
// and status update streams) in memory across a simulated restart; volume
// data lives on disk under the agent's work directory.
package mesoslocal
