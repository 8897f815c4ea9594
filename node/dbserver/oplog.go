package dbserver

import (
	"sync"

	"github.com/arangomesos/arangomesos/node/shardapi"
)

// opLog keeps a leader's most recent operations of its current term in
// memory, for its in-sync followers' replication streams and for followers
// that catch up by tailing. It holds at most maxEntries entries and about
// maxBytes of documents; older ones fall out.
type opLog struct {
	mu         sync.Mutex
	entries    []shardapi.Entry // entries[i].Seq == first+i
	sizes      []int
	first      uint64 // seq of entries[0]
	bytes      int
	maxEntries int
	maxBytes   int
}

func newOpLog(maxEntries, maxBytes int) *opLog {
	return &opLog{first: 1, maxEntries: maxEntries, maxBytes: maxBytes}
}

// reset empties the log; the next entry appended has seq next.
func (l *opLog) reset(next uint64) {
	l.mu.Lock()
	l.entries, l.sizes, l.first, l.bytes = nil, nil, next, 0
	l.mu.Unlock()
}

func entrySize(e shardapi.Entry) int {
	n := 64 + len(e.Result)
	for _, m := range e.Muts {
		n += 32 + len(m.Key) + len(m.Doc)
	}
	return n
}

// append adds the next entry (its Seq must follow the last).
func (l *opLog) append(e shardapi.Entry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	sz := entrySize(e)
	l.entries = append(l.entries, e)
	l.sizes = append(l.sizes, sz)
	l.bytes += sz
	drop := 0
	for len(l.entries)-drop > 1 && (len(l.entries)-drop > l.maxEntries || l.bytes > l.maxBytes) {
		l.bytes -= l.sizes[drop]
		drop++
	}
	if drop > 0 {
		l.entries = append([]shardapi.Entry(nil), l.entries[drop:]...)
		l.sizes = append([]int(nil), l.sizes[drop:]...)
		l.first += uint64(drop)
	}
}

// since returns up to limit entries (and about maxBytes) after seq, and
// false when the log no longer holds seq+1 (it fell out).
func (l *opLog) since(seq uint64, limit, maxBytes int) ([]shardapi.Entry, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if seq+1 < l.first {
		return nil, false
	}
	i := int(seq + 1 - l.first)
	if i >= len(l.entries) {
		return nil, true
	}
	var out []shardapi.Entry
	size := 0
	for ; i < len(l.entries) && len(out) < limit; i++ {
		if len(out) > 0 && size+l.sizes[i] > maxBytes {
			break
		}
		out = append(out, l.entries[i])
		size += l.sizes[i]
	}
	return out, true
}

// holds reports whether the entry after seq is still (or not yet) in the
// log, i.e. a follower at seq can tail.
func (l *opLog) holds(seq uint64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return seq+1 >= l.first
}
