package scheduler

import (
	"sync"
	"time"
)

// Event kinds of the event log.
const (
	EventLaunch    = "launch"
	EventRunning   = "running"
	EventFailed    = "failed"
	EventRelaunch  = "relaunch"
	EventLost      = "lost"
	EventReplace   = "replace"
	EventScale     = "scale"
	EventAutoscale = "autoscale"
	EventRemoved   = "removed"
	EventKill      = "kill"
	EventHealth    = "health"
	EventFramework = "framework"
)

// Event is one entry of the event log: what happened to which member, and
// why. The web UI and GET /v1/events show them.
type Event struct {
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	Member  string    `json:"member,omitempty"`
	Message string    `json:"message"`
}

// EventLog keeps the most recent events and wakes subscribers (the live
// stream of /v1/events) when a new one arrives.
type EventLog struct {
	mu      sync.Mutex
	events  []Event
	max     int
	seq     uint64
	changed chan struct{}
}

// NewEventLog returns a log that keeps max events.
func NewEventLog(max int) *EventLog {
	return &EventLog{max: max, changed: make(chan struct{})}
}

// Add records an event.
func (l *EventLog) Add(e Event) Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	e.Seq = l.seq
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	l.events = append(l.events, e)
	if len(l.events) > l.max {
		l.events = append(l.events[:0:0], l.events[len(l.events)-l.max:]...)
	}
	close(l.changed)
	l.changed = make(chan struct{})
	return e
}

// Since returns the events after seq and a channel closed at the next one.
func (l *EventLog) Since(seq uint64) ([]Event, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Event
	for _, e := range l.events {
		if e.Seq > seq {
			out = append(out, e)
		}
	}
	return out, l.changed
}
