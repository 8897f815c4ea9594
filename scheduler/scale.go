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
// replicationFactor, a request during an uninstall, a DBServer count change
// while a clean-out from the previous one is still running, and a change of
// the Agency's Target by someone else (a coordinator's numberOfServers)
// between this request's read and its write.
func (s *Scheduler) Scale(ctx context.Context, want map[string]int, who string) (Targets, error) {
	return s.scale(ctx, func(Targets) map[string]int { return want }, who)
}

// ScaleStep moves the desired count of role ("coordinators", "dbservers",
// "agents") by step from its current value (agents by twice the step, so
// the Agency stays odd). Two steps at once are two steps: each starts from
// the value the other left.
func (s *Scheduler) ScaleStep(ctx context.Context, role string, step int, who string) (Targets, error) {
	if role == "agents" {
		step *= 2
	}
	return s.scale(ctx, func(base Targets) map[string]int {
		switch role {
		case "coordinators":
			return map[string]int{role: base.Coordinators + step}
		case "dbservers":
			return map[string]int{role: base.DBServers + step}
		case "agents":
			return map[string]int{role: base.Agents + step}
		}
		return map[string]int{role: 0}
	}, who)
}

// scale validates and applies the counts that request computes from the
// current targets. Requests are applied one at a time (scaleMu), each
// against the Agency's Target as it is now, not as the scheduler last saw
// it: a request only writes the counts it names, so it never undoes a
// change made through a coordinator that the scheduler has not seen yet.
func (s *Scheduler) scale(ctx context.Context, request func(Targets) map[string]int, who string) (Targets, error) {
	s.scaleMu.Lock()
	defer s.scaleMu.Unlock()
	s.mu.Lock()
	inAgency, uninstalling := s.st.TargetsInAgency, s.st.Uninstalling
	s.mu.Unlock()
	if uninstalling {
		return s.Targets(), ErrUninstalling
	}
	var client *cluster.AgencyClient
	var read map[string]any // the Agency's Target values as read (nil: unset)
	if inAgency {
		if client = s.agency.Client(); client == nil {
			return s.Targets(), apiErr(http.StatusServiceUnavailable, "the Agency is not reachable")
		}
		res, err := client.Read(ctx, cluster.ReadQuery{cluster.TargetNumDBServers, cluster.TargetNumCoordinators})
		if err != nil {
			return s.Targets(), apiErr(http.StatusServiceUnavailable, "read the Agency's Target: %v", err)
		}
		read = map[string]any{}
		for _, key := range []string{cluster.TargetNumDBServers, cluster.TargetNumCoordinators} {
			var v any
			if ok, _ := cluster.ExtractPath(res[0], key, &v); ok {
				read[key] = v
			}
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.Uninstalling {
		return s.st.Targets, ErrUninstalling
	}
	base := s.st.Targets
	if inAgency {
		if n, ok := agencyCount(read[cluster.TargetNumDBServers]); ok {
			base.DBServers = n
		}
		if n, ok := agencyCount(read[cluster.TargetNumCoordinators]); ok {
			base.Coordinators = n
		}
	}
	want := request(base)
	t, err := s.validateScale(base, want)
	if err != nil {
		return s.st.Targets, err
	}
	if inAgency {
		// Write only the counts asked for, on the condition that they
		// still hold what was read.
		trx := cluster.Transaction{Ops: map[string]cluster.Operation{}, Preconds: map[string]cluster.Precondition{}}
		for role, key := range map[string]string{"dbservers": cluster.TargetNumDBServers, "coordinators": cluster.TargetNumCoordinators} {
			if _, ok := want[role]; !ok {
				continue
			}
			n := t.DBServers
			if role == "coordinators" {
				n = t.Coordinators
			}
			trx.Ops[key] = cluster.Set(n)
			if v, ok := read[key]; ok {
				trx.Preconds[key] = cluster.Old(v)
			} else {
				trx.Preconds[key] = cluster.OldEmpty(true)
			}
		}
		if len(trx.Ops) > 0 {
			s.mu.Unlock()
			res, err := client.Write(ctx, trx)
			s.mu.Lock()
			if err != nil {
				return s.st.Targets, apiErr(http.StatusServiceUnavailable, "write the Agency's Target: %v", err)
			}
			if !res.OK() {
				return s.st.Targets, apiErr(http.StatusConflict,
					"the desired counts in the Agency's Target changed while this request was made (through a coordinator's numberOfServers); nothing changed, try again")
			}
			s.targetsIndex = max(s.targetsIndex, res.Index())
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

// agencyCount reads a count from the Agency's Target (a JSON number, as
// decoded); unset, null or below 1 is no count.
func agencyCount(v any) (int, bool) {
	var n int64
	switch x := v.(type) {
	case json.Number:
		i, err := x.Int64()
		if err != nil {
			return 0, false
		}
		n = i
	case float64:
		n = int64(x)
	case int:
		n = int64(x)
	default:
		return 0, false
	}
	return int(n), n > 0
}

// Targets returns the desired counts.
func (s *Scheduler) Targets() Targets {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.Targets
}

// validateScale applies want to base, refusing what Scale documents; mu
// must be held.
func (s *Scheduler) validateScale(base Targets, want map[string]int) (Targets, error) {
	t := base
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
			if n != base.DBServers && s.dbserverCleanoutRunning(base.DBServers) {
				return t, apiErr(http.StatusConflict, "a DBServer scale-down is still cleaning out servers; try again when it is done")
			}
			t.DBServers = n
		case "agents":
			if n < 1 || n%2 == 0 || n > 9 {
				return t, apiErr(http.StatusBadRequest, "agents must be odd (1, 3, 5, 7 or 9), got %d", n)
			}
			if n < 3 && n < base.Agents {
				return t, apiErr(http.StatusBadRequest, "agents %d → %d refused: an Agency of fewer than 3 agents survives no failure", base.Agents, n)
			}
			if d := n - base.Agents; d > 2 || d < -2 {
				return t, apiErr(http.StatusBadRequest, "agents change by two at a time (%d → %d), so the Agency keeps its quorum", base.Agents, n)
			}
			if n != base.Agents && len(s.st.Sorted(cluster.RoleAgent)) != base.Agents {
				return t, apiErr(http.StatusConflict, "the Agency is still changing size; try again when it is done")
			}
			t.Agents = n
		default:
			return t, apiErr(http.StatusBadRequest, "unknown role %q: coordinators, dbservers or agents", role)
		}
	}
	return t, nil
}

// dbserverCleanoutRunning reports a DBServer scale-down in progress: more
// DBServers than desired, or retired DBServers not yet gone.
func (s *Scheduler) dbserverCleanoutRunning(desired int) bool {
	if len(s.st.Sorted(cluster.RoleDBServer)) > desired {
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
