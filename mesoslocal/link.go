package mesoslocal

import "sync"

// linkMode is the state of the master↔agent link.
type linkMode int

const (
	linkConnected   linkMode = iota // messages flow both ways
	linkPartitioned                 // messages are dropped silently both ways
	linkSevered                     // closed; the master got notice
)

func (m linkMode) String() string {
	return [...]string{"connected", "partitioned", "severed"}[m]
}

// link is the in-process connection of one agent incarnation to the
// master. Each direction is an ordered queue drained by its own goroutine,
// so neither side ever calls into the other while holding its own lock.
// A severed link is never reused: a restarted agent gets a new one.
type link struct {
	mu      sync.Mutex
	mode    linkMode
	toM     *mailbox
	toA     *mailbox
	onSever func() // delivered to the master after pending messages
}

func newLink(toMaster, toAgent func(any)) *link {
	return &link{toM: newMailbox(toMaster), toA: newMailbox(toAgent)}
}

// sendToMaster queues msg for the master unless the link is down.
func (l *link) sendToMaster(msg any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mode == linkConnected {
		l.toM.put(msg)
	}
}

// sendToAgent queues msg for the agent unless the link is down.
func (l *link) sendToAgent(msg any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mode == linkConnected {
		l.toA.put(msg)
	}
}

func (l *link) getMode() linkMode {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mode
}

// setPartitioned drops messages silently (true) or lets them flow again.
func (l *link) setPartitioned(p bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mode == linkSevered {
		return false
	}
	if p {
		l.mode = linkPartitioned
	} else {
		l.mode = linkConnected
	}
	return true
}

// sever closes the link; the master is told with msgAgentGone (a TCP close),
// unless the link was partitioned, where nothing reaches it.
func (l *link) sever() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mode == linkSevered {
		return
	}
	notify := l.mode == linkConnected
	l.mode = linkSevered
	if notify {
		l.toM.put(msgAgentGone{})
	}
	l.toM.closeAfterDrain()
	l.toA.closeNow()
}

// mailbox is an unbounded FIFO delivered by one goroutine.
type mailbox struct {
	mu      sync.Mutex
	items   []any
	wake    chan struct{}
	closing bool
	stopped bool
}

func newMailbox(deliver func(any)) *mailbox {
	mb := &mailbox{wake: make(chan struct{}, 1)}
	go mb.run(deliver)
	return mb
}

func (mb *mailbox) put(msg any) {
	mb.mu.Lock()
	if !mb.stopped && !mb.closing {
		mb.items = append(mb.items, msg)
	}
	mb.mu.Unlock()
	select {
	case mb.wake <- struct{}{}:
	default:
	}
}

func (mb *mailbox) closeAfterDrain() {
	mb.mu.Lock()
	mb.closing = true
	mb.mu.Unlock()
	select {
	case mb.wake <- struct{}{}:
	default:
	}
}

func (mb *mailbox) closeNow() {
	mb.mu.Lock()
	mb.stopped = true
	mb.items = nil
	mb.mu.Unlock()
	select {
	case mb.wake <- struct{}{}:
	default:
	}
}

func (mb *mailbox) run(deliver func(any)) {
	for {
		mb.mu.Lock()
		items := mb.items
		mb.items = nil
		done := mb.stopped || (mb.closing && len(items) == 0)
		mb.mu.Unlock()
		for _, it := range items {
			mb.mu.Lock()
			stopped := mb.stopped
			mb.mu.Unlock()
			if stopped {
				break
			}
			deliver(it)
		}
		if done {
			return
		}
		if len(items) == 0 {
			<-mb.wake
		}
	}
}
