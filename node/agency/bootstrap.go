package agency

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/hashicorp/raft"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// bootstrap runs on an agent without Raft state. It asks its peers for their
// config until either
//   - some peer already belongs to a bootstrapped Agency: if that Agency's
//     pool holds this agent, it bootstraps with exactly that configuration
//     (a restarted member that lost its disk); otherwise it waits to be added
//     by the leader (a replacement agent), or
//   - it knows the ids of all cfg.Size agents: then it bootstraps with them.
//     Every fresh agent computes the same configuration, so they agree.
func (a *Agent) bootstrap(self string) {
	wait := 100 * time.Millisecond
	announced := false
	for a.ctx.Err() == nil {
		if f := a.raft.GetConfiguration(); f.Error() == nil && len(f.Configuration().Servers) > 0 {
			return
		}
		servers, join := a.gossip(self)
		switch {
		case servers != nil:
			err := a.raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error()
			if err != nil && err != raft.ErrCantBootstrap {
				a.log.Error("bootstrap failed", "err", err)
				break
			}
			a.log.Info("bootstrapped the agency", "agents", len(servers))
			return
		case join && !announced:
			a.log.Info("the agency exists without this agent; waiting for its leader to add it")
			announced = true
		}
		select {
		case <-a.ctx.Done():
			return
		case <-time.After(wait):
		}
		if wait < time.Second {
			wait *= 2
		}
	}
}

// gossip asks every peer for its config. It returns the configuration to
// bootstrap with, or join=true when an existing Agency does not include this
// agent.
func (a *Agent) gossip(self string) (servers []raft.Server, join bool) {
	ids := map[string]string{self: a.cfg.ID}
	for _, ep := range a.cfg.Peers {
		hp, err := HostPort(ep)
		if err != nil || hp == self {
			continue
		}
		ctx, cancel := context.WithTimeout(a.ctx, 2*time.Second)
		c, err := a.peerConfig(ctx, hp)
		cancel()
		if err != nil {
			continue
		}
		ids[hp] = c.Configuration.ID
		if c.Raft.Bootstrapped {
			if _, member := c.Configuration.Pool[a.cfg.ID]; !member {
				return nil, true
			}
			for id, ep := range c.Configuration.Pool {
				if addr, err := HostPort(ep); err == nil {
					servers = append(servers, raft.Server{ID: raft.ServerID(id), Address: raft.ServerAddress(addr), Suffrage: raft.Voter})
				}
			}
			sortServers(servers)
			return servers, false
		}
	}
	a.mu.Lock()
	for hp, id := range ids {
		a.known["tcp://"+hp] = id
	}
	a.mu.Unlock()
	if len(ids) < a.cfg.Size {
		return nil, false
	}
	for hp, id := range ids {
		servers = append(servers, raft.Server{ID: raft.ServerID(id), Address: raft.ServerAddress(hp), Suffrage: raft.Voter})
	}
	sortServers(servers)
	return servers, false
}

func sortServers(s []raft.Server) {
	sort.Slice(s, func(i, j int) bool { return s[i].ID < s[j].ID })
}

// peerConfig fetches another agent's config (any agent answers).
func (a *Agent) peerConfig(ctx context.Context, hostPort string) (cluster.AgencyConfig, error) {
	var c cluster.AgencyConfig
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+hostPort+"/_api/agency/config", nil)
	if err != nil {
		return c, err
	}
	if err := a.tokens.Authorize(req); err != nil {
		return c, err
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return c, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return c, fmt.Errorf("agency: config of %s: HTTP %d", hostPort, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		return c, fmt.Errorf("agency: config of %s: %w", hostPort, err)
	}
	return c, nil
}
