package scheduler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/arangomesos/arangomesos/node/cluster"
)

func contextBackground() context.Context { return context.Background() }

// Scale sets desired counts: "coordinators", "dbservers", "agents". Once the
// Agency is up, DBServer and coordinator counts are written to its Target
// (the same knob ArangoDB's PUT /_admin/cluster/numberOfServers moves);
// the agent count is the scheduler's own. Refused (400/409, nothing
// changed): counts below 1, an even or out-of-range agent count, a change of
// more than one agent pair at once, DBServers below the largest
// replicationFactor, a request during an uninstall, and a DBServer count
// change while a clean-out from the previous one is still running.
func (s *Scheduler) Scale(ctx context.Context, want map[string]int, who string) (Targets, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.Uninstalling {
		return s.st.Targets, ErrUninstalling
	}
	t := s.st.Targets
	for role, n := range want {
		switch role {
		case "coordinators":
			if n < 1 {
				return t, apiErr(http.StatusBadRequest, "coordinators must be at least 1, got %d", n)
			}
			t.Coordinators = n
		case "dbservers":
			if n < 1 {
				return t, apiErr(http.StatusBadRequest, "dbservers must be at least 1, got %d", n)
			}
			if rf := s.view.MaxReplicationFactor; n < rf {
				return t, apiErr(http.StatusBadRequest, "dbservers %d is below the largest replicationFactor %d: data would have nowhere to go", n, rf)
			}
			if n != s.st.Targets.DBServers && s.dbserverCleanoutRunning() {
				return t, apiErr(http.StatusConflict, "a DBServer scale-down is still cleaning out servers; try again when it is done")
			}
			t.DBServers = n
		case "agents":
			if n < 1 || n%2 == 0 || n > 9 {
				return t, apiErr(http.StatusBadRequest, "agents must be odd (1, 3, 5, 7 or 9), got %d", n)
			}
			if n < 3 && n < s.st.Targets.Agents {
				return t, apiErr(http.StatusBadRequest, "agents %d → %d refused: an Agency of fewer than 3 agents survives no failure", s.st.Targets.Agents, n)
			}
			if d := n - s.st.Targets.Agents; d > 2 || d < -2 {
				return t, apiErr(http.StatusBadRequest, "agents change by two at a time (%d → %d), so the Agency keeps its quorum", s.st.Targets.Agents, n)
			}
			if n != s.st.Targets.Agents && len(s.st.Sorted(cluster.RoleAgent)) != s.st.Targets.Agents {
				return t, apiErr(http.StatusConflict, "the Agency is still changing size; try again when it is done")
			}
			t.Agents = n
		default:
			return t, apiErr(http.StatusBadRequest, "unknown role %q: coordinators, dbservers or agents", role)
		}
	}
	if s.st.TargetsInAgency {
		client := s.agency.Client()
		if client == nil {
			return s.st.Targets, apiErr(http.StatusServiceUnavailable, "the Agency is not reachable")
		}
		s.mu.Unlock()
		_, err := client.Write(ctx, cluster.Transaction{Ops: map[string]cluster.Operation{
			cluster.TargetNumDBServers: cluster.Set(t.DBServers), cluster.TargetNumCoordinators: cluster.Set(t.Coordinators)}})
		s.mu.Lock()
		if err != nil {
			return s.st.Targets, apiErr(http.StatusServiceUnavailable, "write the Agency's Target: %v", err)
		}
	}
	old := s.st.Targets
	s.st.Targets = t
	if old != t {
		s.record(Event{Kind: EventScale, Message: fmt.Sprintf("desired counts set by %s: %d agents, %d DBServers, %d coordinators (were %d, %d, %d)",
			who, t.Agents, t.DBServers, t.Coordinators, old.Agents, old.DBServers, old.Coordinators)})
	}
	if err := s.store.Save(ctx, s.st); err != nil {
		return t, err
	}
	s.Kick()
	return t, nil
}

// dbserverCleanoutRunning reports a DBServer scale-down in progress: more
// DBServers than desired, or retired DBServers not yet gone.
func (s *Scheduler) dbserverCleanoutRunning() bool {
	if len(s.st.Sorted(cluster.RoleDBServer)) > s.st.Targets.DBServers {
		return true
	}
	for _, r := range s.st.Retired {
		if r.Role == cluster.RoleDBServer && r.ReplaceReason == "cleaned out" {
			return true
		}
	}
	return false
}

// RebalanceResult is the answer of POST /v1/rebalance.
type RebalanceResult struct {
	Jobs    []string `json:"jobs"`
	Message string   `json:"message"`
}

// Rebalance asks a coordinator to even out the DBServers' shards
// (rebalanceShards).
func (s *Scheduler) Rebalance(ctx context.Context) (RebalanceResult, error) {
	var out struct {
		Jobs []string `json:"jobs"`
	}
	code, err := s.coordinatorCall(ctx, http.MethodPost, "/_admin/cluster/rebalanceShards", map[string]any{}, &out)
	if err != nil {
		return RebalanceResult{}, err
	}
	res := RebalanceResult{Jobs: out.Jobs, Message: "the DBServers are balanced"}
	if code == http.StatusAccepted {
		res.Message = fmt.Sprintf("moving %d shards", len(out.Jobs))
		s.mu.Lock()
		s.record(Event{Kind: EventScale, Message: "rebalancing shards: " + res.Message})
		s.mu.Unlock()
	}
	if res.Jobs == nil {
		res.Jobs = []string{}
	}
	return res, nil
}

// removeServer removes a retired DBServer or coordinator from the cluster
// through a coordinator's removeServer.
func (s *Scheduler) removeServer(ctx context.Context, m *Member) error {
	code, err := s.coordinatorCall(ctx, http.MethodPost, "/_admin/cluster/removeServer", m.ServerID, nil)
	if err != nil && code != http.StatusNotFound {
		return err
	}
	s.mu.Lock()
	m.RemovedFromCluster = true
	s.record(Event{Kind: EventRemoved, Member: m.Name, Message: fmt.Sprintf("%s (%s) removed from the cluster", m.Name, m.ServerID)})
	s.mu.Unlock()
	return nil
}

// coordinatorCall sends a request to a running, healthy coordinator as root,
// trying the others when one fails. It returns the HTTP status.
func (s *Scheduler) coordinatorCall(ctx context.Context, method, path string, body, out any) (int, error) {
	s.mu.Lock()
	var urls []string
	for _, m := range s.st.Sorted(cluster.RoleCoordinator) {
		if m.Running() {
			urls = append(urls, "http://"+strings.TrimPrefix(m.Endpoint(), "tcp://"))
		}
	}
	password := s.st.RootPassword
	s.mu.Unlock()
	if len(urls) == 0 {
		return 0, apiErr(http.StatusServiceUnavailable, "no coordinator is running")
	}
	b, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	var lastErr error
	for _, u := range urls {
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		req, _ := http.NewRequestWithContext(cctx, method, u+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth("root", password)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			cancel()
			lastErr = err
			continue
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		if resp.StatusCode >= 300 {
			var e struct {
				ErrorMessage string `json:"errorMessage"`
			}
			_ = json.Unmarshal(data, &e)
			lastErr = apiErr(resp.StatusCode, "coordinator %s: %s", u, e.ErrorMessage)
			if resp.StatusCode < 500 {
				return resp.StatusCode, lastErr
			}
			continue
		}
		if out != nil {
			_ = json.Unmarshal(data, out)
		}
		return resp.StatusCode, nil
	}
	var ae *APIError
	if errors.As(lastErr, &ae) {
		return ae.Code, lastErr
	}
	return 0, apiErr(http.StatusServiceUnavailable, "no coordinator answered: %v", lastErr)
}
