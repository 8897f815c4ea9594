package arangohttp

import (
	"net/http"
	"sync"
	"time"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// RequireSuperuser wraps next so that every request must carry a superuser
// JWT signed with secret (what agents and DBServers accept: intra-cluster
// calls only), except the paths in open. Without a secret it passes
// everything through (development mode). Refusals are 401 with ArangoDB's
// error body.
func RequireSuperuser(secret cluster.Secret, next http.Handler, open ...string) http.Handler {
	if !secret.Enabled() {
		return next
	}
	openSet := map[string]bool{}
	for _, p := range open {
		openSet[p] = true
	}
	seen := &tokenCache{max: 4096, ttl: 10 * time.Minute}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !openSet[r.URL.Path] {
			tok, _ := cluster.BearerToken(r)
			if !seen.ok(tok) {
				if err := cluster.VerifySuperuser(secret, r); err != nil {
					WriteError(w, Unauthorized())
					return
				}
				seen.add(tok)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// tokenCache remembers tokens that verified, for a while, so that the
// servers' long-lived tokens are not verified (HMAC and JSON) on every
// request. Tokens with an expiry are verified again after ttl anyway.
type tokenCache struct {
	mu   sync.Mutex
	max  int
	ttl  time.Duration
	seen map[string]time.Time
}

func (c *tokenCache) ok(tok string) bool {
	if tok == "" {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	until, found := c.seen[tok]
	return found && time.Now().Before(until)
}

func (c *tokenCache) add(tok string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil || len(c.seen) >= c.max {
		c.seen = map[string]time.Time{}
	}
	c.seen[tok] = time.Now().Add(c.ttl)
}
