package dbserver_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arangodb/go-driver/v2/arangodb"

	"github.com/arangomesos/arangomesos/internal/testharness"
	"github.com/arangomesos/arangomesos/node/shardapi"
)

// writer inserts documents k0, k1, … one after the other, retrying a key
// until it is acknowledged, and records the longest wait for an
// acknowledgement.
type writer struct {
	col      arangodb.Collection
	acked    atomic.Int64
	maxStall atomic.Int64 // nanoseconds
	stop     chan struct{}
	done     chan struct{}
	errs     atomic.Int64
}

func startWriter(col arangodb.Collection) *writer {
	w := &writer{col: col, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for i := 0; ; i++ {
			start := time.Now()
			for {
				select {
				case <-w.stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				_, err := w.col.CreateDocumentWithOptions(ctx, map[string]any{"_key": fmt.Sprintf("k%d", i), "i": i},
					&arangodb.CollectionDocumentCreateOptions{Overwrite: ptr(true)})
				cancel()
				if err == nil {
					break
				}
				w.errs.Add(1)
			}
			if d := time.Since(start); d.Nanoseconds() > w.maxStall.Load() {
				w.maxStall.Store(d.Nanoseconds())
			}
			w.acked.Store(int64(i + 1))
		}
	}()
	return w
}

func (w *writer) halt() { close(w.stop); <-w.done }

// waitProgress waits until the writer has n more acknowledged writes.
func (w *writer) waitProgress(t *testing.T, n int64, timeout time.Duration) {
	t.Helper()
	target := w.acked.Load() + n
	testharness.Eventually(t, timeout, func() error {
		if got := w.acked.Load(); got < target {
			return fmt.Errorf("writer at %d, waiting for %d", got, target)
		}
		return nil
	})
}

func ptr[T any](v T) *T { return &v }

// checkOpIDs sends the same internal write twice with one operation id, as
// a coordinator retrying after a lost answer does: the second gets the first
// one's result and nothing is applied twice.
func checkOpIDs(t *testing.T, c *testharness.Cluster, shard testharness.ShardInfo) {
	t.Helper()
	leader := c.DBServer(shard.Planned[0])
	send := func() string {
		body := `{"collection":"r","op":"insert","docs":[{"_key":"once","n":1}],"options":{"keepNull":true,"mergeObjects":true,"ignoreRevs":true}}`
		req, _ := http.NewRequest("POST", leader.URL()+shardapi.Path(shardapi.PathWrite, shard.Name), strings.NewReader(body))
		req.Header.Set(shardapi.HeaderOpID, "test-op-1")
		_ = c.Tokens().Authorize(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("internal write: %d %s", resp.StatusCode, b)
		}
		return string(b)
	}
	first, second := send(), send()
	if first != second || strings.Contains(second, "1210") {
		t.Fatalf("a retry with the same operation id was applied again:\n%s\n%s", first, second)
	}
	sum, err := c.Checksum(leader, shard.Name)
	if err != nil || sum.Count != 1 {
		t.Fatalf("after the retried write: %+v %v", sum, err)
	}
	code, err := c.CoordinatorJSON(0, "DELETE", "/_api/document/r/once", nil, nil)
	if err != nil || code != 202 {
		t.Fatalf("remove: %d %v", code, err)
	}
}

// stopWriter halts the writer if it still runs (deferred by tests).
func (w *writer) stopIfRunning() {
	select {
	case <-w.done:
	default:
		w.halt()
	}
}

// oneShardRF2 creates a collection of one shard with two copies in
// _system, checks that create answered only once both copies were in sync,
// and returns it with its shard.
func oneShardRF2(t *testing.T, c *testharness.Cluster, name string) (arangodb.Collection, testharness.ShardInfo) {
	t.Helper()
	ctx := testharness.Context(t, time.Minute)
	db, err := c.Client(0).GetDatabase(ctx, "_system", nil)
	if err != nil {
		t.Fatal(err)
	}
	col, err := db.CreateCollectionV2(ctx, name, &arangodb.CreateCollectionPropertiesV2{
		NumberOfShards: ptr(1), ReplicationFactor: ptr(arangodb.ReplicationFactor(2))})
	if err != nil {
		t.Fatalf("create collection %s: %v", name, err)
	}
	shard := c.Shards("_system", name)[0]
	if len(shard.Current.Servers) != 2 {
		t.Fatalf("collection create answered before both copies were in sync: %+v", shard.Current)
	}
	return col, shard
}

// waitShard waits until cond holds for the collection's only shard.
func waitShard(t *testing.T, c *testharness.Cluster, name string, timeout time.Duration, cond func(testharness.ShardInfo) error) {
	t.Helper()
	testharness.Eventually(t, timeout, func() error { return cond(c.Shards("_system", name)[0]) })
}

// inCurrent is a waitShard condition: Current lists server (or not).
func inCurrent(server string, want bool) func(testharness.ShardInfo) error {
	return func(s testharness.ShardInfo) error {
		if slices.Contains(s.Current.Servers, server) != want {
			return fmt.Errorf("shard %s: Current %v, waiting for %s in it: %v", s.Name, s.Current.Servers, server, want)
		}
		return nil
	}
}

// checkNoLoss stops the writer, waits until every copy agrees, and checks
// that exactly the acknowledged writes are there.
func checkNoLoss(t *testing.T, c *testharness.Cluster, col arangodb.Collection, w *writer) {
	t.Helper()
	w.halt()
	c.WaitInSync("_system", col.Name(), time.Minute)
	n, err := col.Count(testharness.Context(t, time.Minute))
	if err != nil || n != w.acked.Load() {
		t.Fatalf("count %d (%v), acknowledged %d: a write was lost or doubled", n, err, w.acked.Load())
	}
	t.Logf("%d writes acknowledged, %d retried errors", w.acked.Load(), w.errs.Load())
}

// TestFollowerKilledAndBack: with a writer running, kill -9 the follower
// of a replicationFactor 2 shard: writes stall at most about the drop
// timeout, then go on; restart it: it returns to the in-sync list while the
// writer keeps writing; in the end both copies hold the same documents and
// every acknowledged write is there.
func TestFollowerKilledAndBack(t *testing.T) {
	c := testharness.StartCluster(t, testharness.ClusterOptions{DBServers: 2, Coordinators: 1})
	col, shard := oneShardRF2(t, c, "r")
	follower := c.DBServer(shard.Planned[1])
	// wc has its shard on the same servers, and needs both copies.
	if code, err := c.CoordinatorJSON(0, "POST", "/_api/collection",
		map[string]any{"name": "wc", "distributeShardsLike": "r", "writeConcern": 2}, nil); err != nil || code != 200 {
		t.Fatalf("create wc: %d %v", code, err)
	}
	insertWC := func(key string) (int, int) {
		var out struct {
			ErrorNum int `json:"errorNum"`
		}
		code, err := c.CoordinatorJSON(0, "POST", "/_api/document/wc", map[string]any{"_key": key}, &out)
		if err != nil {
			t.Fatal(err)
		}
		return code, out.ErrorNum
	}
	if code, num := insertWC("w0"); code != 202 {
		t.Fatalf("insert with writeConcern 2: %d/%d", code, num)
	}
	checkOpIDs(t, c, shard)
	w := startWriter(col)
	defer w.stopIfRunning()
	w.waitProgress(t, 200, time.Minute)

	follower.Kill()
	w.waitProgress(t, 200, time.Minute)
	stall := time.Duration(w.maxStall.Load())
	t.Logf("longest write while the follower died: %v (drop timeout 3s)", stall)
	if stall > 20*time.Second {
		t.Fatalf("writes stalled for %v", stall)
	}
	waitShard(t, c, "r", 30*time.Second, inCurrent(follower.ID, false))

	// With one copy left, writeConcern 2 refuses writes (403/1429); reads go on.
	testharness.Eventually(t, 30*time.Second, func() error {
		if code, num := insertWC(fmt.Sprint("w", time.Now().UnixNano())); code != 403 || num != 1429 {
			return fmt.Errorf("insert into wc: %d/%d, want 403/1429", code, num)
		}
		return nil
	})
	if code, _ := c.CoordinatorJSON(0, "GET", "/_api/document/wc/w0", nil, nil); code != 200 {
		t.Fatalf("read from wc without write concern: %d", code)
	}

	follower.Restart()
	waitShard(t, c, "r", 90*time.Second, inCurrent(follower.ID, true))
	w.waitProgress(t, 200, time.Minute)
	testharness.Eventually(t, 60*time.Second, func() error {
		if code, num := insertWC(fmt.Sprint("x", time.Now().UnixNano())); code != 202 {
			return fmt.Errorf("insert into wc after the follower came back: %d/%d", code, num)
		}
		return nil
	})

	// A hung follower (SIGSTOP) is dropped after the replication timeout.
	w.maxStall.Store(0)
	follower.Pause()
	w.waitProgress(t, 200, time.Minute)
	stall = time.Duration(w.maxStall.Load())
	t.Logf("longest write while the follower hung: %v (drop timeout 3s)", stall)
	if stall > 30*time.Second {
		t.Fatalf("a hung follower should stall writes for about the drop timeout, not %v", stall)
	}
	follower.Resume()
	waitShard(t, c, "r", 90*time.Second, inCurrent(follower.ID, true))
	w.waitProgress(t, 100, time.Minute)
	checkNoLoss(t, c, col, w)
}
