package scheduler

import (
	"fmt"
	"math"
	"strconv"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/arangomesos/arangomesos/executor/spec"
	"github.com/arangomesos/arangomesos/node/cluster"
)

// TaskFactory builds the Mesos tasks of members.
type TaskFactory struct {
	Config Config
	// ArtifactURL is where the executor (and the node) binary is fetched.
	ArtifactURL string
}

// resourcesOf is what a member's task asks for, without the executor's
// share.
func (tf TaskFactory) resourcesOf(role cluster.Role) Resources {
	switch role {
	case cluster.RoleAgent:
		return tf.Config.AgentRes
	case cluster.RoleDBServer:
		return tf.Config.DBServerRes
	default:
		return tf.Config.CoordRes
	}
}

// killGrace is how long a node may take to stop on SIGTERM: a DBServer
// first hands its leaderships over.
func killGrace(role cluster.Role) time.Duration {
	if role == cluster.RoleDBServer {
		return 30 * time.Second
	}
	return 10 * time.Second
}

// nodeSpec builds the spec the executor starts the member's node from.
func (tf TaskFactory) nodeSpec(st *State, m *Member) spec.NodeSpec {
	s := spec.NodeSpec{Role: string(m.Role), ServerID: m.ServerID, Address: m.Hostname, Port: m.Port,
		AgencyEndpoints: st.AgentEndpoints(), DataDir: volumePath, Secret: st.Secret, LogLevel: tf.Config.LogLevel}
	switch m.Role {
	case cluster.RoleAgent:
		s.AgencySize = agencySize(st, len(s.AgencyEndpoints))
		s.Args = []string{
			"--agency.supervision-ok-threshold", tf.Config.SupervisionOkThreshold.String(),
			"--agency.supervision-grace-period", tf.Config.SupervisionGracePeriod.String(),
		}
	case cluster.RoleDBServer:
		// A DBServer's ok threshold is its leader lease: it must match the
		// agents', or a cut-off leader would outlive its failover.
		s.Args = []string{"--agency.supervision-ok-threshold", tf.Config.SupervisionOkThreshold.String()}
	case cluster.RoleCoordinator:
		s.RootPassword = st.RootPassword
	}
	// A node runs as many threads of Go code as it has CPUs, not one per
	// core of the host it shares with other tasks.
	s.Args = append(s.Args, "--server.max-procs", strconv.Itoa(maxProcs(tf.resourcesOf(m.Role).CPUs)))
	return s
}

// maxProcs is a node's --server.max-procs for a task of cpus: rounded up,
// at least 1.
func maxProcs(cpus float64) int {
	return max(1, int(math.Ceil(cpus)))
}

// agencySize is a launched agent's --agency.size: the target, except for
// an agent that joins the running Agency while agents added with it are
// not placed yet (3 → 5 places them one by one): a node refuses a size
// above its endpoints, so it gets the largest odd count of those. The size
// only matters at bootstrap; a joining agent learns the membership from
// the Agency. Before the first deployment completed the target always
// applies, so that a partly placed Agency never bootstraps smaller.
func agencySize(st *State, endpoints int) int {
	if !st.Deployed || endpoints >= st.Targets.Agents {
		return st.Targets.Agents
	}
	return max(1, endpoints-(1-endpoints%2))
}

// task builds the TaskInfo of a member that is placed (agent, host, port,
// volume set) on offer o, using resources res for the task and execRes for
// its executor.
func (tf TaskFactory) task(st *State, m *Member, agentID string, res, execRes []mesos.Resource) mesos.TaskInfo {
	sp := tf.nodeSpec(st, m)
	grace := killGrace(m.Role)
	shell := true
	return mesos.TaskInfo{
		Name:      m.Name,
		TaskID:    mesos.TaskID{Value: m.TaskID},
		AgentID:   mesos.AgentID{Value: agentID},
		Resources: res,
		Executor: &mesos.ExecutorInfo{
			Type:       mesos.ExecutorInfo_CUSTOM,
			ExecutorID: mesos.ExecutorID{Value: m.TaskID},
			Name:       strp("arangomesos executor of " + m.Name),
			Command: &mesos.CommandInfo{
				Shell: &shell,
				Value: strp("./arangomesos executor"),
				URIs: []mesos.CommandInfo_URI{{Value: tf.ArtifactURL, Executable: boolp(true), Extract: boolp(false),
					OutputFile: strp("arangomesos")}},
			},
			Resources:           execRes,
			ShutdownGracePeriod: &mesos.DurationInfo{Nanoseconds: int64(grace + 5*time.Second)},
		},
		Data:       sp.Encode(),
		KillPolicy: &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: int64(grace)}},
		HealthCheck: &mesos.HealthCheck{
			Type:                mesos.HealthCheck_HTTP,
			HTTP:                &mesos.HealthCheck_HTTPCheckInfo{Port: uint32(m.Port), Path: strp("/_admin/server/availability")},
			DelaySeconds:        float64p(1),
			IntervalSeconds:     float64p(2),
			TimeoutSeconds:      float64p(2),
			ConsecutiveFailures: uint32p(3),
			GracePeriodSeconds:  float64p(60),
		},
		Discovery: &mesos.DiscoveryInfo{Visibility: mesos.FRAMEWORK, Name: strp(m.Name),
			Ports: &mesos.Ports{Ports: []mesos.Port{{Number: uint32(m.Port), Name: strp("http"), Protocol: strp("tcp")}}}},
		Labels: &mesos.Labels{Labels: []mesos.Label{{Key: "role", Value: strp(string(m.Role))}, {Key: "serverId", Value: strp(m.ServerID)}}},
	}
}

func boolp(b bool) *bool          { return &b }
func float64p(f float64) *float64 { return &f }
func uint32p(u uint32) *uint32    { return &u }

// newTaskID gives a member's next launch a task id that is unique across
// relaunches: <name>.<server id>.<launch>.
func newTaskID(m *Member) string {
	m.Launches++
	return fmt.Sprintf("%s.%s.%d", m.Name, m.ServerID, m.Launches)
}
