package coordinator

import (
	"context"
	"net/http"
	"time"

	"github.com/arangomesos/arangomesos/node/cluster"
	"github.com/arangomesos/arangomesos/node/member"
)

// Drain begins a coordinator's shutdown (SIGTERM, a scale-down, a restart)
// without failing the requests clients still send to it:
//   - its heartbeat says STOPPING at once, so no coordinator's
//     GET /_api/cluster/endpoints lists it any more (drivers that discover
//     endpoints move away);
//   - GET /_admin/server/availability answers 503, so load balancers and
//     the Mesos health check stop sending to it;
//   - every response asks the client to close its connection, so
//     keep-alive clients reconnect (through their balancer) elsewhere;
//
// and it keeps serving for delay, after which the caller shuts the HTTP
// server down (waiting for the requests in flight) and calls Close. A
// heartbeat the Agency does not take in time only delays the first point.
func (s *Server) Drain(delay time.Duration) {
	s.draining.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	if err := s.member.Announce(ctx, member.StatusStopping); err != nil {
		s.log.Warn("could not announce the shutdown", "err", err)
	}
	cancel()
	s.log.Info("draining", "delay", delay)
	time.Sleep(delay)
}

// Draining reports whether Drain has begun.
func (s *Server) Draining() bool { return s.draining.Load() }

// closeWhileDraining asks clients to close their connections once the
// coordinator drains.
func (s *Server) closeWhileDraining(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.draining.Load() {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}

// listed reports whether GET /_api/cluster/endpoints offers coordinator id:
// it is registered, not removed, and neither it nor (for others) its last
// heartbeat says it is shutting down.
func (s *Server) listed(snap *cluster.Snapshot, id string) bool {
	if snap.Endpoint(id) == "" || snap.Removed[id] {
		return false
	}
	if id == s.id {
		return !s.draining.Load()
	}
	st := snap.Health[id].SyncStatus
	return st != member.StatusStopping && st != member.StatusShutdown
}
