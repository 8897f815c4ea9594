package arangohttp

import (
	"net/http"

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
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !openSet[r.URL.Path] {
			if err := cluster.VerifySuperuser(secret, r); err != nil {
				WriteError(w, Unauthorized())
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
