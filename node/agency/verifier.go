package agency

import (
	"context"
	"sync"

	"github.com/hashicorp/raft"
)

// verifier coalesces leadership checks for linearizable reads: every reader
// waits for a VerifyLeader round that started after it arrived, but readers
// that arrive together share one round (one heartbeat to the followers).
type verifier struct {
	r       *raft.Raft
	mu      sync.Mutex
	waiting []chan error
	running bool
}

func newVerifier(r *raft.Raft) *verifier { return &verifier{r: r} }

// verify returns nil once a quorum confirmed this agent's leadership after
// the call began.
func (v *verifier) verify(ctx context.Context) error {
	ch := make(chan error, 1)
	v.mu.Lock()
	v.waiting = append(v.waiting, ch)
	if !v.running {
		v.running = true
		go v.loop()
	}
	v.mu.Unlock()
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (v *verifier) loop() {
	for {
		v.mu.Lock()
		batch := v.waiting
		v.waiting = nil
		if len(batch) == 0 {
			v.running = false
			v.mu.Unlock()
			return
		}
		v.mu.Unlock()
		err := v.r.VerifyLeader().Error()
		for _, ch := range batch {
			ch <- err
		}
	}
}
