package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Errors of the Agency client.
var (
	// ErrAgencyUnavailable: no agent could serve the request before the
	// context ended.
	ErrAgencyUnavailable = errors.New("cluster: agency unavailable")
	// ErrAgencyRequest: the Agency refused the request itself (4xx other
	// than 412); retrying will not help.
	ErrAgencyRequest = errors.New("cluster: agency refused the request")
)

// AgencyClient talks to the Agency's leader. It follows 307 redirects and
// remembers the leader, retries against the other agents while there is no
// leader, and applies every write exactly once: each transaction carries a
// client id, and when a write's outcome is unknown (the connection broke, or
// the leader lost its leadership mid-write) the client asks
// /_api/agency/inquire before it sends the write again.
//
// It is safe for concurrent use.
type AgencyClient struct {
	endpoints []string // base URLs, http://host:port
	tokens    *TokenSource
	http      *http.Client

	mu     sync.Mutex
	leader string
}

// NewAgencyClient returns a client for the agents at endpoints
// (tcp://host:port, http://host:port or host:port). tokens signs requests
// when the cluster has a secret; it may be nil for an open cluster.
func NewAgencyClient(endpoints []string, tokens *TokenSource) (*AgencyClient, error) {
	if len(endpoints) == 0 {
		return nil, fmt.Errorf("cluster: no agency endpoint")
	}
	if tokens == nil {
		tokens = &TokenSource{}
	}
	c := &AgencyClient{tokens: tokens, http: &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second,
			ResponseHeaderTimeout: 0, DisableCompression: true},
	}}
	for _, ep := range endpoints {
		u, err := BaseURL(ep)
		if err != nil {
			return nil, err
		}
		c.endpoints = append(c.endpoints, u)
	}
	return c, nil
}

// BaseURL turns an endpoint into an http base URL: tcp://h:p and h:p become
// http://h:p, ssl:// becomes https://.
func BaseURL(endpoint string) (string, error) {
	s := strings.TrimSuffix(endpoint, "/")
	switch {
	case strings.HasPrefix(s, "tcp://"):
		s = "http://" + strings.TrimPrefix(s, "tcp://")
	case strings.HasPrefix(s, "ssl://"):
		s = "https://" + strings.TrimPrefix(s, "ssl://")
	case !strings.Contains(s, "://"):
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("cluster: bad endpoint %q", endpoint)
	}
	return u.Scheme + "://" + u.Host, nil
}

// Endpoints returns the agents' base URLs.
func (c *AgencyClient) Endpoints() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.endpoints...)
}

// LearnPool replaces the agents the client knows by the Agency's pool, as
// an agent that knows its leader reports it: after agents were replaced,
// the client reaches the new ones and stops trying the removed ones. It
// keeps its list, and fails, when no agent answers.
func (c *AgencyClient) LearnPool(ctx context.Context) error {
	for _, ep := range c.Endpoints() {
		cfg, err := c.Config(ctx, ep)
		if err != nil || cfg.LeaderID == "" || len(cfg.Configuration.Pool) == 0 {
			continue
		}
		eps := make([]string, 0, len(cfg.Configuration.Pool))
		for _, e := range cfg.Configuration.Pool {
			if u, err := BaseURL(e); err == nil {
				eps = append(eps, u)
			}
		}
		sort.Strings(eps)
		c.mu.Lock()
		c.endpoints = eps
		c.mu.Unlock()
		return nil
	}
	return fmt.Errorf("%w: no agent reports the Agency's pool", ErrAgencyUnavailable)
}

// response is one HTTP answer of an agent.
type response struct {
	status int
	body   []byte
}

// errAmbiguous marks a failure after a write may have reached the leader.
var errAmbiguous = errors.New("cluster: write outcome unknown")

// send performs one request against the leader, following redirects and
// retrying on 503 and connection errors until ctx ends. With ambiguousOK it
// returns errAmbiguous instead of retrying when the request may have been
// applied (a write whose answer was lost).
func (c *AgencyClient) send(ctx context.Context, method, path string, body []byte, ambiguousOK bool) (response, error) {
	backoff := 20 * time.Millisecond
	next := 0
	var lastErr error
	for {
		c.mu.Lock()
		base := c.leader
		if base == "" {
			base = c.endpoints[next%len(c.endpoints)]
			next++
		}
		c.mu.Unlock()
		for hops := 0; hops < 5; hops++ {
			r, loc, err := c.once(ctx, method, base+path, body)
			if err == nil && r.status == http.StatusTemporaryRedirect && loc != "" {
				if lb, e := BaseURL(loc); e == nil {
					base = lb
					c.setLeader(lb)
					continue
				}
			}
			switch {
			case err != nil:
				lastErr = err
				c.setLeader("")
				if ambiguousOK && ctx.Err() == nil && !isDialError(err) {
					return response{}, errAmbiguous
				}
			case r.status == http.StatusServiceUnavailable:
				lastErr = fmt.Errorf("%s: %s", base, strings.TrimSpace(string(r.body)))
				c.setLeader("")
				if ambiguousOK && bytes.Contains(r.body, []byte("outcome is unknown")) {
					return response{}, errAmbiguous
				}
			default:
				c.setLeader(base)
				return r, nil
			}
			break
		}
		select {
		case <-ctx.Done():
			return response{}, fmt.Errorf("%w: %s %s: %v (last error: %v)", ErrAgencyUnavailable, method, path, ctx.Err(), lastErr)
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 500*time.Millisecond)
	}
}

func (c *AgencyClient) setLeader(base string) {
	c.mu.Lock()
	c.leader = base
	c.mu.Unlock()
}

func isDialError(err error) bool {
	var op interface{ Timeout() bool }
	s := err.Error()
	return strings.Contains(s, "connection refused") || strings.Contains(s, "dial tcp") ||
		(errors.As(err, &op) && strings.Contains(s, "dial"))
}

func (c *AgencyClient) once(ctx context.Context, method, u string, body []byte) (response, string, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return response{}, "", err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if err := c.tokens.Authorize(req); err != nil {
		return response{}, "", err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return response{}, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, "", err
	}
	return response{status: resp.StatusCode, body: b}, resp.Header.Get("Location"), nil
}

func agencyError(r response) error {
	return fmt.Errorf("%w: HTTP %d: %s", ErrAgencyRequest, r.status, strings.TrimSpace(string(r.body)))
}

// Read performs atomic multi-key reads; each result is the JSON object of one
// query, with full paths from the root.
func (c *AgencyClient) Read(ctx context.Context, queries ...ReadQuery) ([]json.RawMessage, error) {
	body, err := json.Marshal(queries)
	if err != nil {
		return nil, err
	}
	r, err := c.send(ctx, http.MethodPost, "/_api/agency/read", body, false)
	if err != nil {
		return nil, err
	}
	if r.status != http.StatusOK {
		return nil, agencyError(r)
	}
	var out []json.RawMessage
	if err := json.Unmarshal(r.body, &out); err != nil {
		return nil, fmt.Errorf("cluster: decode read answer: %w", err)
	}
	return out, nil
}

// Get reads one key and decodes its value into out. It reports whether the
// key exists.
func (c *AgencyClient) Get(ctx context.Context, key string, out any) (bool, error) {
	key, err := NormalizePath(key)
	if err != nil {
		return false, err
	}
	res, err := c.Read(ctx, ReadQuery{key})
	if err != nil {
		return false, err
	}
	return ExtractPath(res[0], key, out)
}

// ExtractPath decodes the value at key from a read result (a JSON object
// with full paths from the root) into out, and reports whether it exists.
func ExtractPath(result json.RawMessage, key string, out any) (bool, error) {
	cur := result
	for _, p := range SplitPath(key) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(cur, &m); err != nil {
			return false, nil
		}
		v, ok := m[p]
		if !ok {
			return false, nil
		}
		cur = v
	}
	if out == nil {
		return true, nil
	}
	if err := decodeNumbers(cur, out); err != nil {
		return true, fmt.Errorf("cluster: decode %s: %w", key, err)
	}
	return true, nil
}

// WriteResult holds the Raft index of each transaction of a write, 0 where
// its preconditions failed.
type WriteResult struct {
	Indexes []uint64
}

// OK reports whether every transaction was applied.
func (w WriteResult) OK() bool {
	for _, i := range w.Indexes {
		if i == 0 {
			return false
		}
	}
	return len(w.Indexes) > 0
}

// Index returns the highest index of the write.
func (w WriteResult) Index() uint64 {
	var m uint64
	for _, i := range w.Indexes {
		m = max(m, i)
	}
	return m
}

// Write applies transactions through the Agency's log, exactly once. A
// failed precondition is not an error: check WriteResult.OK.
func (c *AgencyClient) Write(ctx context.Context, trxs ...Transaction) (WriteResult, error) {
	return c.write(ctx, "/_api/agency/write", trxs, true)
}

// Transient applies transactions to the leader's transient store (used for
// heartbeats); they are not retried after an ambiguous failure, because a
// newer heartbeat follows anyway.
func (c *AgencyClient) Transient(ctx context.Context, trxs ...Transaction) (WriteResult, error) {
	return c.write(ctx, "/_api/agency/transient", trxs, false)
}

func (c *AgencyClient) write(ctx context.Context, path string, trxs []Transaction, exactlyOnce bool) (WriteResult, error) {
	if exactlyOnce {
		trxs = append([]Transaction(nil), trxs...)
		for i := range trxs {
			if trxs[i].ClientID == "" {
				trxs[i].ClientID = uuid.NewString()
			}
		}
	}
	body, err := json.Marshal(trxs)
	if err != nil {
		return WriteResult{}, err
	}
	for {
		r, err := c.send(ctx, http.MethodPost, path, body, exactlyOnce)
		if errors.Is(err, errAmbiguous) {
			if res, known, ierr := c.inquireAll(ctx, trxs); ierr != nil {
				return WriteResult{}, ierr
			} else if known {
				return res, nil
			}
			continue // not applied, and never will be: send again
		}
		if err != nil {
			return WriteResult{}, err
		}
		if r.status != http.StatusOK && r.status != http.StatusPreconditionFailed {
			return WriteResult{}, agencyError(r)
		}
		var out struct {
			Results []uint64 `json:"results"`
		}
		if err := json.Unmarshal(r.body, &out); err != nil {
			return WriteResult{}, fmt.Errorf("cluster: decode write answer: %w", err)
		}
		return WriteResult{Indexes: out.Results}, nil
	}
}

// inquireAll asks the leader whether the transactions' client ids are known.
// A ready leader has committed everything of earlier terms, so "unknown"
// means the write was not applied and never will be.
func (c *AgencyClient) inquireAll(ctx context.Context, trxs []Transaction) (WriteResult, bool, error) {
	ids := make([]string, len(trxs))
	for i, t := range trxs {
		ids[i] = t.ClientID
	}
	body, _ := json.Marshal(ids)
	r, err := c.send(ctx, http.MethodPost, "/_api/agency/inquire", body, false)
	if err != nil {
		return WriteResult{}, false, err
	}
	var out struct {
		Results []uint64 `json:"results"`
	}
	switch r.status {
	case http.StatusOK:
		if err := json.Unmarshal(r.body, &out); err != nil {
			return WriteResult{}, false, fmt.Errorf("cluster: decode inquire answer: %w", err)
		}
		return WriteResult{Indexes: out.Results}, true, nil
	case http.StatusNotFound:
		return WriteResult{}, false, nil
	default:
		return WriteResult{}, false, agencyError(r)
	}
}

// Transact applies writes and reads in order. For each item the result is
// the write's index (a JSON number), for a failed write an object with the
// current values at its failed precondition keys, or a read's result.
func (c *AgencyClient) Transact(ctx context.Context, items ...TransactItem) ([]json.RawMessage, error) {
	body, err := json.Marshal(items)
	if err != nil {
		return nil, err
	}
	r, err := c.send(ctx, http.MethodPost, "/_api/agency/transact", body, false)
	if err != nil {
		return nil, err
	}
	if r.status != http.StatusOK && r.status != http.StatusPreconditionFailed {
		return nil, agencyError(r)
	}
	var out []json.RawMessage
	if err := json.Unmarshal(r.body, &out); err != nil {
		return nil, fmt.Errorf("cluster: decode transact answer: %w", err)
	}
	return out, nil
}

// Poll waits up to timeout for log entries from index on (see PollResult).
func (c *AgencyClient) Poll(ctx context.Context, index uint64, timeout time.Duration) (PollResult, error) {
	path := fmt.Sprintf("/_api/agency/poll?index=%d&timeout=%g", index, timeout.Seconds())
	r, err := c.send(ctx, http.MethodGet, path, nil, false)
	if err != nil {
		return PollResult{}, err
	}
	if r.status != http.StatusOK {
		return PollResult{}, agencyError(r)
	}
	var out struct {
		Result PollResult `json:"result"`
	}
	if err := decodeNumbers(r.body, &out); err != nil {
		return PollResult{}, fmt.Errorf("cluster: decode poll answer: %w", err)
	}
	return out.Result, nil
}

// Config asks one agent (endpoint as given to NewAgencyClient, or any other)
// for its config; every agent answers, leader or not.
func (c *AgencyClient) Config(ctx context.Context, endpoint string) (AgencyConfig, error) {
	var out AgencyConfig
	base, err := BaseURL(endpoint)
	if err != nil {
		return out, err
	}
	r, _, err := c.once(ctx, http.MethodGet, base+"/_api/agency/config", nil)
	if err != nil {
		return out, err
	}
	if r.status != http.StatusOK {
		return out, agencyError(r)
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		return out, fmt.Errorf("cluster: decode config: %w", err)
	}
	return out, nil
}

// ChangeMembership asks the leader to add (and promote, once caught up)
// and/or remove an agent; see POST /_api/agency/membership.
func (c *AgencyClient) ChangeMembership(ctx context.Context, addID, addEndpoint, remove string) error {
	req := map[string]any{}
	if addID != "" {
		req["add"] = map[string]string{"id": addID, "endpoint": addEndpoint}
	}
	if remove != "" {
		req["remove"] = remove
	}
	body, _ := json.Marshal(req)
	r, err := c.send(ctx, http.MethodPost, "/_api/agency/membership", body, false)
	if err != nil {
		return err
	}
	if r.status != http.StatusOK {
		return agencyError(r)
	}
	return nil
}

func decodeNumbers(b []byte, out any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(out)
}
