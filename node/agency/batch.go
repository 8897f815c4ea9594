package agency

import (
	"bytes"
	"fmt"
	"sync"
)

// Limits of one coalesced write entry. maxInflightWrites is how many write
// entries may wait for their commit at once; requests arriving meanwhile are
// queued and go into the next entry together.
const (
	maxInflightWrites = 2
	maxBatchWrites    = 256
	maxBatchBytes     = 1 << 20
)

// writeBatcher coalesces concurrent write requests into one Raft log entry
// (group commit). A write request is a JSON array of transactions, each
// applied on its own in order, so the concatenation of several requests'
// arrays is itself a write request that every agent applies exactly as it
// would apply them one after another; only the Raft index their
// transactions report is shared. Fewer, larger entries mean fewer log
// commits (each two fdatasyncs on every agent) and fewer replication rounds
// per write.
//
// A write finding fewer than maxInflightWrites entries in flight is proposed
// at once by its own goroutine, so a lone writer waits for nothing; otherwise
// it is queued, and the goroutine whose entry commits next proposes the queue.
type writeBatcher struct {
	// propose appends a write entry with payload and waits until it is
	// applied.
	propose func(payload []byte) (*ApplyResult, error)
	// onEntry, when set, learns how many requests each proposed entry
	// holds.
	onEntry func(requests int)

	mu       sync.Mutex
	queue    []*pendingWrite
	inflight int
}

// pendingWrite is one write request waiting for its entry's commit.
type pendingWrite struct {
	body []byte // the request's JSON array, surrounding white space trimmed
	n    int    // its number of transactions
	res  *ApplyResult
	err  error
	done chan struct{}
}

// write applies a validated write request of n transactions and returns its
// own results.
func (b *writeBatcher) write(body []byte, n int) (*ApplyResult, error) {
	body = bytes.TrimSpace(body)
	if n < 1 || len(body) < 2 || body[0] != '[' || body[len(body)-1] != ']' {
		return nil, fmt.Errorf("agency: write of %d transactions is not a JSON array", n)
	}
	p := &pendingWrite{body: body, n: n, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, p)
	var batch []*pendingWrite
	if b.inflight < maxInflightWrites {
		b.inflight++
		batch = b.takeLocked()
	}
	b.mu.Unlock()
	if batch != nil {
		b.flush(batch)
		// Whoever waits now goes into the next entry, proposed by another
		// goroutine so that this request's answer is not held up.
		if next := b.next(); next != nil {
			go b.run(next)
		}
	}
	<-p.done
	return p.res, p.err
}

// run proposes batches until the queue is empty.
func (b *writeBatcher) run(batch []*pendingWrite) {
	for batch != nil {
		b.flush(batch)
		batch = b.next()
	}
}

// next takes the next batch off the queue, or gives up the in-flight slot
// and returns nil when nothing waits.
func (b *writeBatcher) next() []*pendingWrite {
	b.mu.Lock()
	defer b.mu.Unlock()
	batch := b.takeLocked()
	if batch == nil {
		b.inflight--
	}
	return batch
}

// takeLocked removes the oldest queued writes that fit in one entry; mu must
// be held. The first write always fits, however large.
func (b *writeBatcher) takeLocked() []*pendingWrite {
	if len(b.queue) == 0 {
		return nil
	}
	n, size := 1, len(b.queue[0].body)
	for n < len(b.queue) && n < maxBatchWrites && size+len(b.queue[n].body) <= maxBatchBytes {
		size += len(b.queue[n].body)
		n++
	}
	batch := b.queue[:n:n]
	b.queue = append([]*pendingWrite(nil), b.queue[n:]...)
	return batch
}

// flush proposes one entry holding the batch's requests and hands each
// request its share of the results.
func (b *writeBatcher) flush(batch []*pendingWrite) {
	defer func() {
		for _, p := range batch {
			close(p.done)
		}
	}()
	if b.onEntry != nil {
		b.onEntry(len(batch))
	}
	if len(batch) == 1 {
		batch[0].res, batch[0].err = b.propose(batch[0].body)
		return
	}
	res, err := b.propose(concatArrays(batch))
	total := 0
	for _, p := range batch {
		total += p.n
	}
	if err == nil && len(res.Results) != total {
		err = fmt.Errorf("agency: coalesced write of %d transactions got %d results", total, len(res.Results))
	}
	if err != nil {
		for _, p := range batch {
			p.err = err
		}
		return
	}
	for _, p := range batch {
		p.res = &ApplyResult{Results: res.Results[:p.n:p.n]}
		for _, r := range p.res.Results {
			if idx, ok := r.(uint64); !ok || idx == 0 {
				p.res.AnyFailed = true
			}
		}
		res.Results = res.Results[p.n:]
	}
}

// concatArrays joins the requests' JSON arrays into one array.
func concatArrays(batch []*pendingWrite) []byte {
	size := 1
	for _, p := range batch {
		size += len(p.body) - 1
	}
	out := make([]byte, 0, size)
	for i, p := range batch {
		if i == 0 {
			out = append(out, '[')
		} else {
			out = append(out, ',')
		}
		out = append(out, p.body[1:len(p.body)-1]...)
	}
	return append(out, ']')
}
