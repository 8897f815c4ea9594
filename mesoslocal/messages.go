package mesoslocal

import (
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// Messages between an agent and the master. They travel over a link; their
// meaning follows Mesos's internal protocol (RegisterSlaveMessage,
// RunTaskMessage, StatusUpdateMessage, …) without its wire format.

// Agent → master.
type (
	// msgRegister registers a new agent (agentID empty) or reregisters one.
	msgRegister struct {
		link       *link
		name       string
		ip         string
		agentID    string
		info       mesos.AgentInfo // resources: total, internal format
		frameworks []mesos.FrameworkInfo
		executors  []reportedExecutor
		tasks      []reportedTask
	}
	reportedExecutor struct {
		fid  string
		info mesos.ExecutorInfo
	}
	reportedTask struct {
		fid        string
		info       mesos.TaskInfo
		executorID string
		state      mesos.TaskState
	}
	// msgStatusUpdate forwards the head of a task's status update stream.
	msgStatusUpdate struct {
		fid         string
		status      mesos.TaskStatus
		latestState mesos.TaskState
	}
	// msgExecutorExited reports an executor that terminated.
	msgExecutorExited struct {
		fid, eid  string
		status    int32
		hasStatus bool // false when no process ever ran (launch failed)
	}
	// msgExecutorMessage relays an executor's MESSAGE call.
	msgExecutorMessage struct {
		fid, eid string
		data     []byte
	}
	msgPong struct{}
	// msgAgentGone is the link's close notice.
	msgAgentGone struct{}
)

// Master → agent.
type (
	msgRegistered struct{ agentID string }
	msgRunTask    struct {
		framework mesos.FrameworkInfo
		executor  mesos.ExecutorInfo
		tasks     []mesos.TaskInfo
		group     bool
	}
	msgKillTask struct {
		fid, tid   string
		killPolicy *mesos.KillPolicy
	}
	msgShutdownExecutor  struct{ fid, eid string }
	msgShutdownFramework struct{ fid string }
	msgAck               struct {
		fid, tid string
		uuid     []byte
	}
	msgFrameworkMessage struct {
		fid, eid string
		data     []byte
	}
	// msgUpdateFramework carries a (re)subscribed framework's info; the
	// agent resends pending status updates at once.
	msgUpdateFramework struct{ info mesos.FrameworkInfo }
	// msgCheckpointResources carries the agent's total resources, with its
	// dynamic reservations and persistent volumes, after an operation.
	msgCheckpointResources struct{ resources mesos.Resources }
	// msgReconcileTasks names tasks the master knows on this agent but the
	// agent did not report when reregistering.
	msgReconcileTasks struct {
		fid            string
		tids           []string
		partitionAware bool
	}
	msgPing          struct{}
	msgShutdownAgent struct{}
)
