package devcluster_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/arangodb/go-driver/v2/arangodb"
	"github.com/arangodb/go-driver/v2/arangodb/shared"

	"github.com/arangomesos/arangomesos/internal/testharness"
)

// BenchmarkDevServing times `arangomesos dev` (make run), the real binary as
// a user starts it: from the process start until it writes dev.json (it
// says the cluster serves), until go-driver, through the printed
// coordinators, has created a collection (3 shards, replicationFactor 2) and
// had a document write acknowledged, and from Ctrl-C (SIGINT) until the
// process has exited (everything stopped, the directory removed). Issue 7's
// target: serving documents within 30 s on a 2-core machine. Run it with
// -benchtime 1x (make bench); docs/benchmarks.md has the numbers.
func BenchmarkDevServing(b *testing.B) {
	testharness.Binary(b) // built before the clock starts
	for i := 0; i < b.N; i++ {
		start := time.Now()
		dev := testharness.StartDev(b, 3*time.Minute)
		p, info := dev.Process, dev.Info
		ready := time.Since(start)

		client := testharness.DriverClient(info.Coordinators, "root", info.RootPassword)
		shards, rf := 3, arangodb.ReplicationFactor(2)
		poll(b, 3*time.Minute, func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			db, err := client.GetDatabase(ctx, "_system", nil)
			if err != nil {
				return err
			}
			col, err := db.CreateCollectionV2(ctx, "bench", &arangodb.CreateCollectionPropertiesV2{NumberOfShards: &shards, ReplicationFactor: &rf})
			if shared.IsConflict(err) {
				col, err = db.GetCollection(ctx, "bench", nil)
			}
			if err != nil {
				return err
			}
			_, err = col.CreateDocument(ctx, map[string]any{"_key": "first", "n": 1})
			if shared.IsConflict(err) {
				return nil // an earlier attempt made it
			}
			return err
		})
		serving := time.Since(start)

		stopAt := time.Now()
		p.Signal(syscall.SIGINT)
		if !p.Wait(time.Minute) {
			b.Fatalf("arangomesos dev still runs a minute after Ctrl-C:\n%s", p.Tail(30))
		}
		stopped := time.Since(stopAt)
		b.Logf("arangomesos dev: dev.json after %v, first document written after %v, stopped %v after Ctrl-C",
			ready.Round(time.Millisecond), serving.Round(time.Millisecond), stopped.Round(time.Millisecond))
		b.ReportMetric(ready.Seconds(), "dev-json-s")
		b.ReportMetric(serving.Seconds(), "first-write-s")
		b.ReportMetric(stopped.Seconds(), "stop-s")
	}
}

// poll calls f every 50 ms until it returns nil, and fails the benchmark
// with f's last error after timeout.
func poll(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not true after %v: %v", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
