package coordinator

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/arangomesos/arangomesos/node/arangohttp"
	"github.com/arangomesos/arangomesos/node/cluster"
)

type ctxKey int

const dbKey ctxKey = 0

// Database returns the database a request addresses: the {db} of a
// /_db/{db}/ prefix, or _system.
func Database(r *http.Request) string {
	if db, ok := r.Context().Value(dbKey).(string); ok {
		return db
	}
	return cluster.SystemDatabase
}

// splitDBPrefix removes a /_db/{name} prefix from an escaped path; it
// returns the database name (unescaped), the rest of the path (escaped) and
// whether there was a prefix.
func splitDBPrefix(escaped string) (db, rest string, ok bool, err error) {
	if !strings.HasPrefix(escaped, "/_db/") {
		return "", escaped, false, nil
	}
	tail := escaped[len("/_db/"):]
	name, rest, _ := strings.Cut(tail, "/")
	rest = "/" + rest
	db, err = url.PathUnescape(name)
	if err != nil || db == "" {
		return "", "", true, arangohttp.Errorf(http.StatusNotFound, arangohttp.ErrNumDatabaseNotFound, "database not found")
	}
	return db, rest, true, nil
}

// withDatabase accepts /_db/{db}/ in front of every route (arangojs puts it
// in front of everything), answers 404/1228 for a database that does not
// exist, and hands the request on without the prefix.
func (s *Server) withDatabase(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		db, rest, ok, err := splitDBPrefix(r.URL.EscapedPath())
		if err != nil {
			arangohttp.WriteError(w, err)
			return
		}
		if !ok {
			db = cluster.SystemDatabase
		} else {
			path, err := url.PathUnescape(rest)
			if err != nil {
				arangohttp.WriteError(w, arangohttp.BadParameter("bad path escape"))
				return
			}
			// A shallow copy with its own URL, as http.StripPrefix does.
			r2 := new(http.Request)
			*r2 = *r
			u := *r.URL
			r2.URL = &u
			r2.URL.Path, r2.URL.RawPath = path, rest
			if rest == path {
				r2.URL.RawPath = ""
			}
			r = r2
		}
		if !s.databaseExists(r.Context(), db) {
			arangohttp.WriteError(w, arangohttp.Errorf(http.StatusNotFound, arangohttp.ErrNumDatabaseNotFound, "database not found"))
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), dbKey, db)))
	})
}

// databaseExists checks the view, and on a miss asks the Agency (another
// coordinator may just have created it).
func (s *Server) databaseExists(ctx context.Context, db string) bool {
	if _, ok := s.view.Snapshot().Databases[db]; ok {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ok, err := s.agency.Get(ctx, cluster.Join(cluster.PlanDatabases, db), nil)
	if err != nil || !ok {
		return false
	}
	s.waitView(ctx, func(snap *cluster.Snapshot) bool { _, ok := snap.Databases[db]; return ok })
	return true
}

// waitView waits (bounded by ctx) until cond holds for the view.
func (s *Server) waitView(ctx context.Context, cond func(*cluster.Snapshot) bool) bool {
	for {
		ch := s.view.Changed()
		if cond(s.view.Snapshot()) {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		case <-time.After(100 * time.Millisecond):
			s.view.Refresh()
		}
	}
}
