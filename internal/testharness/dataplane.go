package testharness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/arangodb/go-driver/v2/arangodb"
	"github.com/arangodb/go-driver/v2/connection"

	"github.com/arangomesos/arangomesos/internal/localcluster"
	"github.com/arangomesos/arangomesos/node/cluster"
	"github.com/arangomesos/arangomesos/node/shardapi"
)

// startDataPlane starts the DBServers and coordinators of the options and
// waits until they serve.
func (c *Cluster) startDataPlane() {
	t := c.t
	t.Helper()
	if c.opts.DBServers == 0 && c.opts.Coordinators == 0 {
		return
	}
	c.RootPassword = c.opts.RootPassword
	if c.RootPassword == "" {
		c.RootPassword = "test"
	}
	pwFile := filepath.Join(t.TempDir(), "root-password")
	if err := os.WriteFile(pwFile, []byte(c.RootPassword), 0o600); err != nil {
		t.Fatal(err)
	}
	start := func(role cluster.Role, id string, extra []string) *Node {
		n := &Node{ID: id, Endpoint: fmt.Sprintf("tcp://127.0.0.1:%d", FreePort(t)), Dir: t.TempDir()}
		args := localcluster.NodeArgs(localcluster.NodeSpec{Role: role, ID: id, Endpoint: n.Endpoint, DataDir: n.Dir,
			Agency: c.AgentEndpoints(), SecretFile: c.SecretFile, RootPasswordFile: pwFile, LogLevel: "info", Extra: extra})
		n.Process = StartProcess(t, strings.ToLower(id), c.bin, args, c.profileEnv(n)...)
		return n
	}
	for i := 0; i < c.opts.DBServers; i++ {
		c.DBServers = append(c.DBServers, start(cluster.RoleDBServer, fmt.Sprintf("PRMR-%04d", i+1), c.opts.DBServerArgs))
	}
	for i := 0; i < c.opts.Coordinators; i++ {
		c.Coordinators = append(c.Coordinators, start(cluster.RoleCoordinator, fmt.Sprintf("CRDN-%04d", i+1), c.opts.CoordinatorArgs))
	}
	for _, n := range append(append([]*Node(nil), c.DBServers...), c.Coordinators...) {
		c.WaitServing(n)
	}
	for i := range c.Coordinators {
		Eventually(t, 60*time.Second, func() error {
			var out struct {
				Endpoints []any `json:"endpoints"`
			}
			if code, err := c.CoordinatorJSON(i, http.MethodGet, "/_api/cluster/endpoints", nil, &out); err != nil || code != 200 {
				return fmt.Errorf("coordinator %d: %d %v", i, code, err)
			}
			if len(out.Endpoints) < len(c.Coordinators) {
				return fmt.Errorf("coordinator %d knows %d coordinators", i, len(out.Endpoints))
			}
			// Supervision has called every DBServer GOOD, as this
			// coordinator sees it (creating a collection with a
			// replicationFactor above the GOOD DBServers is a 400).
			var health struct {
				Health map[string]struct{ Status string } `json:"Health"`
			}
			if code, err := c.CoordinatorJSON(i, http.MethodGet, "/_admin/cluster/health", nil, &health); err != nil || code != 200 {
				return fmt.Errorf("coordinator %d health: %d %v", i, code, err)
			}
			for _, n := range c.DBServers {
				if st := health.Health[n.ID].Status; st != cluster.StatusGood {
					return fmt.Errorf("coordinator %d sees %s as %q", i, n.ID, st)
				}
			}
			return nil
		})
	}
}

// WaitServing waits until a DBServer or coordinator answers its health
// check.
func (c *Cluster) WaitServing(n *Node) {
	c.t.Helper()
	Eventually(c.t, 90*time.Second, func() error {
		if !n.Running() {
			return fmt.Errorf("%s exited: %v\n%s", n.ID, n.ExitError(), n.Tail(20))
		}
		resp, err := http.Get(n.URL() + "/_admin/server/availability")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("%s: availability %d", n.ID, resp.StatusCode)
		}
		return nil
	})
}

// URL is the node's http base URL.
func (n *Node) URL() string {
	u, _ := cluster.BaseURL(n.Endpoint)
	return u
}

// Coordinator returns the base URL of coordinator i.
func (c *Cluster) Coordinator(i int) string { return c.Coordinators[i].URL() }

// Client returns a go-driver client for coordinator i that logs in as root.
func (c *Cluster) Client(i int) arangodb.Client {
	return DriverClient([]string{c.Coordinator(i)}, "root", c.RootPassword)
}

// DriverClient returns a go-driver client for the coordinators at
// endpoints (round robin) that logs in with JWT (NewJWTAuthWrapper: the
// first request gets 401, then the driver calls /_open/auth).
func DriverClient(endpoints []string, user, password string) arangodb.Client {
	conn := connection.NewHttpConnection(connection.DefaultHTTPConfigurationWrapper(
		connection.NewRoundRobinEndpoints(endpoints), false))
	conn = connection.NewJWTAuthWrapper(user, password)(conn)
	return arangodb.NewClient(conn)
}

// CoordinatorJSON sends a request with basic auth as root to coordinator i
// and decodes the JSON answer into out (if not nil); it returns the status.
func (c *Cluster) CoordinatorJSON(i int, method, path string, body, out any) (int, error) {
	return c.request(c.Coordinator(i), method, path, body, out, func(r *http.Request) {
		r.SetBasicAuth("root", c.RootPassword)
	})
}

// ServerJSON sends a cluster-internal request (superuser JWT) to any node.
func (c *Cluster) ServerJSON(n *Node, method, path string, body, out any) (int, error) {
	return c.request(n.URL(), method, path, body, out, func(r *http.Request) { _ = c.Tokens().Authorize(r) })
}

func (c *Cluster) request(base, method, path string, body, out any, auth func(*http.Request)) (int, error) {
	return JSONRequest(method, base+path, body, out, auth)
}

// JSONRequest sends body (JSON, when not nil) to url, authorized by auth
// (when not nil), and decodes the answer into out (when not nil); it
// returns the status code. One request is bounded by a minute.
func JSONRequest(method, url string, body, out any, auth func(*http.Request)) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = strings.NewReader(string(b))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, err
	}
	if auth != nil {
		auth(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decode %s: %w (%s)", url, err, b)
		}
	}
	return resp.StatusCode, nil
}

// DBServer returns the DBServer node with the id.
func (c *Cluster) DBServer(id string) *Node {
	for _, n := range c.DBServers {
		if n.ID == id {
			return n
		}
	}
	c.t.Fatalf("no DBServer %s", id)
	return nil
}

// ShardInfo is what the Agency says about one shard.
type ShardInfo struct {
	Name       string
	Collection string // id
	Planned    []string
	Current    cluster.CurrentShard
}

// Shards reads the Plan and Current of a collection's shards.
func (c *Cluster) Shards(db, collection string) []ShardInfo {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ac := c.AgencyClient()
	var colls map[string]*cluster.PlanCollection
	if _, err := ac.Get(ctx, cluster.Join(cluster.PlanCollections, db), &colls); err != nil {
		c.t.Fatal(err)
	}
	for cid, pc := range colls {
		if pc == nil || pc.Name != collection {
			continue
		}
		var cur map[string]cluster.CurrentShard
		if _, err := ac.Get(ctx, cluster.Join(cluster.CurrentCollections, db, cid), &cur); err != nil {
			c.t.Fatal(err)
		}
		var out []ShardInfo
		for _, s := range pc.ShardNames() {
			out = append(out, ShardInfo{Name: s, Collection: cid, Planned: pc.Shards[s], Current: cur[s]})
		}
		return out
	}
	c.t.Fatalf("collection %s/%s is not in the Plan", db, collection)
	return nil
}

// Checksum asks a DBServer for its local copy's count and checksum of a
// shard.
func (c *Cluster) Checksum(n *Node, shard string) (shardapi.ChecksumResponse, error) {
	var out shardapi.ChecksumResponse
	code, err := c.ServerJSON(n, http.MethodGet, shardapi.Path(shardapi.PathChecksum, shard), nil, &out)
	if err == nil && code != 200 {
		err = fmt.Errorf("checksum of %s on %s: HTTP %d", shard, n.ID, code)
	}
	return out, err
}

// Resyncs returns a DBServer's reports of finished resynchronizations.
func (c *Cluster) Resyncs(n *Node) ([]shardapi.ResyncReport, error) {
	var out struct {
		Resyncs []shardapi.ResyncReport `json:"resyncs"`
	}
	_, err := c.ServerJSON(n, http.MethodGet, shardapi.PathResyncs, nil, &out)
	return out.Resyncs, err
}

// WaitInSync waits until Current lists every planned server of every
// shard of the collection, and all copies have the same checksum.
func (c *Cluster) WaitInSync(db, collection string, timeout time.Duration) {
	c.t.Helper()
	Eventually(c.t, timeout, func() error {
		for _, s := range c.Shards(db, collection) {
			if len(s.Current.Servers) < len(s.Planned) {
				return fmt.Errorf("shard %s: Current %v, Plan %v", s.Name, s.Current.Servers, s.Planned)
			}
			var first *shardapi.ChecksumResponse
			for _, id := range s.Planned {
				sum, err := c.Checksum(c.DBServer(id), s.Name)
				if err != nil {
					return err
				}
				if first == nil {
					first = &sum
				} else if sum.Count != first.Count || sum.Checksum != first.Checksum {
					return fmt.Errorf("shard %s: copies differ: %d/%s vs %d/%s", s.Name, first.Count, first.Checksum, sum.Count, sum.Checksum)
				}
			}
		}
		return nil
	})
}

// ShardLeader returns the DBServer that leads a collection's shard (by
// number, in shard order) as Current says, waiting until Current agrees
// with the Plan.
func (c *Cluster) ShardLeader(db, collection string, i int) *Node {
	c.t.Helper()
	var id string
	Eventually(c.t, time.Minute, func() error {
		s := c.Shards(db, collection)[i]
		if len(s.Current.Servers) == 0 || s.Current.Servers[0] != s.Planned[0] {
			return fmt.Errorf("shard %s: %w yet (Plan %v, Current %v)", s.Name, errNoLeader, s.Planned, s.Current.Servers)
		}
		id = s.Planned[0]
		return nil
	})
	return c.DBServer(id)
}

var errNoLeader = errors.New("no leader in Current")
