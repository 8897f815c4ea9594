package agency

import "github.com/arangomesos/arangomesos/node/cluster"

// changeRing holds the most recent poll entries in a fixed circular buffer:
// appending is O(1) and never copies the entries it keeps.
type changeRing struct {
	buf   []cluster.PollEntry
	start int // position of the oldest entry
	n     int
}

func newChangeRing(capacity int) *changeRing {
	return &changeRing{buf: make([]cluster.PollEntry, capacity)}
}

// push appends e and returns the entry it evicted, if the ring was full.
func (r *changeRing) push(e cluster.PollEntry) (evicted cluster.PollEntry, full bool) {
	if r.n < len(r.buf) {
		r.buf[(r.start+r.n)%len(r.buf)] = e
		r.n++
		return cluster.PollEntry{}, false
	}
	evicted = r.buf[r.start]
	r.buf[r.start] = e
	r.start = (r.start + 1) % len(r.buf)
	return evicted, true
}

// from returns the entries with an index ≥ index, oldest first.
func (r *changeRing) from(index uint64) []cluster.PollEntry {
	// Entries are in index order; find the first one by binary search.
	lo, hi := 0, r.n
	for lo < hi {
		mid := (lo + hi) / 2
		if r.at(mid).Index >= index {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	out := make([]cluster.PollEntry, 0, r.n-lo)
	for i := lo; i < r.n; i++ {
		out = append(out, r.at(i))
	}
	return out
}

func (r *changeRing) at(i int) cluster.PollEntry { return r.buf[(r.start+i)%len(r.buf)] }

func (r *changeRing) reset() {
	clear(r.buf)
	r.start, r.n = 0, 0
}
