package scheduler

import (
	"context"
	"fmt"
	"time"
)

// autoscaler is the scheduler's memory for autoscaling: recent samples per
// role, when each role last stepped, and the recent decisions.
type autoscaler struct {
	samples   map[string][]Sample
	lastStep  map[string]time.Time
	decisions []Decision
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
