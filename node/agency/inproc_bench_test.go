package agency_test

import (
	"context"
	"fmt"
	"sync"
	"syscall"
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
		cpu0 := cpuTime()
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
		b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/(writers*each), "cpu-us/write")
	}
}

// cpuTime is the process's user and system CPU time so far: unlike wall
// time, hardly affected by other load on the machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
