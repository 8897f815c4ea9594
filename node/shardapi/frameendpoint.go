package shardapi

import (
	"context"
	"errors"
	"sync"
	"time"
)

// frameRetryHTTP is how long a client keeps using plain HTTP with a server
// that refused the upgrade before it asks again.
const frameRetryHTTP = time.Minute

// frameEndpoint is a client's frame connection to one server, and how
// connecting to it went.
type frameEndpoint struct {
	mu        sync.Mutex
	conn      *frameConn
	dialing   *frameDial
	httpUntil time.Time // refused the upgrade: plain HTTP until then
}

// frameDial is one attempt to connect; done is closed when it ended.
type frameDial struct {
	done chan struct{}
	err  error
}

// frameConn returns a live frame connection to base, connecting if there
// is none (one attempt at a time; every caller waits for it, or for its
// ctx); nil when the server does not speak frames.
func (c *Client) frameConn(ctx context.Context, base string) (*frameConn, error) {
	c.mu.Lock()
	e := c.endpoints[base]
	if e == nil {
		if c.endpoints == nil {
			c.endpoints = map[string]*frameEndpoint{}
		}
		e = &frameEndpoint{}
		c.endpoints[base] = e
	}
	c.mu.Unlock()
	for {
		e.mu.Lock()
		if e.conn != nil && e.conn.alive() {
			conn := e.conn
			e.mu.Unlock()
			return conn, nil
		}
		if time.Now().Before(e.httpUntil) {
			e.mu.Unlock()
			return nil, nil
		}
		d := e.dialing
		if d == nil {
			d = &frameDial{done: make(chan struct{})}
			e.dialing = d
			go func() {
				conn, err := dialFrames(base, c.tokens)
				e.mu.Lock()
				switch {
				case errors.Is(err, errNoFrames):
					e.httpUntil = time.Now().Add(frameRetryHTTP)
				case err == nil:
					e.conn = conn
				}
				d.err = err
				e.dialing = nil
				e.mu.Unlock()
				close(d.done)
			}()
		}
		e.mu.Unlock()
		select {
		case <-d.done:
			if d.err != nil && !errors.Is(d.err, errNoFrames) {
				return nil, d.err
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// closeFrames closes the client's frame connections.
func (c *Client) closeFrames() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.endpoints {
		e.mu.Lock()
		if e.conn != nil {
			e.conn.fail(errClientClosed)
		}
		e.mu.Unlock()
	}
}

// errClientClosed fails the calls of a closed client.
var errClientClosed = errors.New("shardapi: client closed")
