package arangohttp

import (
	"net/http"
	"strings"
)

// Mux is an http.ServeMux (Go 1.22 patterns such as "POST /_api/agency/read"
// or "GET /_api/document/{collection}/{key}") that answers unmatched requests
// with ArangoDB's JSON errors: 404 (errorNum 404) for an unknown path and 405
// (errorNum 405) for a known path with the wrong method.
type Mux struct {
	*http.ServeMux
}

// NewMux returns an empty Mux.
func NewMux() *Mux { return &Mux{ServeMux: http.NewServeMux()} }

var methods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodHead}

func (m *Mux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := m.Handler(r); pattern != "" {
		m.ServeMux.ServeHTTP(w, r)
		return
	}
	for _, meth := range methods {
		if meth == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = meth
		if _, pattern := m.Handler(probe); pattern != "" && !strings.HasSuffix(pattern, " /") {
			WriteError(w, Errorf(http.StatusMethodNotAllowed, ErrNumHTTPMethodNotAllowed, "method %s not allowed for %s", r.Method, r.URL.Path))
			return
		}
	}
	WriteError(w, NotFound("unknown path %s", r.URL.Path))
}
