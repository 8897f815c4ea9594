package scheduler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
)

// ErrUninstalling: the request conflicts with a running uninstall.
var ErrUninstalling = errors.New("scheduler: an uninstall is running")

// uninstallGiveUp is how long an uninstall waits for the reservations of
// hosts that never offer again before it reports them and finishes.
const uninstallGiveUp = 10 * time.Minute

// uninstallRun tracks POST /v1/uninstall.
type uninstallRun struct {
	Started  time.Time `json:"started"`
	Done     bool      `json:"done"`
	Leftover []string  `json:"leftover,omitempty"`
	ready    bool
}

// UninstallStatus reports the uninstall's progress.
type UninstallStatus struct {
	Running   bool      `json:"running"`
	Done      bool      `json:"done"`
	Started   time.Time `json:"started,omitempty"`
	Remaining []string  `json:"remaining"`
	Leftover  []string  `json:"leftover,omitempty"`
}

// StartUninstall begins removing everything: every member is retired (its
// task killed), volumes are destroyed and reservations released as their
// offers come back, then the framework is torn down and the state deleted.
// Starting it again is harmless.
func (s *Scheduler) StartUninstall(ctx context.Context) (UninstallStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.uninstall == nil {
		s.uninstall = &uninstallRun{Started: time.Now()}
		s.st.Uninstalling = true
		for _, m := range s.st.Sorted("") {
			_ = s.st.Retire(m, "uninstalled", false)
		}
		for _, r := range s.st.Retired {
			r.RemovedFromCluster = true // the whole cluster goes away
		}
		s.record(Event{Kind: EventScale, Message: "uninstall: stopping every member, destroying volumes, releasing reservations"})
		if err := s.store.Save(ctx, s.st); err != nil {
			return UninstallStatus{}, fmt.Errorf("scheduler: save state: %w", err)
		}
	}
	st := s.uninstallStatusLocked()
	s.Kick()
	return st, nil
}

// UninstallStatus reports the progress of an uninstall.
func (s *Scheduler) UninstallStatus() UninstallStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.uninstallStatusLocked()
}

func (s *Scheduler) uninstallStatusLocked() UninstallStatus {
	if s.uninstall == nil {
		return UninstallStatus{Remaining: []string{}}
	}
	st := UninstallStatus{Running: !s.uninstall.Done, Done: s.uninstall.Done, Started: s.uninstall.Started,
		Remaining: []string{}, Leftover: s.uninstall.Leftover}
	for _, r := range s.st.Retired {
		st.Remaining = append(st.Remaining, r.Name)
	}
	return st
}

// uninstallStep notes when nothing is left to clean up (or when what is left
// can never be cleaned up); mu must be held.
func (s *Scheduler) uninstallStep() {
	u := s.uninstall
	if u.ready || u.Done {
		return
	}
	if len(s.st.Retired) == 0 {
		u.ready = true
		return
	}
	if time.Since(u.Started) > uninstallGiveUp {
		for _, r := range s.st.Retired {
			u.Leftover = append(u.Leftover, fmt.Sprintf("%s on %s (reservation %v, task %s)", r.Name, r.Hostname, r.Reserved, r.TaskState))
		}
		s.record(Event{Kind: EventScale, Message: fmt.Sprintf("uninstall: giving up on %d members whose hosts never offered again", len(u.Leftover))})
		u.ready = true
	}
}

// finishUninstall tears the framework down and deletes the state.
func (s *Scheduler) finishUninstall(ctx context.Context) error {
	s.mu.Lock()
	caller := s.caller
	s.mu.Unlock()
	if caller != nil {
		if err := calls.CallNoData(ctx, caller, &scheduler.Call{Type: scheduler.Call_TEARDOWN}); err != nil {
			s.log.Warn("teardown", "err", err)
		}
	}
	if err := s.store.Delete(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	s.uninstall.Done = true
	s.record(Event{Kind: EventScale, Message: "uninstall done: no task, volume or reservation left; framework removed; state deleted"})
	s.mu.Unlock()
	return nil
}

func (s *Scheduler) uninstalled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.uninstall != nil && s.uninstall.Done
}
