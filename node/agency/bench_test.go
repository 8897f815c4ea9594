package agency_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/internal/testharness"
	"github.com/arangomesos/arangomesos/node/cluster"
)

// BenchmarkAgency measures a 3-agent Agency of real processes on loopback
// (with JWT authentication on, as in production): sequential writes, 64
// concurrent writers, and read latency. Each run does a fixed amount of work
// and reports rates and latency percentiles; run it with -benchtime 1x (make
// bench). Method and numbers: docs/benchmarks.md.
func BenchmarkAgency(b *testing.B) {
	c := testharness.StartCluster(b, testharness.ClusterOptions{})
	cl := c.AgencyClient()
	ctx := context.Background()
	write := func(key string, v int) {
		if _, err := cl.Write(ctx, cluster.Transaction{Ops: map[string]cluster.Operation{key: cluster.Set(v)}}); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < 200; i++ { // warm up connections
		write("/warm", i)
	}
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		const seq = 2000
		start := time.Now()
		lat := make([]time.Duration, 0, seq)
		for i := 0; i < seq; i++ {
			t0 := time.Now()
			write(fmt.Sprintf("/seq/%d", i%100), i)
			lat = append(lat, time.Since(t0))
		}
		b.ReportMetric(seq/time.Since(start).Seconds(), "seq-writes/s")
		b.ReportMetric(ms(percentile(lat, 50)), "seq-write-p50-ms")
		b.ReportMetric(ms(percentile(lat, 99)), "seq-write-p99-ms")

		const writers, each = 64, 250
		start = time.Now()
		var wg sync.WaitGroup
		lats := make([][]time.Duration, writers)
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < each; i++ {
					t0 := time.Now()
					write(fmt.Sprintf("/conc/%d", w), i)
					lats[w] = append(lats[w], time.Since(t0))
				}
			}(w)
		}
		wg.Wait()
		b.ReportMetric(writers*each/time.Since(start).Seconds(), "conc64-writes/s")
		lat = lat[:0]
		for _, l := range lats {
			lat = append(lat, l...)
		}
		b.ReportMetric(ms(percentile(lat, 50)), "conc64-write-p50-ms")
		b.ReportMetric(ms(percentile(lat, 99)), "conc64-write-p99-ms")

		const reads = 2000
		lat = lat[:0]
		start = time.Now()
		for i := 0; i < reads; i++ {
			t0 := time.Now()
			if _, err := cl.Read(ctx, cluster.ReadQuery{fmt.Sprintf("/seq/%d", i%100)}); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		b.ReportMetric(reads/time.Since(start).Seconds(), "seq-reads/s")
		b.ReportMetric(ms(percentile(lat, 50)), "read-p50-ms")
		b.ReportMetric(ms(percentile(lat, 99)), "read-p99-ms")
	}
}

func percentile(d []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, len(s)*p/100)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
