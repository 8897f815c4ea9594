package coordinator

import (
	"crypto/subtle"
	"net/http"
	"time"

	"github.com/arangomesos/arangomesos/node/arangohttp"
	"github.com/arangomesos/arangomesos/node/cluster"
)

// TokenLifetime is the lifetime of the JWTs /_open/auth hands out.
const TokenLifetime = time.Hour

// openPaths need no authentication.
var openPaths = map[string]bool{"/_open/auth": true, "/_admin/server/availability": true}

// authenticate checks clients' credentials when the cluster has a secret:
// basic auth as root, a user JWT from /_open/auth, or a cluster-internal
// superuser JWT; anything else gets 401 with ArangoDB's error body. It
// also answers POST /_open/auth (with or without the /_db/{db} prefix).
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, rest, _, _ := splitDBPrefix(r.URL.EscapedPath())
		if rest == "/_open/auth" && r.Method == http.MethodPost {
			s.handleLogin(w, r)
			return
		}
		if s.cfg.Secret.Enabled() && !openPaths[rest] && !s.authorized(r) {
			arangohttp.WriteError(w, arangohttp.Unauthorized())
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) authorized(r *http.Request) bool {
	if tok, ok := cluster.BearerToken(r); ok {
		_, err := cluster.VerifyToken(s.cfg.Secret, tok)
		return err == nil
	}
	if user, pass, ok := r.BasicAuth(); ok {
		return s.checkPassword(user, pass)
	}
	return false
}

func (s *Server) checkPassword(user, pass string) bool {
	return user == "root" && subtle.ConstantTimeCompare([]byte(pass), []byte(s.cfg.RootPassword)) == 1
}

// handleLogin answers POST /_open/auth {"username","password"} with
// {"jwt":…}, a token signed with the cluster secret, valid for an hour.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	body, err := arangohttp.ReadBody(r, 1<<16)
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	var req struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := arangohttp.Decode(body, &req); err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	if s.cfg.Secret.Enabled() && !s.checkPassword(req.Username, req.Password) {
		arangohttp.WriteError(w, arangohttp.Unauthorized())
		return
	}
	secret := s.cfg.Secret
	if !secret.Enabled() {
		secret = cluster.Secret("arangomesos-open-cluster")
	}
	tok, err := cluster.UserToken(secret, req.Username, TokenLifetime)
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	arangohttp.WriteJSON(w, http.StatusOK, map[string]any{"jwt": tok, "expires_in": int(TokenLifetime.Seconds())})
}
