package shardapi

import (
	"bytes"
	"context"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/arangomesos/arangomesos/node/arangohttp"
	"github.com/arangomesos/arangomesos/node/cluster"
)

// ErrUnreachable: the server did not answer (connection refused or reset,
// or the request timed out).
var ErrUnreachable = errors.New("shardapi: server unreachable")

// Client calls DBServers' internal API, over frame connections (see
// frames.go) where the server accepts them and plain HTTP otherwise. It is
// safe for concurrent use.
type Client struct {
	tokens *cluster.TokenSource
	http   *http.Client
	// Timeout bounds every request that has no earlier deadline.
	Timeout time.Duration
	// NoFrames makes the client use plain HTTP only.
	NoFrames bool

	mu        sync.Mutex
	endpoints map[string]*frameEndpoint // by base URL
}

// NewClient returns a client signing with tokens.
func NewClient(tokens *cluster.TokenSource, timeout time.Duration) *Client {
	if tokens == nil {
		tokens = &cluster.TokenSource{}
	}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        512,
		MaxIdleConnsPerHost: 128,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &Client{tokens: tokens, http: &http.Client{Transport: tr}, Timeout: timeout}
}

// Close closes the client's connections; calls under way fail.
func (c *Client) Close() {
	c.closeFrames()
	c.http.CloseIdleConnections()
}

// Path fills in the shard of a path constant.
func Path(p, shard string) string { return strings.Replace(p, "{shard}", shard, 1) }

// Call sends in (JSON) to endpoint+path and decodes the answer into out. An
// error answer becomes an *arangohttp.Error with the server's code and
// errorNum; no answer is ErrUnreachable.
func (c *Client) Call(ctx context.Context, endpoint, method, path string, header http.Header, in, out any) error {
	base, err := cluster.BaseURL(endpoint)
	if err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok && c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	var conn *frameConn
	if !c.NoFrames && strings.HasPrefix(base, "http://") && !bulkPath(path) {
		if conn, err = c.frameConn(ctx, base); err != nil {
			return fmt.Errorf("%w: %s %s: %v", ErrUnreachable, method, base+path, err)
		}
	}
	body, bin, err := encodeBody(in, conn != nil)
	if err != nil {
		return err
	}
	var a answer
	if conn != nil {
		a, err = conn.call(ctx, method, path, header, body, bin)
	} else {
		a, err = c.roundTripHTTP(ctx, base, method, path, header, body)
	}
	if err != nil {
		return fmt.Errorf("%w: %s %s: %v", ErrUnreachable, method, base+path, err)
	}
	if a.status >= 300 {
		var e struct {
			ErrorNum     int    `json:"errorNum"`
			ErrorMessage string `json:"errorMessage"`
		}
		if json.Unmarshal(a.body, &e) != nil || e.ErrorNum == 0 {
			e.ErrorNum, e.ErrorMessage = a.status, strings.TrimSpace(string(a.body))
		}
		return &arangohttp.Error{Code: a.status, Num: e.ErrorNum, Message: e.ErrorMessage}
	}
	if out == nil {
		return nil
	}
	if a.binary {
		bu, ok := out.(encoding.BinaryUnmarshaler)
		if !ok {
			return fmt.Errorf("shardapi: binary answer of %s for %T", path, out)
		}
		err = bu.UnmarshalBinary(a.body)
	} else {
		err = json.Unmarshal(a.body, out)
	}
	if err != nil {
		return fmt.Errorf("shardapi: decode answer of %s: %w", path, err)
	}
	return nil
}

// bulkPaths are the calls whose answers can be large (a query's documents,
// a resync's key lists, documents and operations). They go over plain HTTP
// on pooled connections: on the one frame connection a server shares, a
// megabyte answer would hold up every write and replication call queued
// behind it.
var bulkPaths = []string{PathQuery, PathChunks, PathKeys, PathDocs, PathTail}

// bulkPath reports whether path (a filled-in path constant, maybe with a
// query string) is one of bulkPaths.
func bulkPath(path string) bool {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	for _, p := range bulkPaths {
		prefix, suffix, _ := strings.Cut(p, "{shard}")
		if strings.HasPrefix(path, prefix) && strings.HasSuffix(path, suffix) && len(path) > len(prefix)+len(suffix) {
			return true
		}
	}
	return false
}

// encodeBody encodes a request body: in the binary encoding when asked
// for and in has one, else as JSON. It reports whether it is binary.
func encodeBody(in any, binary bool) ([]byte, bool, error) {
	if in == nil {
		return nil, false, nil
	}
	if ba, ok := in.(encoding.BinaryAppender); ok && binary {
		b, err := ba.AppendBinary(nil)
		if err != nil {
			return nil, false, fmt.Errorf("shardapi: encode request: %w", err)
		}
		return b, true, nil
	}
	b, err := json.Marshal(in)
	if err != nil {
		return nil, false, fmt.Errorf("shardapi: encode request: %w", err)
	}
	return b, false, nil
}

// roundTripHTTP sends one request as plain HTTP and returns the answer;
// an error means there was none.
func (c *Client) roundTripHTTP(ctx context.Context, base, method, path string, header http.Header, body []byte) (answer, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return answer{}, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	if err := c.tokens.Authorize(req); err != nil {
		return answer{}, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, fmt.Errorf("read answer: %w", err)
	}
	return answer{status: resp.StatusCode, body: b}, nil
}

// ErrorNum returns the ArangoDB errorNum of err (0 if it has none).
func ErrorNum(err error) int {
	var ae *arangohttp.Error
	if errors.As(err, &ae) {
		return ae.Num
	}
	return 0
}
