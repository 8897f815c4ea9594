package scheduler

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// autoscaleRoles are the roles with an autoscale policy, in the order the
// autoscaler looks at them.
var autoscaleRoles = []string{"coordinators", "dbservers"}

// maxSamples bounds the samples kept per metric (a window of an hour at a
// one second interval).
const maxSamples = 4096

// maxDecisions is how many recent decisions GET /v1/autoscale shows.
const maxDecisions = 100

// autoscaler is the scheduler's memory for autoscaling, guarded by the
// scheduler's mu: the last scrape of every running member (for rates),
// recent samples per metric, the latest values per role and the recent
// decisions. It is not persisted: a restarted scheduler starts with an
// empty window. When each role last stepped is in the State
// (AutoscaleSteps), so the cooldown outlives a restart.
type autoscaler struct {
	prev     map[string]memberScrape // by task id
	samples  map[string][]Sample     // by metric, oldest first
	observed map[string]Observation  // by role
	// seen are the targets of the last round; a change the autoscaler did
	// not make (REST, web UI, numberOfServers) starts a fresh window.
	seen      map[string]int
	decisions []Decision
}

func (a *autoscaler) init() {
	if a.prev == nil {
		a.prev = map[string]memberScrape{}
		a.samples = map[string][]Sample{}
		a.observed = map[string]Observation{}
		a.seen = map[string]int{}
	}
}

// Observation is the latest reading of a role's metrics.
type Observation struct {
	Time time.Time `json:"time"`
	// Members is how many members answered the scrape.
	Members int                `json:"members"`
	Values  map[string]float64 `json:"values"`
}

// resetRole forgets a role's samples: after a step (or a change of the
// count by someone else) the metrics per member change, and the next
// decision needs a window of its own.
func (a *autoscaler) resetRole(role string) {
	for _, m := range metricsOf[role] {
		delete(a.samples, m)
	}
}

// SetPolicy validates and stores a new autoscale policy (400 on error).
func (s *Scheduler) SetPolicy(ctx context.Context, p Policy) error {
	if err := p.Coordinators.Validate("coordinators"); err != nil {
		return err
	}
	if err := p.DBServers.Validate("dbservers"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.Uninstalling {
		return ErrUninstalling
	}
	s.st.Autoscale = p
	s.record(Event{Kind: EventAutoscale, Message: fmt.Sprintf("autoscale policy set: coordinators %s; dbservers %s",
		describePolicy(p.Coordinators), describePolicy(p.DBServers))})
	return s.store.Save(ctx, s.st)
}

func describePolicy(p RolePolicy) string {
	if !p.Enabled {
		return "off"
	}
	return fmt.Sprintf("%d..%d on %s (up above %g, down below %g, window %v, cooldown %v)",
		p.Min, p.Max, p.Metric, p.ScaleUpAbove, p.ScaleDownBelow, time.Duration(p.Window), time.Duration(p.Cooldown))
}

// autoscaleDecisionsLocked returns the recent decisions, newest last.
func (s *Scheduler) autoscaleDecisionsLocked() []Decision {
	if s.as.decisions == nil {
		return []Decision{}
	}
	return append([]Decision(nil), s.as.decisions...)
}

// RoleAutoscale is the autoscaler's view of one role in GET /v1/autoscale.
type RoleAutoscale struct {
	// Metric is the policy's metric; Samples how many samples of it the
	// autoscaler holds (the current window, plus one before it), Last the
	// newest.
	Metric  string  `json:"metric"`
	Samples int     `json:"samples"`
	Last    *Sample `json:"last,omitempty"`
	// Observed are the latest values of every metric of the role.
	Observed *Observation `json:"observed,omitempty"`
	// LastStep is when the autoscaler last stepped this role; no step
	// before CooldownUntil.
	LastStep      *time.Time `json:"lastStep,omitempty"`
	CooldownUntil *time.Time `json:"cooldownUntil,omitempty"`
}

// AutoscaleStatus is the answer of GET /v1/autoscale.
type AutoscaleStatus struct {
	Policy    Policy                   `json:"policy"`
	Interval  Duration                 `json:"interval"`
	Roles     map[string]RoleAutoscale `json:"roles"`
	Decisions []Decision               `json:"decisions"`
}

// AutoscaleStatus returns the policy, what the autoscaler observes and its
// recent decisions.
func (s *Scheduler) AutoscaleStatus() AutoscaleStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := AutoscaleStatus{Policy: s.st.Autoscale, Interval: Duration(s.cfg.AutoscaleInterval),
		Roles: map[string]RoleAutoscale{}, Decisions: s.autoscaleDecisionsLocked()}
	for _, role := range autoscaleRoles {
		p := s.policyOf(role)
		r := RoleAutoscale{Metric: p.Metric, Samples: len(s.as.samples[p.Metric])}
		if n := r.Samples; n > 0 {
			last := s.as.samples[p.Metric][n-1]
			r.Last = &last
		}
		if o, ok := s.as.observed[role]; ok {
			r.Observed = &o
		}
		if t, ok := s.st.AutoscaleSteps[role]; ok {
			until := t.Add(time.Duration(p.Cooldown))
			r.LastStep, r.CooldownUntil = &t, &until
		}
		st.Roles[role] = r
	}
	return st
}

func (s *Scheduler) policyOf(role string) RolePolicy {
	if role == "coordinators" {
		return s.st.Autoscale.Coordinators
	}
	return s.st.Autoscale.DBServers
}

func targetOf(t Targets, role string) int {
	if role == "coordinators" {
		return t.Coordinators
	}
	return t.DBServers
}

func clusterRole(role string) cluster.Role {
	if role == "coordinators" {
		return cluster.RoleCoordinator
	}
	return cluster.RoleDBServer
}

// scrapeTarget is a running member whose metrics the autoscaler reads.
type scrapeTarget struct {
	Role   string // coordinators or dbservers
	Member string
	TaskID string
	URL    string // http://host:port/_admin/metrics
}

// scrapeTargets lists the running coordinators and DBServers; nil during an
// uninstall or before the first deployment finished.
func (s *Scheduler) scrapeTargets() []scrapeTarget {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.Uninstalling || !s.st.Deployed {
		return nil
	}
	var out []scrapeTarget
	for _, role := range autoscaleRoles {
		for _, m := range s.st.Sorted(clusterRole(role)) {
			if m.Running() {
				out = append(out, scrapeTarget{Role: role, Member: m.Name, TaskID: m.TaskID,
					URL: "http://" + strings.TrimPrefix(m.Endpoint(), "tcp://") + "/_admin/metrics"})
			}
		}
	}
	return out
}

// scrapeAll reads every target's metrics concurrently, each within the
// client's timeout; members that do not answer are left out.
func scrapeAll(ctx context.Context, client *http.Client, targets []scrapeTarget) map[string]memberScrape {
	var mu sync.Mutex
	var wg sync.WaitGroup
	out := map[string]memberScrape{}
	for _, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := scrape(ctx, client, t.URL)
			if err != nil {
				return
			}
			mu.Lock()
			out[t.TaskID] = memberScrape{Member: t.Member, TaskID: t.TaskID, At: time.Now(), M: m}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

func scrape(ctx context.Context, client *http.Client, url string) (nodeMetrics, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nodeMetrics{}, err
	}
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := client.Do(req)
	if err != nil {
		return nodeMetrics{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nodeMetrics{}, fmt.Errorf("%s: %s", url, resp.Status)
	}
	return readNodeMetrics(resp.Body)
}

// scrapeTimeout bounds one scrape: the interval, at most 5s.
func scrapeTimeout(interval time.Duration) time.Duration {
	return min(interval, 5*time.Second)
}

// autoscaleLoop scrapes the members and runs the autoscaler every
// --autoscale-interval until ctx ends. The scrapes run without the
// scheduler's lock.
func (s *Scheduler) autoscaleLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.AutoscaleInterval)
	defer t.Stop()
	client := &http.Client{Timeout: scrapeTimeout(s.cfg.AutoscaleInterval)}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		targets := s.scrapeTargets()
		if targets == nil {
			continue
		}
		got := scrapeAll(ctx, client, targets)
		s.autoscaleStep(ctx, time.Now(), targets, got)
	}
}

// autoscaleStep is one round of the autoscaler at now: it turns the
// scrapes into samples, evaluates each role's policy, and applies at most
// one step per role through Scale, the path of PUT /v1/scale (so its
// checks hold: e.g. never fewer DBServers than the largest
// replicationFactor). A role is only evaluated while it is settled: as many
// members running as desired, none leaving.
func (s *Scheduler) autoscaleStep(ctx context.Context, now time.Time, targets []scrapeTarget, got map[string]memberScrape) {
	s.mu.Lock()
	if s.st.Uninstalling || !s.st.Deployed {
		s.mu.Unlock()
		return
	}
	a := &s.as
	a.init()
	var plans []Decision
	for _, role := range autoscaleRoles {
		want := targetOf(s.st.Targets, role)
		if seen, ok := a.seen[role]; ok && seen != want {
			a.resetRole(role)
		}
		a.seen[role] = want

		cur := map[string]memberScrape{}
		for _, t := range targets {
			if g, ok := got[t.TaskID]; ok && t.Role == role {
				cur[t.TaskID] = g
			}
		}
		values := roleMetrics(role, a.prev, cur)
		if len(cur) > 0 {
			a.observed[role] = Observation{Time: now, Members: len(cur), Values: values}
		}
		p := s.policyOf(role)
		for metric, v := range values {
			a.samples[metric] = trimSamples(append(a.samples[metric], Sample{Time: now, Value: v}), now, time.Duration(p.Window))
			s.metrics.autoscaleObserved.WithLabelValues(role, metric).Set(v)
		}
		if !p.Enabled || !s.roleSettledLocked(clusterRole(role), want) {
			continue
		}
		if to, reason, ok := p.Evaluate(want, a.samples[p.Metric], s.st.AutoscaleSteps[role], now); ok {
			plans = append(plans, Decision{Time: now, Role: role, Metric: p.Metric, From: want, To: to, Reason: reason})
		}
	}
	// The next rates start from this round's scrapes; a running member
	// that did not answer keeps its older one.
	prev := map[string]memberScrape{}
	for _, t := range targets {
		if g, ok := got[t.TaskID]; ok {
			prev[t.TaskID] = g
		} else if p, ok := a.prev[t.TaskID]; ok {
			prev[t.TaskID] = p
		}
	}
	a.prev = prev
	s.mu.Unlock()

	for _, d := range plans {
		_, err := s.Scale(ctx, map[string]int{d.Role: d.To}, "the autoscaler")
		s.mu.Lock()
		if s.st.AutoscaleSteps == nil {
			s.st.AutoscaleSteps = map[string]time.Time{}
		}
		s.st.AutoscaleSteps[d.Role] = now
		if err := s.store.Save(ctx, s.st); err != nil {
			s.log.Error("save state after an autoscale step", "err", err)
		}
		a.resetRole(d.Role)
		a.seen[d.Role] = targetOf(s.st.Targets, d.Role)
		result := "applied"
		msg := fmt.Sprintf("autoscaler: %s %d → %d: %s", d.Role, d.From, d.To, d.Reason)
		if err != nil {
			d.Error, result = err.Error(), "refused"
			msg = fmt.Sprintf("autoscaler: wanted %s %d → %d (%s) but the scale request was refused: %v; next try after the cooldown",
				d.Role, d.From, d.To, d.Reason, err)
		}
		a.decisions = append(a.decisions, d)
		if len(a.decisions) > maxDecisions {
			a.decisions = append(a.decisions[:0:0], a.decisions[len(a.decisions)-maxDecisions:]...)
		}
		direction := "up"
		if d.To < d.From {
			direction = "down"
		}
		s.metrics.autoscaleDecisions.WithLabelValues(d.Role, direction, result).Inc()
		s.record(Event{Kind: EventAutoscale, Message: msg})
		s.mu.Unlock()
	}
}

// trimSamples keeps the samples of the window before now, and the newest
// one older than the window (it shows that the samples cover the window),
// at most maxSamples.
func trimSamples(samples []Sample, now time.Time, window time.Duration) []Sample {
	start := now.Add(-window)
	i := 0
	for i < len(samples) && samples[i].Time.Before(start) {
		i++
	}
	i = max(i-1, 0, len(samples)-maxSamples)
	if i == 0 {
		return samples
	}
	return append(samples[:0:0], samples[i:]...)
}

// roleSettledLocked reports whether a role has exactly want members, all
// running, and none retired still leaving: no scale operation (the
// autoscaler's or anyone's) is under way.
func (s *Scheduler) roleSettledLocked(role cluster.Role, want int) bool {
	have := s.st.Sorted(role)
	if len(have) != want {
		return false
	}
	for _, m := range have {
		if !m.Running() {
			return false
		}
	}
	for _, r := range s.st.Retired {
		if r.Role == role {
			return false
		}
	}
	return true
}
