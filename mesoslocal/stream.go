package mesoslocal

import (
	"net/http"
	"sync"
	"time"

	"github.com/mesos/mesos-go/api/v1/lib/recordio"
)

// maxRecord is mesos-go's RecordIO reader limit; every event must stay
// below it.
const maxRecord = 4 << 20

// eventStream is one streaming SUBSCRIBE response: a queue of encoded
// events written as RecordIO frames, flushed one by one. Senders never
// block; a closed stream drops events.
type eventStream struct {
	id        string
	mediaType string

	mu     sync.Mutex
	queue  [][]byte
	closed bool
	wake   chan struct{}
	done   chan struct{}
	gone   chan struct{} // closed when the writer stopped
}

func newEventStream(id, mediaType string) *eventStream {
	return &eventStream{id: id, mediaType: mediaType, wake: make(chan struct{}, 1),
		done: make(chan struct{}), gone: make(chan struct{})}
}

// send encodes and queues an event; false if the stream is closed or the
// event cannot be encoded.
func (s *eventStream) send(m wireMessage) bool {
	b, err := encodeEvent(s.mediaType, m)
	if err != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.queue = append(s.queue, b)
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return true
}

// close ends the stream after the queued events are written.
func (s *eventStream) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
}

func (s *eventStream) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// serve writes the response: status 200, the negotiated Content-Type,
// extra headers, then events as they come. heartbeat, if not nil, is queued
// every interval (first one after one interval). serve returns true when
// the client went away (as opposed to the server closing the stream).
func (s *eventStream) serve(w http.ResponseWriter, r *http.Request, header map[string]string,
	heartbeat func() wireMessage, interval time.Duration) (clientGone bool) {
	defer close(s.gone)
	for k, v := range header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", s.mediaType)
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	rw := recordio.NewWriter(w)
	var tick <-chan time.Time
	if heartbeat != nil && interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		s.mu.Lock()
		q := s.queue
		s.queue = nil
		closed := s.closed
		s.mu.Unlock()
		for _, b := range q {
			if err := rw.WriteFrame(b); err != nil {
				s.close()
				return true
			}
			if err := rc.Flush(); err != nil {
				s.close()
				return true
			}
		}
		if closed {
			return false
		}
		select {
		case <-s.wake:
		case <-s.done:
		case <-tick:
			s.send(heartbeat())
		case <-r.Context().Done():
			s.close()
			return true
		}
	}
}
