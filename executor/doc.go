// Package executor is arangomesos's custom Mesos executor (`arangomesos
// executor`): one executor per task, speaking the Mesos v1 executor HTTP API
// through mesos-go. It runs the task's database node and reports on it.
//
// The contract with the scheduler is the node spec in TaskInfo.data
// (package executor/spec). The executor validates it — a bad spec gets
// TASK_FAILED and nothing starts — then starts `arangomesos node` from the
// sandbox in its own process group, with the persistent volume as data
// directory and its output in the sandbox's stdout and stderr.
//
// The files, one concept each:
//   - config.go: the Mesos environment (MESOS_*), validated.
//   - executor.go: the subscription, the event-handler map, reliable status
//     updates, KILL, SHUTDOWN and reconnecting to a restarted agent.
//   - ledger.go: updates and tasks the agent has not acknowledged; they go
//     into every SUBSCRIBE and are sent in order.
//   - task.go: one task's life: TASK_STARTING at once, TASK_RUNNING when the
//     node first passes its health check, health changes, TASK_FAILED with
//     the exit status and the log's tail, TASK_KILLED after a kill,
//     TASK_FINISHED for a clean exit.
//   - health.go: the health policy (the task's HealthCheck or defaults) and
//     Mesos's rules for counting failures.
//   - process.go: the node process, its process group and its log tail.
//   - prestop.go: what a role does before SIGTERM (a DBServer hands its
//     shard leaderships over).
package executor
