package node

import (
	"net/http"

	"github.com/arangomesos/arangomesos/node/arangohttp"
	"github.com/arangomesos/arangomesos/node/cluster"
)

// Version is the ArangoDB version the nodes report; drivers check it.
const Version = "3.11.0"

// openPaths are answered without authentication on every node: the health
// check the executor and load balancers use, and the Prometheus metrics
// that monitoring and the autoscaler scrape; neither reveals data.
var openPaths = []string{"/_admin/server/availability", "/_admin/metrics"}

// serverInfo answers the routes every server has.
type serverInfo struct {
	role      cluster.Role
	id        string
	address   string
	available func() bool
}

// arangoRole is the role as /_admin/server/role spells it.
func (s serverInfo) arangoRole() string {
	if s.role == cluster.RoleDBServer {
		return "PRIMARY"
	}
	return string(s.role)
}

func (s serverInfo) routes() *arangohttp.Mux {
	m := arangohttp.NewMux()
	m.HandleFunc("GET /_api/version", func(w http.ResponseWriter, r *http.Request) {
		v := map[string]any{"server": "arango", "license": "community", "version": Version}
		if d := r.URL.Query().Get("details"); d == "true" || d == "1" {
			v["details"] = map[string]any{"role": s.arangoRole(), "server-id": s.id, "engine": "buntdb", "mode": "server"}
		}
		arangohttp.WriteJSON(w, http.StatusOK, v)
	})
	m.HandleFunc("GET /_admin/server/role", func(w http.ResponseWriter, _ *http.Request) {
		arangohttp.WriteJSON(w, http.StatusOK, map[string]any{"error": false, "code": 200, "role": s.arangoRole(), "mode": "default"})
	})
	m.HandleFunc("GET /_admin/server/id", func(w http.ResponseWriter, _ *http.Request) {
		arangohttp.WriteJSON(w, http.StatusOK, map[string]any{"error": false, "code": 200, "id": s.id})
	})
	m.HandleFunc("GET /_admin/server/mode", func(w http.ResponseWriter, _ *http.Request) {
		arangohttp.WriteJSON(w, http.StatusOK, map[string]any{"error": false, "code": 200, "mode": "default"})
	})
	m.HandleFunc("GET /_admin/server/availability", func(w http.ResponseWriter, _ *http.Request) {
		if s.available != nil && !s.available() {
			arangohttp.WriteError(w, arangohttp.Unavailable("server is not available"))
			return
		}
		arangohttp.WriteJSON(w, http.StatusOK, map[string]any{"error": false, "code": 200, "mode": "default", "role": s.arangoRole(), "id": s.id})
	})
	return m
}
