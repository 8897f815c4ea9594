package cluster

// AgencyConfig is the answer of GET /_api/agency/config, which every agent
// gives, leader or not (reference §2.1). Raft is this project's addition:
// the Raft state of the answering agent, used for bootstrap and for adding
// agents.
type AgencyConfig struct {
	Term                uint64              `json:"term"`
	LeaderID            string              `json:"leaderId"`
	CommitIndex         uint64              `json:"commitIndex"`
	LastCompactionAt    uint64              `json:"lastCompactionAt"`
	NextCompactionAfter uint64              `json:"nextCompactionAfter"`
	LastAcked           map[string]AgentAck `json:"lastAcked"`
	Configuration       AgencyConfiguration `json:"configuration"`
	Engine              string              `json:"engine"`
	Version             string              `json:"version"`
	Raft                AgencyRaftState     `json:"raft"`
}

// AgentAck is the leader's view of a peer: seconds since it last answered.
type AgentAck struct {
	LastAckedTime float64 `json:"lastAckedTime"`
}

// AgencyConfiguration is the "configuration" object of the config answer.
type AgencyConfiguration struct {
	Pool                   map[string]string `json:"pool"`
	Active                 []string          `json:"active"`
	ID                     string            `json:"id"`
	AgencySize             int               `json:"agency size"`
	PoolSize               int               `json:"pool size"`
	Endpoint               string            `json:"endpoint"`
	MinPing                float64           `json:"min ping"`
	MaxPing                float64           `json:"max ping"`
	Supervision            bool              `json:"supervision"`
	SupervisionFrequency   float64           `json:"supervision frequency"`
	SupervisionGracePeriod float64           `json:"supervision grace period"`
	SupervisionOkThreshold float64           `json:"supervision ok threshold"`
	Version                int               `json:"version"`
	Startup                string            `json:"startup"`
}

// AgencyRaftState is the answering agent's own Raft state.
type AgencyRaftState struct {
	State          string `json:"state"`
	Bootstrapped   bool   `json:"bootstrapped"`
	Leading        bool   `json:"leading"`
	LeaderEndpoint string `json:"leaderEndpoint"`
	AppliedIndex   uint64 `json:"appliedIndex"`
	LastIndex      uint64 `json:"lastIndex"`
}
