package agency

import (
	"sync"
	"time"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// transient is the leader's transient store: the same tree and operations as
// the replicated store, but local to the leader and never logged. Heartbeats
// (Sync/ServerStates) live here. A new leader starts with an empty one.
type transient struct {
	mu sync.Mutex
	s  *Store
}

func newTransient() *transient { return &transient{s: NewStore()} }

func (t *transient) reset() {
	t.mu.Lock()
	t.s = NewStore()
	t.mu.Unlock()
}

// apply applies the transactions at the local time; a successful one gets
// the current commit index as its result, as ArangoDB answers.
func (t *transient) apply(trxs []cluster.Transaction, commitIndex uint64) *ApplyResult {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	res := &ApplyResult{}
	for i := range trxs {
		if t.s.applyTxn(&trxs[i], now).ok {
			res.Results = append(res.Results, commitIndex)
		} else {
			res.Results = append(res.Results, uint64(0))
			res.AnyFailed = true
		}
	}
	return res
}

func (t *transient) expire(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.s.expire(t.s.expiredKeys(now), now)
}

func (t *transient) tree() map[string]any {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.s.read(cluster.ReadQuery{"/"}, time.Now())
}
