package shardapi

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

func TestWorkerPool(t *testing.T) {
	p := newWorkerPool()
	before := runtime.NumGoroutine()
	// Many functions at once, some of them blocking until all started: all
	// run, each once.
	const n = 300
	var wg sync.WaitGroup
	var mu sync.Mutex
	ran := map[int]int{}
	release := make(chan struct{})
	wg.Add(n)
	for i := 0; i < n; i++ {
		p.run(func() {
			if i%2 == 0 {
				<-release
			}
			mu.Lock()
			ran[i]++
			mu.Unlock()
			wg.Done()
		})
	}
	close(release)
	wg.Wait()
	for i := 0; i < n; i++ {
		if ran[i] != 1 {
			t.Fatalf("function %d ran %d times", i, ran[i])
		}
	}
	// At most maxIdleWorkers stay waiting, and they take the next work.
	time.Sleep(50 * time.Millisecond)
	if extra := runtime.NumGoroutine() - before; extra > maxIdleWorkers {
		t.Fatalf("%d goroutines left, want at most %d", extra, maxIdleWorkers)
	}
	done := make(chan struct{})
	p.run(func() { close(done) })
	<-done
	p.stop()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if extra := runtime.NumGoroutine() - before; extra > 0 {
		t.Fatalf("%d workers still running after stop", extra)
	}
}
