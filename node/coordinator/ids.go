package coordinator

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// keyBlock is how many document keys a coordinator reserves at once.
const keyBlock = 5000

// idAllocator hands out cluster-wide unique ids from Sync/LatestID
// (docs/internals.md): for databases, collections, shards and indexes, and
// in blocks for the keys of documents inserted without one, so a retried
// insert reuses its key.
type idAllocator struct {
	agency *cluster.AgencyClient

	mu         sync.Mutex
	next, stop uint64 // the reserved key block [next, stop)
}

func newIDAllocator(a *cluster.AgencyClient) *idAllocator { return &idAllocator{agency: a} }

// Reserve reserves n ids and returns the first; they are first…first+n-1.
func (a *idAllocator) Reserve(ctx context.Context, n int) (uint64, error) {
	first, err := cluster.ReserveIDs(ctx, a.agency, n)
	if err != nil {
		return 0, fmt.Errorf("coordinator: %w", err)
	}
	return first, nil
}

// Keys returns n new document keys.
func (a *idAllocator) Keys(ctx context.Context, n int) ([]string, error) {
	out := make([]string, 0, n)
	a.mu.Lock()
	defer a.mu.Unlock()
	for len(out) < n {
		if a.next == a.stop {
			first, err := a.Reserve(ctx, max(keyBlock, n-len(out)))
			if err != nil {
				return nil, err
			}
			a.next, a.stop = first, first+uint64(max(keyBlock, n-len(out)))
		}
		out = append(out, strconv.FormatUint(a.next, 10))
		a.next++
	}
	return out, nil
}
