package shardapi

import "sync"

// maxIdleWorkers bounds the goroutines a FrameServer keeps waiting for
// frames.
const maxIdleWorkers = 64

// workerPool runs functions on goroutines that wait for the next one when
// they are done: a frame's handler starts on a stack that earlier handlers
// grew instead of a new goroutine's small one, which would be grown (copied)
// again for every frame.
type workerPool struct {
	work chan func()
	done chan struct{}

	mu   sync.Mutex
	idle int
}

func newWorkerPool() *workerPool {
	return &workerPool{work: make(chan func()), done: make(chan struct{})}
}

// run runs fn on an idle worker, or on a new one when none is idle.
func (p *workerPool) run(fn func()) {
	select {
	case p.work <- fn:
	default:
		go p.worker(fn)
	}
}

func (p *workerPool) worker(fn func()) {
	for {
		fn()
		p.mu.Lock()
		if p.idle >= maxIdleWorkers {
			p.mu.Unlock()
			return
		}
		p.idle++
		p.mu.Unlock()
		select {
		case fn = <-p.work:
		case <-p.done:
			return
		}
		p.mu.Lock()
		p.idle--
		p.mu.Unlock()
	}
}

// stop ends the idle workers.
func (p *workerPool) stop() { close(p.done) }
