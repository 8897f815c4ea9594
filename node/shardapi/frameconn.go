package shardapi

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// errNoFrames: the server answered the upgrade with something other than
// 101, so it does not speak frames (or refused the caller); plain HTTP
// gives the caller the server's own answer.
var errNoFrames = errors.New("shardapi: server does not accept frame connections")

// errSilent closes a connection on which a call timed out without
// anything arriving since it was sent: the peer is hung or gone.
var errSilent = errors.New("shardapi: no answer on the connection")

// frameHandshakeTimeout bounds connecting and upgrading a connection.
const frameHandshakeTimeout = 5 * time.Second

// answer is a response frame's status and body, and whether the body is
// in the binary encoding.
type answer struct {
	status int
	binary bool
	body   []byte
}

// frameConn is the caller's side of one frame connection.
type frameConn struct {
	conn     net.Conn
	w        *frameWriter
	lastRead atomic.Int64 // unix nanoseconds of the last frame read

	mu    sync.Mutex
	next  uint64
	calls map[uint64]chan answer
	err   error // set once the connection failed
}

// dialFrames connects to base (http://host:port) and upgrades the
// connection, authorizing with tokens.
func dialFrames(base string, tokens *cluster.TokenSource) (*frameConn, error) {
	host := strings.TrimPrefix(base, "http://")
	ctx, cancel := context.WithTimeout(context.Background(), frameHandshakeTimeout)
	defer cancel()
	d := net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	req, err := http.NewRequest(http.MethodGet, base+PathFrames, nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", FrameProtocol)
	if err := tokens.Authorize(req); err != nil {
		conn.Close()
		return nil, err
	}
	if err := req.Write(conn); err != nil {
		conn.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(conn, 64<<10)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || !strings.EqualFold(resp.Header.Get("Upgrade"), FrameProtocol) {
		resp.Body.Close()
		conn.Close()
		return nil, fmt.Errorf("%w: HTTP %d", errNoFrames, resp.StatusCode)
	}
	_ = conn.SetDeadline(time.Time{})
	c := &frameConn{conn: conn, w: newFrameWriter(conn), calls: map[uint64]chan answer{}}
	c.lastRead.Store(time.Now().UnixNano())
	go c.readLoop(br)
	return c, nil
}

// readLoop hands each response to its caller until the connection fails.
func (c *frameConn) readLoop(br *bufio.Reader) {
	for {
		f, err := readFrame(br)
		if err == nil && f.kind != kindResponse {
			err = errBadFrame
		}
		if err != nil {
			c.fail(err)
			return
		}
		c.lastRead.Store(time.Now().UnixNano())
		c.mu.Lock()
		ch := c.calls[f.id]
		delete(c.calls, f.id)
		c.mu.Unlock()
		if ch != nil {
			ch <- answer{status: f.status, binary: f.binary, body: f.body}
		}
	}
}

// fail closes the connection and fails every call waiting on it.
func (c *frameConn) fail(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	calls := c.calls
	c.calls = nil
	c.mu.Unlock()
	c.w.stop(err)
	c.conn.Close()
	for _, ch := range calls {
		close(ch)
	}
}

// alive reports whether the connection has not failed.
func (c *frameConn) alive() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err == nil
}

// call sends one request and waits for its answer, for the connection to
// fail, or for ctx to end.
func (c *frameConn) call(ctx context.Context, method, path string, header http.Header, body []byte, bin bool) (answer, error) {
	if err := checkRequest(method, path, header, body); err != nil {
		return answer{}, err
	}
	ch := make(chan answer, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return answer{}, err
	}
	c.next++
	id := c.next
	c.calls[id] = ch
	c.mu.Unlock()
	sent := time.Now().UnixNano()
	if err := c.w.send(func(b []byte) []byte { return appendRequest(b, id, method, path, header, body, bin) }); err != nil {
		c.fail(err)
		return answer{}, err
	}
	select {
	case a, ok := <-ch:
		if !ok {
			c.mu.Lock()
			err := c.err
			c.mu.Unlock()
			return answer{}, err
		}
		return a, nil
	case <-ctx.Done():
		c.mu.Lock()
		if c.calls != nil {
			delete(c.calls, id)
		}
		c.mu.Unlock()
		if c.lastRead.Load() < sent {
			c.fail(errSilent)
		}
		return answer{}, ctx.Err()
	}
}
