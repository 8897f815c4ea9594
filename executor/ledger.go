package executor

import (
	"sync"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
)

// ledger holds what the agent has not acknowledged yet: status updates, in
// the order they were made, and the tasks none of whose updates the agent
// has. Both go into every SUBSCRIBE, so an agent that restarted loses
// nothing; updates are sent strictly in order so the agent's per-task
// stream never sees a newer state before an older one.
type ledger struct {
	mu      sync.Mutex
	seq     uint64
	updates []ledgerEntry
	tasks   map[string]mesos.TaskInfo
}

type ledgerEntry struct {
	seq    uint64
	update executor.Call_Update
	// sent: the agent answered the UPDATE call, or it went in a SUBSCRIBE
	// that the agent answered with SUBSCRIBED.
	sent bool
}

func newLedger() *ledger { return &ledger{tasks: map[string]mesos.TaskInfo{}} }

// addTask records a task the agent launched.
func (l *ledger) addTask(t mesos.TaskInfo) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tasks[t.TaskID.Value] = t
}

// add appends an update; it stays until acknowledged.
func (l *ledger) add(st mesos.TaskStatus) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	l.updates = append(l.updates, ledgerEntry{seq: l.seq, update: executor.Call_Update{Status: st}})
}

// ack drops the update with uuid and the task it is for; it reports
// whether the update was pending.
func (l *ledger) ack(taskID string, uuid []byte) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.tasks, taskID)
	for i, e := range l.updates {
		if string(e.update.Status.UUID) == string(uuid) {
			l.updates = append(l.updates[:i], l.updates[i+1:]...)
			return true
		}
	}
	return false
}

// subscribeLists returns the unacknowledged tasks and updates for a
// SUBSCRIBE call, and the sequence number of the newest update in it.
func (l *ledger) subscribeLists() ([]mesos.TaskInfo, []executor.Call_Update, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	tasks := make([]mesos.TaskInfo, 0, len(l.tasks))
	for _, t := range l.tasks {
		tasks = append(tasks, t)
	}
	updates := make([]executor.Call_Update, 0, len(l.updates))
	for _, e := range l.updates {
		updates = append(updates, e.update)
	}
	return tasks, updates, l.seq
}

// subscribed marks every update up to seq as delivered by a SUBSCRIBE.
func (l *ledger) subscribed(seq uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range l.updates {
		if l.updates[i].seq <= seq {
			l.updates[i].sent = true
		}
	}
}

// nextUnsent returns the oldest update not sent yet.
func (l *ledger) nextUnsent() (executor.Call_Update, uint64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.updates {
		if !e.sent {
			return e.update, e.seq, true
		}
	}
	return executor.Call_Update{}, 0, false
}

// markSent records that the agent took the update with seq.
func (l *ledger) markSent(seq uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range l.updates {
		if l.updates[i].seq == seq {
			l.updates[i].sent = true
		}
	}
}

// empty says whether the agent has acknowledged every update.
func (l *ledger) empty() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.updates) == 0
}

// pending is the number of unacknowledged updates.
func (l *ledger) pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.updates)
}
