package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Cache keeps a local copy of the Agency's tree up to date through the long
// poll (/_api/agency/poll), so that coordinators, DBServers and the scheduler
// read the Agency without a round trip and never busy-poll. It is ArangoDB's
// AgencyCache.
//
// Readers either Get values, or wait on Changed and rebuild their own typed
// view. After a write of their own, callers use WaitIndex with the write's
// index to read their writes.
type Cache struct {
	client *AgencyClient
	log    *slog.Logger
	// PollTimeout is how long one long poll waits (default 30 s).
	PollTimeout time.Duration

	mu          sync.RWMutex
	tree        map[string]any
	index       uint64
	lastContact time.Time
	changed     chan struct{}
	ready       chan struct{}
}

// NewCache returns a cache fed by client; call Run to start it.
func NewCache(client *AgencyClient, log *slog.Logger) *Cache {
	if log == nil {
		log = slog.Default()
	}
	return &Cache{client: client, log: log, PollTimeout: 30 * time.Second,
		tree: map[string]any{}, changed: make(chan struct{}), ready: make(chan struct{})}
}

// poolRefresh is how often the cache's client relearns the Agency's pool.
const poolRefresh = 30 * time.Second

// Run follows the Agency until ctx ends. Errors (no leader, network) are
// retried with a backoff; the cache keeps serving its last state meanwhile.
// Every poolRefresh it has its client relearn the Agency's pool, so that a
// long-lived node follows agents that were replaced.
func (c *Cache) Run(ctx context.Context) {
	backoff := 50 * time.Millisecond
	learned := time.Now()
	for ctx.Err() == nil {
		if time.Since(learned) > poolRefresh {
			lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if err := c.client.LearnPool(lctx); err != nil {
				c.log.Debug("agency pool not refreshed", "err", err)
			}
			cancel()
			learned = time.Now()
		}
		c.mu.RLock()
		next := c.index + 1
		if c.index == 0 {
			next = 0
		}
		c.mu.RUnlock()
		pctx, cancel := context.WithTimeout(ctx, c.PollTimeout+10*time.Second)
		res, err := c.client.Poll(pctx, next, c.PollTimeout)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				c.log.Debug("agency poll failed; retrying", "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(backoff):
				}
				backoff = min(backoff*2, 2*time.Second)
			}
			continue
		}
		backoff = 50 * time.Millisecond
		c.apply(res)
		c.mu.Lock()
		c.lastContact = time.Now()
		c.mu.Unlock()
	}
}

func (c *Cache) apply(res PollResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	updated := false
	switch {
	case res.ReadDB != nil:
		c.tree = res.ReadDB
		updated = true
	default:
		for _, e := range res.Log {
			if e.Index <= c.index {
				continue
			}
			for _, ch := range e.Changes {
				parts := SplitPath(ch.Key)
				if len(parts) == 0 {
					continue
				}
				if ch.Op == "delete" {
					TreeRemove(c.tree, parts)
				} else {
					TreePut(c.tree, parts, ch.Value)
				}
			}
			updated = true
		}
	}
	if res.CommitIndex > c.index {
		c.index = res.CommitIndex
		updated = true
	}
	if updated {
		close(c.changed)
		c.changed = make(chan struct{})
	}
	select {
	case <-c.ready:
	default:
		if res.ReadDB != nil || c.index > 0 {
			close(c.ready)
		}
	}
}

// LastContact is when the cache last got an answer from the Agency; a
// healthy Agency answers at least every PollTimeout.
func (c *Cache) LastContact() time.Time {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.lastContact
}

// Ready is closed once the cache holds the Agency's tree.
func (c *Cache) Ready() <-chan struct{} { return c.ready }

// Index returns the Raft index the cache reflects.
func (c *Cache) Index() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.index
}

// Changed returns a channel that is closed at the next update.
func (c *Cache) Changed() <-chan struct{} {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.changed
}

// WaitIndex waits until the cache reflects at least index (for example the
// index of one's own write).
func (c *Cache) WaitIndex(ctx context.Context, index uint64) error {
	for {
		c.mu.RLock()
		idx, ch := c.index, c.changed
		c.mu.RUnlock()
		if idx >= index {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("cluster: agency cache at index %d, waiting for %d: %w", idx, index, ctx.Err())
		}
	}
}

// Get decodes the value at key into out and reports whether it exists.
func (c *Cache) Get(key string, out any) (bool, error) {
	c.mu.RLock()
	v, ok := TreeLookup(c.tree, SplitPath(key))
	var b []byte
	var err error
	if ok && out != nil {
		b, err = json.Marshal(v)
	}
	c.mu.RUnlock()
	if !ok || out == nil {
		return ok, nil
	}
	if err != nil {
		return true, err
	}
	return true, decodeNumbers(b, out)
}

// Value returns a copy of the raw value at key (nil when absent).
func (c *Cache) Value(key string) any {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, _ := TreeLookup(c.tree, SplitPath(key))
	return DeepCopy(v)
}
