package agency

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
)

// Member names an agent for a membership change.
type Member struct {
	ID       string `json:"id"`
	Endpoint string `json:"endpoint"`
}

// membershipTimeout bounds each Raft configuration change.
const membershipTimeout = 30 * time.Second

// ChangeMembership adds an agent, removes one, or both (a replacement), on
// the leader, one change at a time and without ever risking the quorum:
//   - add: the new agent joins as a non-voter, is promoted to voter only once
//     it has applied everything committed when it joined (so it can take part
//     in commits at once), and only then
//   - remove: the old agent is removed.
//
// It fails with ErrNotLeader/ErrNoLeader off the leader, and with
// ErrMembership when the change is refused (removing the last voter, an
// unknown agent, replacing an agent by itself) or the new agent does not catch
// up before ctx ends; a half-done replacement leaves the new agent as a
// non-voter, which does not affect the quorum.
func (a *Agent) ChangeMembership(ctx context.Context, add *Member, remove string) error {
	if err := a.leaderErr(); err != nil {
		return err
	}
	if add == nil && remove == "" {
		return fmt.Errorf("%w: nothing to add or remove", ErrMembership)
	}
	a.membershipMu.Lock()
	defer a.membershipMu.Unlock()
	f := a.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return fmt.Errorf("%w: %v", ErrMembership, err)
	}
	voters, present := 0, map[string]raft.ServerSuffrage{}
	for _, s := range f.Configuration().Servers {
		present[string(s.ID)] = s.Suffrage
		if s.Suffrage == raft.Voter {
			voters++
		}
	}
	if add != nil {
		if add.ID == remove {
			return fmt.Errorf("%w: cannot replace %s by itself", ErrMembership, remove)
		}
		addr, err := HostPort(add.Endpoint)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrMembership, err)
		}
		if suffrage, member := present[add.ID]; !member || suffrage != raft.Voter {
			if err := a.addVoterSafely(ctx, add.ID, addr); err != nil {
				return err
			}
			voters++
		}
	}
	if remove != "" {
		if _, ok := present[remove]; !ok {
			return fmt.Errorf("%w: %s is not a member of the agency", ErrMembership, remove)
		}
		if present[remove] == raft.Voter && voters <= 1 {
			return fmt.Errorf("%w: cannot remove the last voting agent", ErrMembership)
		}
		if err := a.raft.RemoveServer(raft.ServerID(remove), 0, membershipTimeout).Error(); err != nil {
			return fmt.Errorf("%w: remove %s: %v", ErrMembership, remove, err)
		}
		a.log.Info("removed agent from the agency", "removed", remove)
	}
	return nil
}

func (a *Agent) addVoterSafely(ctx context.Context, id, addr string) error {
	if err := a.raft.AddNonvoter(raft.ServerID(id), raft.ServerAddress(addr), 0, membershipTimeout).Error(); err != nil {
		return fmt.Errorf("%w: add %s as non-voter: %v", ErrMembership, id, err)
	}
	target := a.raft.CommitIndex()
	a.log.Info("added agent as non-voter; waiting for it to catch up", "new", id, "index", target)
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		c, err := a.peerConfig(cctx, addr)
		cancel()
		if err == nil && c.Raft.AppliedIndex >= target {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s did not catch up (index %d): %v", ErrMembership, id, target, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	if err := a.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, membershipTimeout).Error(); err != nil {
		return fmt.Errorf("%w: promote %s: %v", ErrMembership, id, err)
	}
	a.log.Info("promoted agent to voter", "new", id)
	return nil
}
