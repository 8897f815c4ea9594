package shardapi

import (
	"net"
	"runtime"
	"sync"
)

// frameWriter sends the frames of one connection from its own goroutine:
// callers append frames to a queue, and the writer writes everything that
// queued up meanwhile with one write call.
type frameWriter struct {
	conn net.Conn
	kick chan struct{}
	done chan struct{}

	mu   sync.Mutex
	buf  []byte
	err  error
	once sync.Once
}

func newFrameWriter(conn net.Conn) *frameWriter {
	w := &frameWriter{conn: conn, kick: make(chan struct{}, 1), done: make(chan struct{})}
	go w.run()
	return w
}

// send queues the frame build appends; it fails once the connection
// failed or the writer stopped.
func (w *frameWriter) send(build func([]byte) []byte) error {
	w.mu.Lock()
	if w.err != nil {
		err := w.err
		w.mu.Unlock()
		return err
	}
	first := len(w.buf) == 0
	w.buf = build(w.buf)
	w.mu.Unlock()
	if first {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// stop makes the writer fail further sends with err and end; it does not
// close the connection.
func (w *frameWriter) stop(err error) {
	w.once.Do(func() {
		w.mu.Lock()
		w.err = err
		w.mu.Unlock()
		close(w.done)
	})
}

func (w *frameWriter) run() {
	var out []byte
	for {
		select {
		case <-w.kick:
		case <-w.done:
			return
		}
		// Let the goroutines that are ready to run queue their frames
		// too, so that they leave with this write.
		runtime.Gosched()
		w.mu.Lock()
		out, w.buf = w.buf, out[:0]
		w.mu.Unlock()
		if len(out) == 0 {
			continue
		}
		if _, err := w.conn.Write(out); err != nil {
			w.stop(err)
			w.conn.Close()
			return
		}
		if cap(out) > 1<<20 {
			out = nil // do not keep a large body's buffer around
		}
	}
}
