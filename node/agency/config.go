package agency

import (
	"time"

	"github.com/hashicorp/raft"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// Version is what agents report as their version.
const Version = "3.11.0-arangomesos"

// SupervisionInfo is reported in the config answer; the supervision itself
// is configured where it runs.
type SupervisionInfo struct {
	Enabled     bool
	Frequency   time.Duration
	GracePeriod time.Duration
	OkThreshold time.Duration
}

// Config returns this agent's answer to GET /_api/agency/config.
func (a *Agent) Config() cluster.AgencyConfig {
	leaderID, leaderEP := a.Leader()
	c := cluster.AgencyConfig{
		Term: a.raft.CurrentTerm(), LeaderID: leaderID, CommitIndex: a.raft.CommitIndex(),
		NextCompactionAfter: a.timing.SnapshotThreshold, LastAcked: map[string]cluster.AgentAck{},
		Engine: "raft-boltdb", Version: Version,
		Raft: cluster.AgencyRaftState{
			State: a.raft.State().String(), Leading: a.IsLeader(), LeaderEndpoint: leaderEP,
			AppliedIndex: a.raft.AppliedIndex(), LastIndex: a.raft.LastIndex(),
		},
	}
	sup := a.supervisionInfo()
	c.Configuration = cluster.AgencyConfiguration{
		Pool: map[string]string{}, Active: []string{}, ID: a.cfg.ID, Endpoint: a.cfg.Endpoint,
		MinPing: a.timing.ElectionTimeout.Seconds() / 2, MaxPing: a.timing.ElectionTimeout.Seconds(),
		Supervision: sup.Enabled, SupervisionFrequency: sup.Frequency.Seconds(),
		SupervisionGracePeriod: sup.GracePeriod.Seconds(), SupervisionOkThreshold: sup.OkThreshold.Seconds(),
		Version: 2, Startup: "origin",
	}
	if f := a.raft.GetConfiguration(); f.Error() == nil && len(f.Configuration().Servers) > 0 {
		c.Raft.Bootstrapped = true
		for _, s := range f.Configuration().Servers {
			c.Configuration.Pool[string(s.ID)] = "tcp://" + string(s.Address)
			if s.Suffrage == raft.Voter {
				c.Configuration.Active = append(c.Configuration.Active, string(s.ID))
			}
		}
	} else {
		a.mu.Lock()
		for ep, id := range a.known {
			c.Configuration.Pool[id] = ep
		}
		a.mu.Unlock()
		c.Configuration.Pool[a.cfg.ID] = a.cfg.Endpoint
	}
	c.Configuration.AgencySize = len(c.Configuration.Active)
	if c.Configuration.AgencySize == 0 {
		c.Configuration.AgencySize = a.cfg.Size
	}
	c.Configuration.PoolSize = len(c.Configuration.Pool)
	if c.Raft.Leading {
		now := time.Now()
		a.mu.Lock()
		for id := range c.Configuration.Pool {
			ack := cluster.AgentAck{}
			if last, failing := a.failingPeer[id]; failing {
				ack.LastAckedTime = now.Sub(last).Seconds()
			}
			c.LastAcked[id] = ack
		}
		a.mu.Unlock()
	}
	return c
}

// SetSupervisionInfo records the supervision settings to report.
func (a *Agent) SetSupervisionInfo(s SupervisionInfo) {
	a.mu.Lock()
	a.sup = s
	a.mu.Unlock()
}

func (a *Agent) supervisionInfo() SupervisionInfo {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sup
}
