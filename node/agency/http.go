package agency

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/arangomesos/arangomesos/node/arangohttp"
	"github.com/arangomesos/arangomesos/node/cluster"
)

// MaxRequestSize bounds the body of an Agency request.
const MaxRequestSize = 16 << 20

// maxPollTimeout bounds the wait of one long poll.
const maxPollTimeout = 300 * time.Second

// Handler returns the Agency's HTTP API (reference §2.1):
//
//	POST /_api/agency/read       linearizable reads (leader)
//	POST /_api/agency/write      writes through Raft (leader)
//	POST /_api/agency/transact   writes and reads in order (leader)
//	POST /_api/agency/transient  writes to the transient store (leader)
//	POST /_api/agency/inquire    did a write with a client id happen? (leader)
//	GET  /_api/agency/poll       long poll for changes after a Raft index (leader)
//	GET  /_api/agency/config     this agent's view (any agent)
//	GET  /_api/agency/stores     both stores, for debugging (leader)
//	POST /_api/agency/membership add/replace/remove agents (leader)
//
// Leader-only requests to a follower get 307 to the same path on the leader;
// without a leader they get 503.
func (a *Agent) Handler() http.Handler {
	m := arangohttp.NewMux()
	m.HandleFunc("POST /_api/agency/read", a.handleRead)
	m.HandleFunc("POST /_api/agency/write", a.handleWrite)
	m.HandleFunc("POST /_api/agency/transact", a.handleTransact)
	m.HandleFunc("POST /_api/agency/transient", a.handleTransient)
	m.HandleFunc("POST /_api/agency/inquire", a.handleInquire)
	m.HandleFunc("GET /_api/agency/poll", a.handlePoll)
	m.HandleFunc("GET /_api/agency/config", a.handleConfig)
	m.HandleFunc("GET /_api/agency/stores", a.handleStores)
	m.HandleFunc("POST /_api/agency/membership", a.handleMembership)
	return m
}

// writeErr is the one place where agency errors become HTTP answers.
func (a *Agent) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrNotLeader):
		if _, ep := a.Leader(); ep != "" {
			if hp, e := HostPort(ep); e == nil {
				w.Header().Set("Location", "http://"+hp+r.URL.RequestURI())
				arangohttp.WriteJSON(w, http.StatusTemporaryRedirect, map[string]any{"error": false, "code": 307, "leader": ep})
				return
			}
		}
		a.writeNoLeader(w)
	case errors.Is(err, ErrNoLeader), errors.Is(err, ErrClosed):
		a.writeNoLeader(w)
	case errors.Is(err, ErrOutcomeUnknown):
		arangohttp.WriteError(w, arangohttp.Unavailable("%v", err))
	case errors.Is(err, ErrMembership):
		arangohttp.WriteError(w, arangohttp.Errorf(http.StatusConflict, arangohttp.ErrNumHTTPBadParameter, "%v", err))
	default:
		arangohttp.WriteError(w, err)
	}
}

func (a *Agent) writeNoLeader(w http.ResponseWriter) {
	e := arangohttp.Unavailable("No leader")
	e.Extra = map[string]any{"message": "No leader"}
	arangohttp.WriteError(w, e)
}

// body reads a request body and refuses JSON nested too deeply (400,
// errorNum 600); the parsers check the rest.
func body(r *http.Request) ([]byte, error) {
	b, err := arangohttp.ReadBody(r, MaxRequestSize)
	if err != nil {
		return nil, err
	}
	if err := arangohttp.CheckDepth(b, arangohttp.MaxDepth); err != nil {
		return nil, arangohttp.Errorf(http.StatusBadRequest, arangohttp.ErrNumHTTPCorruptedJSON, "invalid JSON: %v", err)
	}
	return b, nil
}

// parseErr turns a parser error into a 400: errorNum 600 for a body that is
// not JSON, 400 for JSON of the wrong shape.
func parseErr(err error) error {
	if errors.Is(err, cluster.ErrJSONSyntax) {
		return arangohttp.Errorf(http.StatusBadRequest, arangohttp.ErrNumHTTPCorruptedJSON, "%v", err)
	}
	return arangohttp.BadParameter("%v", err)
}

func (a *Agent) handleRead(w http.ResponseWriter, r *http.Request) {
	b, err := body(r)
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	qs, err := cluster.ParseReadRequest(b)
	if err != nil {
		arangohttp.WriteError(w, parseErr(err))
		return
	}
	res, err := a.Read(r.Context(), qs)
	if err != nil {
		a.writeErr(w, r, err)
		return
	}
	arangohttp.WriteJSON(w, http.StatusOK, res)
}

func writeResults(w http.ResponseWriter, res *ApplyResult, wrap bool) {
	status := http.StatusOK
	if res.AnyFailed {
		status = http.StatusPreconditionFailed
	}
	if wrap {
		arangohttp.WriteJSON(w, status, map[string]any{"results": res.Results})
		return
	}
	arangohttp.WriteJSON(w, status, res.Results)
}

func (a *Agent) handleWrite(w http.ResponseWriter, r *http.Request) {
	b, err := body(r)
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	trxs, err := cluster.ParseWriteRequest(b)
	if err != nil {
		arangohttp.WriteError(w, parseErr(err))
		return
	}
	res, err := a.WriteRaw(b, len(trxs))
	if err != nil {
		a.writeErr(w, r, err)
		return
	}
	writeResults(w, res, true)
}

func (a *Agent) handleTransient(w http.ResponseWriter, r *http.Request) {
	trxs, ok := a.parseWrite(w, r)
	if !ok {
		return
	}
	res, err := a.Transient(trxs)
	if err != nil {
		a.writeErr(w, r, err)
		return
	}
	writeResults(w, res, true)
}

func (a *Agent) parseWrite(w http.ResponseWriter, r *http.Request) ([]cluster.Transaction, bool) {
	b, err := body(r)
	if err != nil {
		arangohttp.WriteError(w, err)
		return nil, false
	}
	trxs, err := cluster.ParseWriteRequest(b)
	if err != nil {
		arangohttp.WriteError(w, parseErr(err))
		return nil, false
	}
	return trxs, true
}

func (a *Agent) handleTransact(w http.ResponseWriter, r *http.Request) {
	b, err := body(r)
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	if _, err := cluster.ParseTransactRequest(b); err != nil {
		arangohttp.WriteError(w, parseErr(err))
		return
	}
	res, err := a.TransactRaw(b)
	if err != nil {
		a.writeErr(w, r, err)
		return
	}
	writeResults(w, res, false)
}

func (a *Agent) handleInquire(w http.ResponseWriter, r *http.Request) {
	b, err := body(r)
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	ids, err := cluster.ParseInquireRequest(b)
	if err != nil {
		arangohttp.WriteError(w, parseErr(err))
		return
	}
	res, known, err := a.Inquire(r.Context(), ids)
	if err != nil {
		a.writeErr(w, r, err)
		return
	}
	status := http.StatusOK
	for _, k := range known {
		if !k {
			status = http.StatusNotFound
		}
	}
	arangohttp.WriteJSON(w, status, map[string]any{"results": res, "inquired": true})
}

func (a *Agent) handlePoll(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var index uint64
	if s := q.Get("index"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			arangohttp.WriteError(w, arangohttp.BadParameter("index must be a non-negative integer, got %q", s))
			return
		}
		index = n
	}
	timeout := 60 * time.Second
	if s := q.Get("timeout"); s != "" {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 0 {
			arangohttp.WriteError(w, arangohttp.BadParameter("timeout must be a non-negative number of seconds, got %q", s))
			return
		}
		timeout = min(time.Duration(f*float64(time.Second)), maxPollTimeout)
	}
	res, err := a.Poll(r.Context(), index, timeout)
	if err != nil {
		a.writeErr(w, r, err)
		return
	}
	arangohttp.WriteJSON(w, http.StatusOK, map[string]any{"error": false, "code": 200, "result": res})
}

func (a *Agent) handleConfig(w http.ResponseWriter, _ *http.Request) {
	arangohttp.WriteJSON(w, http.StatusOK, a.Config())
}

func (a *Agent) handleStores(w http.ResponseWriter, r *http.Request) {
	tr, err := a.TransientTree()
	if err != nil {
		a.writeErr(w, r, err)
		return
	}
	tree, idx := a.fsm.Tree()
	arangohttp.WriteJSON(w, http.StatusOK, map[string]any{"read_db": tree, "transient": tr, "commitIndex": idx})
}

// membershipRequest is the body of POST /_api/agency/membership:
// {"add":{"id":…,"endpoint":…}} and/or {"remove":"AGNT-…"}.
type membershipRequest struct {
	Add    *Member `json:"add"`
	Remove string  `json:"remove"`
}

func (a *Agent) handleMembership(w http.ResponseWriter, r *http.Request) {
	b, err := body(r)
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	var req membershipRequest
	if err := json.Unmarshal(b, &req); err != nil {
		arangohttp.WriteError(w, arangohttp.BadParameter("membership request: %v", err))
		return
	}
	if req.Add != nil && (req.Add.ID == "" || req.Add.Endpoint == "") {
		arangohttp.WriteError(w, arangohttp.BadParameter("add needs id and endpoint"))
		return
	}
	if err := a.ChangeMembership(r.Context(), req.Add, req.Remove); err != nil {
		a.writeErr(w, r, err)
		return
	}
	c := a.Config()
	arangohttp.WriteJSON(w, http.StatusOK, map[string]any{"error": false, "code": 200,
		"pool": c.Configuration.Pool, "active": c.Configuration.Active})
}
