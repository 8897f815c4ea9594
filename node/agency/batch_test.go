package agency

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// fakeLog stands in for Raft: it records each proposed payload, blocks until
// released, and answers as the FSM would, one index per entry, 0 for a
// transaction on a key under /fail.
type fakeLog struct {
	mu       sync.Mutex
	payloads []string
	release  chan struct{}
	err      error
}

func (l *fakeLog) propose(payload []byte) (*ApplyResult, error) {
	trxs, err := cluster.ParseWriteRequest(payload)
	if err != nil {
		return nil, fmt.Errorf("proposed payload %s: %w", payload, err)
	}
	l.mu.Lock()
	l.payloads = append(l.payloads, string(payload))
	index := uint64(len(l.payloads))
	l.mu.Unlock()
	<-l.release
	if l.err != nil {
		return nil, l.err
	}
	res := &ApplyResult{}
	for _, t := range trxs {
		idx := index
		for k := range t.Ops {
			if k == "/fail" {
				idx = 0
			}
		}
		res.AnyFailed = res.AnyFailed || idx == 0
		res.Results = append(res.Results, idx)
	}
	return res, nil
}

func (b *writeBatcher) queued() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue)
}

// request is a write request body of one transaction per key.
func request(keys ...string) []byte {
	s := "["
	for i, k := range keys {
		if i > 0 {
			s += ","
		}
		s += fmt.Sprintf(` [ {%q: 1} ] `, k)
	}
	return []byte(" " + s + "]\n")
}

func TestWriteBatcherCoalescesWritesWaitingForACommit(t *testing.T) {
	l := &fakeLog{release: make(chan struct{})}
	b := &writeBatcher{propose: l.propose}
	type answer struct {
		res *ApplyResult
		err error
	}
	write := func(keys ...string) chan answer {
		ch := make(chan answer, 1)
		go func() {
			res, err := b.write(request(keys...), len(keys))
			ch <- answer{res, err}
		}()
		return ch
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	proposed := func() int { l.mu.Lock(); defer l.mu.Unlock(); return len(l.payloads) }

	// Two writes fill the in-flight slots; the next three wait together.
	first := []chan answer{write("/a"), write("/b")}
	waitFor("two proposals", func() bool { return proposed() == maxInflightWrites })
	queued := []chan answer{write("/c", "/fail"), write("/d"), write("/e", "/f")}
	waitFor("three queued writes", func() bool { return b.queued() == 3 })
	close(l.release)
	for _, ch := range first {
		if a := <-ch; a.err != nil || len(a.res.Results) != 1 || a.res.AnyFailed {
			t.Fatalf("first writes: %+v, %v", a.res, a.err)
		}
	}
	want := []struct {
		results []uint64
		failed  bool
	}{{[]uint64{3, 0}, true}, {[]uint64{3}, false}, {[]uint64{3, 3}, false}}
	for i, ch := range queued {
		a := <-ch
		if a.err != nil || a.res.AnyFailed != want[i].failed || fmt.Sprint(a.res.Results) != fmt.Sprint(want[i].results) {
			t.Fatalf("queued write %d: %+v, %v; want results %v, failed %v", i, a.res, a.err, want[i].results, want[i].failed)
		}
	}
	// The goroutine that proposed the last entry gives its slot up after
	// answering.
	waitFor("no entry in flight", func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.inflight == 0 })
	if len(l.payloads) != 3 || b.queued() != 0 {
		t.Fatalf("proposed %d entries, want 3: %q; %d writes still queued", len(l.payloads), l.payloads, b.queued())
	}
	if trxs, err := cluster.ParseWriteRequest([]byte(l.payloads[2])); err != nil || len(trxs) != 5 {
		t.Fatalf("coalesced entry %s: %d transactions, %v; want 5", l.payloads[2], len(trxs), err)
	}
}

func TestWriteBatcherGivesEveryWriteTheEntrysError(t *testing.T) {
	l := &fakeLog{release: make(chan struct{}), err: ErrOutcomeUnknown}
	close(l.release)
	b := &writeBatcher{propose: l.propose}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := b.write(request(fmt.Sprintf("/k%d", i)), 1); !errors.Is(err, ErrOutcomeUnknown) {
				t.Errorf("write %d: %v, want ErrOutcomeUnknown", i, err)
			}
		}()
	}
	wg.Wait()
	if _, err := b.write([]byte(`{"not":"an array"}`), 1); err == nil {
		t.Fatal("a body that is not an array was proposed")
	}
}

func TestTakeLockedKeepsEntriesWithinTheLimits(t *testing.T) {
	b := &writeBatcher{}
	big := make([]byte, maxBatchBytes/2+1)
	for i := 0; i < 3; i++ {
		b.queue = append(b.queue, &pendingWrite{body: big, n: 1})
	}
	for i := 0; i < maxBatchWrites+1; i++ {
		b.queue = append(b.queue, &pendingWrite{body: []byte("[[{}]]"), n: 1})
	}
	var sizes []int
	for batch := b.takeLocked(); batch != nil; batch = b.takeLocked() {
		sizes = append(sizes, len(batch))
	}
	// No two large writes fit in one entry; the last one goes with small ones
	// up to the count limit, and the rest follow.
	if want := fmt.Sprint([]int{1, 1, maxBatchWrites, 2}); fmt.Sprint(sizes) != want {
		t.Fatalf("batch sizes %v, want %v", sizes, want)
	}
}
