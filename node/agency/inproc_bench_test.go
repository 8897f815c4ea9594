package agency_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/node/agency/agencytest"
	"github.com/arangomesos/arangomesos/node/cluster"
)

// BenchmarkAgencyInProcess is BenchmarkAgency's concurrent part with all
// three agents in the test process, for profiling (-cpuprofile).
func BenchmarkAgencyInProcess(b *testing.B) {
	c := agencytest.New(b, 3, agencytest.Options{Secret: cluster.Secret("bench")})
	cl := c.Client()
	ctx := context.Background()
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		const writers, each = 64, 250
		start := time.Now()
		var wg sync.WaitGroup
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < each; i++ {
					if _, err := cl.Write(ctx, cluster.Transaction{Ops: map[string]cluster.Operation{fmt.Sprintf("/conc/%d", w): cluster.Set(i)}}); err != nil {
						b.Error(err)
						return
					}
				}
			}(w)
		}
		wg.Wait()
		b.ReportMetric(writers*each/time.Since(start).Seconds(), "conc64-writes/s")
	}
}
