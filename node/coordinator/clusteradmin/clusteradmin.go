// Package clusteradmin is the coordinator's cluster administration API,
// /_admin/cluster/* with ArangoDB's request and response shapes (reference
// §6): health, numberOfServers (the scaling knob), the job-creating endpoints
// (cleanOutServer, resignLeadership, moveShard, rebalanceShards), removeServer,
// shardDistribution, queryAgencyJob, cancelAgencyJob and maintenance.
//
// Requests that cannot work (an unknown server, a clean-out that would leave
// too few DBServers for the replication factors, a move to a server that
// already holds the shard, numberOfServers below what replication needs) are
// refused with ArangoDB's errors before any job is created. The decisions use
// the supervision's own planning functions, so the API and the jobs agree.
package clusteradmin

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/arangomesos/arangomesos/node/arangohttp"
	"github.com/arangomesos/arangomesos/node/cluster"
	"github.com/arangomesos/arangomesos/node/supervision"
)

// Deps is what the endpoints need from the coordinator.
type Deps struct {
	Agency *cluster.AgencyClient
	Cache  *cluster.Cache
	// ServerID is the coordinator's id, the creator of the jobs it writes.
	ServerID string
	// Database returns the database a request addresses (its /_db/<name>/
	// prefix); nil means _system.
	Database func(*http.Request) string
	Log      *slog.Logger
}

type admin struct{ Deps }

// Register adds the /_admin/cluster/* routes to m.
func Register(m *arangohttp.Mux, d Deps) {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	a := &admin{d}
	m.HandleFunc("GET /_admin/cluster/health", a.health)
	m.HandleFunc("GET /_admin/cluster/numberOfServers", a.getNumberOfServers)
	m.HandleFunc("PUT /_admin/cluster/numberOfServers", a.putNumberOfServers)
	m.HandleFunc("POST /_admin/cluster/cleanOutServer", a.cleanOutServer)
	m.HandleFunc("POST /_admin/cluster/resignLeadership", a.resignLeadership)
	m.HandleFunc("POST /_admin/cluster/moveShard", a.moveShard)
	m.HandleFunc("POST /_admin/cluster/rebalanceShards", a.rebalanceShards)
	m.HandleFunc("POST /_admin/cluster/removeServer", a.removeServer)
	m.HandleFunc("GET /_admin/cluster/shardDistribution", a.shardDistribution)
	m.HandleFunc("GET /_admin/cluster/queryAgencyJob", a.queryAgencyJob)
	m.HandleFunc("POST /_admin/cluster/cancelAgencyJob", a.cancelAgencyJob)
	m.HandleFunc("GET /_admin/cluster/maintenance", a.getMaintenance)
	m.HandleFunc("PUT /_admin/cluster/maintenance", a.putMaintenance)
}

// requestTimeout bounds the Agency work of one request.
const requestTimeout = 15 * time.Second

// snapshot reads the Agency linearizably and decodes it.
func (a *admin) snapshot(ctx context.Context) (*supervision.Snapshot, error) {
	res, err := a.Agency.Read(ctx, cluster.ReadQuery{cluster.Root})
	if err != nil {
		return nil, unavailable(err)
	}
	var tree map[string]any
	if err := decode(res[0], &tree); err != nil {
		return nil, err
	}
	return supervision.DecodeSnapshot(tree)
}

func unavailable(err error) error {
	e := arangohttp.Errorf(http.StatusServiceUnavailable, arangohttp.ErrNumClusterBackendUnavailable, "agency: %v", err)
	return e
}

func decode(b []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	return dec.Decode(v)
}

// resolveServer accepts a server id or a short name (DBServer0004).
func resolveServer(s *supervision.Snapshot, name string) (string, bool) {
	if _, ok := s.PlanDBServers[name]; ok {
		return name, true
	}
	if _, ok := s.PlanCoordinators[name]; ok {
		return name, true
	}
	for id, short := range s.ShortNames {
		if short == name {
			if _, ok := s.PlanDBServers[id]; ok {
				return id, true
			}
			if _, ok := s.PlanCoordinators[id]; ok {
				return id, true
			}
		}
	}
	return "", false
}

// createJob files j in Target/ToDo (cluster.CreateJob), answering in
// ArangoDB's conventions when it cannot.
func (a *admin) createJob(ctx context.Context, j cluster.Job) (string, error) {
	id, err := cluster.CreateJob(ctx, a.Agency, a.ServerID, j)
	if errors.Is(err, cluster.ErrJobIDTaken) {
		return "", arangohttp.Errorf(http.StatusConflict, arangohttp.ErrNumConflict, "%v", err)
	}
	if err != nil {
		return "", unavailable(err)
	}
	a.Log.Info("created agency job", "job", id, "type", j.Type, "server", j.Server, "shard", j.Shard)
	return id, nil
}

// readBody decodes a JSON request body into v (400/600 on bad JSON).
func readBody(r *http.Request, v any) error {
	b, err := arangohttp.ReadBody(r, 1<<20)
	if err != nil {
		return err
	}
	return arangohttp.Decode(b, v)
}

// jobAccepted answers a job-creating request (ArangoDB answers 202).
func jobAccepted(w http.ResponseWriter, id string) {
	arangohttp.WriteJSON(w, http.StatusAccepted, map[string]any{"error": false, "code": 202, "id": id})
}

func (a *admin) database(r *http.Request) string {
	if a.Database != nil {
		if db := a.Database(r); db != "" {
			return db
		}
	}
	return cluster.SystemDatabase
}

func ctxOf(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), requestTimeout)
}

func badParam(format string, args ...any) error { return arangohttp.BadParameter(format, args...) }
