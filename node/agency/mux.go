package agency

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// An agent serves HTTP and Raft on one port, like arangod. A Raft connection
// starts with raftMagic, then a 2-byte big-endian length and a superuser JWT
// (empty when authentication is off); anything else is HTTP. Connections whose
// token does not verify are closed before Raft sees a byte.
const raftMagic byte = 0xA5

// handshakeTimeout bounds how long a new connection may take to say what it is.
const handshakeTimeout = 5 * time.Second

// mux splits one listener into an HTTP listener and a Raft stream layer.
type mux struct {
	ln     net.Listener
	secret cluster.Secret
	tokens *cluster.TokenSource
	log    *slog.Logger

	http *chanListener
	raft *chanListener

	closeOnce sync.Once
}

func newMux(ln net.Listener, secret cluster.Secret, tokens *cluster.TokenSource, log *slog.Logger) *mux {
	m := &mux{ln: ln, secret: secret, tokens: tokens, log: log,
		http: newChanListener(ln.Addr()), raft: newChanListener(ln.Addr())}
	go m.serve()
	return m
}

func (m *mux) serve() {
	for {
		c, err := m.ln.Accept()
		if err != nil {
			m.http.closeWith(err)
			m.raft.closeWith(err)
			return
		}
		go m.route(c)
	}
}

func (m *mux) route(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(handshakeTimeout))
	br := bufio.NewReader(c)
	first, err := br.Peek(1)
	if err != nil {
		c.Close()
		return
	}
	if first[0] != raftMagic {
		_ = c.SetReadDeadline(time.Time{})
		m.http.deliver(&bufferedConn{Conn: c, r: br})
		return
	}
	_, _ = br.ReadByte()
	var n uint16
	if err := binary.Read(br, binary.BigEndian, &n); err != nil {
		c.Close()
		return
	}
	tok := make([]byte, n)
	if _, err := io.ReadFull(br, tok); err != nil {
		c.Close()
		return
	}
	if m.secret.Enabled() {
		if claims, err := cluster.VerifyToken(m.secret, string(tok)); err != nil || claims.ServerID == "" {
			m.log.Warn("refused raft connection with a bad token", "remote", c.RemoteAddr().String())
			c.Close()
			return
		}
	}
	_ = c.SetReadDeadline(time.Time{})
	m.raft.deliver(&bufferedConn{Conn: c, r: br})
}

func (m *mux) Close() error {
	var err error
	m.closeOnce.Do(func() {
		err = m.ln.Close()
		m.http.closeWith(net.ErrClosed)
		m.raft.closeWith(net.ErrClosed)
	})
	return err
}

// streamLayer is the raft.StreamLayer of the mux: it accepts the Raft
// connections and dials others with the handshake.
type streamLayer struct{ m *mux }

func (s streamLayer) Accept() (net.Conn, error) { return s.m.raft.Accept() }
func (s streamLayer) Close() error              { return s.m.raft.Close() }
func (s streamLayer) Addr() net.Addr            { return s.m.ln.Addr() }

// Dial connects to another agent's port and sends the Raft handshake.
func (s streamLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", string(addr), timeout)
	if err != nil {
		return nil, err
	}
	tok, err := s.m.tokens.Token()
	if err != nil {
		c.Close()
		return nil, err
	}
	if len(tok) > 0xFFFF {
		c.Close()
		return nil, errors.New("agency: token too long")
	}
	hdr := make([]byte, 3+len(tok))
	hdr[0] = raftMagic
	binary.BigEndian.PutUint16(hdr[1:], uint16(len(tok)))
	copy(hdr[3:], tok)
	_ = c.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := c.Write(hdr); err != nil {
		c.Close()
		return nil, fmt.Errorf("agency: raft handshake to %s: %w", addr, err)
	}
	_ = c.SetWriteDeadline(time.Time{})
	return c, nil
}

// chanListener is a net.Listener fed by the mux.
type chanListener struct {
	addr   net.Addr
	conns  chan net.Conn
	done   chan struct{}
	once   sync.Once
	closed error
}

func newChanListener(addr net.Addr) *chanListener {
	return &chanListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) deliver(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		c.Close()
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) closeWith(err error) {
	l.once.Do(func() { l.closed = err; close(l.done) })
}

func (l *chanListener) Close() error   { l.closeWith(net.ErrClosed); return nil }
func (l *chanListener) Addr() net.Addr { return l.addr }

// bufferedConn is a connection whose first bytes were peeked.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
