package shardapi

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/arangomesos/arangomesos/node/arangohttp"
)

// FrameServer is the server's side of frame connections (see frames.go):
// registered for GET PathFrames behind the server's authentication, it
// upgrades the connection and serves every request frame, each in its own
// goroutine, with handler, as if it had come as an HTTP request.
type FrameServer struct {
	handler http.Handler
	log     *slog.Logger
	workers *workerPool

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// NewFrameServer returns a FrameServer that serves frames with handler.
func NewFrameServer(handler http.Handler, log *slog.Logger) *FrameServer {
	if log == nil {
		log = slog.Default()
	}
	return &FrameServer{handler: handler, log: log, workers: newWorkerPool(), conns: map[net.Conn]struct{}{}}
}

// ServeHTTP upgrades a connection and serves its frames until it closes.
func (s *FrameServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), FrameProtocol) {
		arangohttp.WriteError(w, arangohttp.BadParameter("expecting Upgrade: %s", FrameProtocol))
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		conn.Close()
		return
	}
	s.conns[conn] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, conn)
		s.mu.Unlock()
		conn.Close()
	}()
	_ = conn.SetDeadline(time.Time{})
	_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: " + FrameProtocol + "\r\nConnection: Upgrade\r\n\r\n")
	if brw.Flush() != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fw := newFrameWriter(conn)
	defer fw.stop(net.ErrClosed)
	// Read from the connection itself, after what the HTTP server's
	// reader may hold already.
	held, _ := brw.Reader.Peek(brw.Reader.Buffered())
	br := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(held)), conn), 64<<10)
	remote := conn.RemoteAddr().String()
	for {
		f, err := readFrame(br)
		if err == nil && f.kind != kindRequest {
			err = errBadFrame
		}
		if err != nil {
			return
		}
		s.workers.run(func() { s.serve(ctx, fw, remote, f) })
	}
}

// serve answers one request frame.
func (s *FrameServer) serve(ctx context.Context, fw *frameWriter, remote string, f frame) {
	rw := &frameResponse{status: http.StatusOK}
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic serving a frame", "path", f.path, "panic", p)
			rw = &frameResponse{status: http.StatusInternalServerError, body: []byte(`{"error":true,"code":500,"errorNum":4,"errorMessage":"internal error"}`)}
		}
		bin := rw.header != nil && rw.header.Get("Content-Type") == ContentTypeBinary
		_ = fw.send(func(b []byte) []byte { return appendResponse(b, f.id, rw.status, rw.body, bin) })
	}()
	req, err := http.NewRequestWithContext(ctx, f.method, f.path, &arangohttp.MemoryBody{Reader: bytes.NewReader(f.body), Data: f.body})
	if err != nil {
		arangohttp.WriteError(rw, arangohttp.BadParameter("bad request frame: %v", err))
		return
	}
	req.ContentLength = int64(len(f.body))
	req.Header = f.header
	if f.binary {
		req.Header.Set("Content-Type", ContentTypeBinary)
	}
	req.RemoteAddr = remote
	req.RequestURI = f.path
	s.handler.ServeHTTP(rw, req)
}

// Close closes every frame connection; calls under way get no answer.
func (s *FrameServer) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.workers.stop()
}

// frameResponse collects a handler's answer for a response frame.
type frameResponse struct {
	header http.Header
	status int
	wrote  bool
	body   []byte
}

func (w *frameResponse) Header() http.Header {
	if w.header == nil {
		w.header = http.Header{}
	}
	return w.header
}

func (w *frameResponse) WriteHeader(status int) {
	if !w.wrote {
		w.status, w.wrote = status, true
	}
}

func (w *frameResponse) Write(b []byte) (int, error) {
	w.wrote = true
	w.body = append(w.body, b...)
	return len(b), nil
}
