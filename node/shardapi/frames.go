package shardapi

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// Intra-cluster calls run over frame connections: the caller opens a TCP
// connection to the DBServer's HTTP port and upgrades it (GET PathFrames,
// "Upgrade: arangomesos-frames/1", with its superuser JWT, which the
// DBServer checks like any request's). From then on both sides send
// length-prefixed frames, and many calls share the connection at once: a
// request frame names the method, path and headers of an internal API
// request, and its response frame, matched by id, carries the status and
// body the DBServer's handler answered. Whatever frames queue up while a
// write is under way go out with the next single write, and one read takes
// in whatever arrived: under load, fewer system calls, and none of HTTP/1.1's
// header parsing and formatting, per call.
//
// A frame is: the length of the rest (uint32), the call id (uint64), the
// kind (one byte), then for a request the method (one length byte), the path
// (uint16 length), the headers (a count byte, then uint16-length-prefixed
// names and values) and the body; for a response the status (uint16) and
// the body. Integers are big-endian.

// PathFrames is the path a frame connection is upgraded on.
const PathFrames = "/_internal/frames"

// FrameProtocol is the Upgrade header's protocol name.
const FrameProtocol = "arangomesos-frames/1"

// maxFrame bounds a frame (request bodies are bounded far below).
const maxFrame = 1 << 30

// Frame kinds, and the flag of a kind byte that marks a body in the
// binary encoding (ContentTypeBinary).
const (
	kindRequest  byte = 1
	kindResponse byte = 2
	flagBinary   byte = 0x80
)

// errBadFrame: the peer sent something that is not a frame.
var errBadFrame = errors.New("shardapi: malformed frame")

// frame is one decoded frame; body (and the strings) point into the
// frame's own buffer.
type frame struct {
	id     uint64
	kind   byte
	method string
	path   string
	header http.Header
	status int
	binary bool
	body   []byte
}

// appendRequest appends a request frame to b.
func appendRequest(b []byte, id uint64, method, path string, header http.Header, body []byte, bin bool) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0)
	b = binary.BigEndian.AppendUint64(b, id)
	b = append(b, kind(kindRequest, bin), byte(len(method)))
	b = append(b, method...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(path)))
	b = append(b, path...)
	n := 0
	for _, vs := range header {
		n += len(vs)
	}
	b = append(b, byte(n))
	for k, vs := range header {
		for _, v := range vs {
			b = binary.BigEndian.AppendUint16(b, uint16(len(k)))
			b = append(b, k...)
			b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
			b = append(b, v...)
		}
	}
	b = append(b, body...)
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start-4))
	return b
}

// appendResponse appends a response frame to b.
func appendResponse(b []byte, id uint64, status int, body []byte, bin bool) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0)
	b = binary.BigEndian.AppendUint64(b, id)
	b = append(b, kind(kindResponse, bin))
	b = binary.BigEndian.AppendUint16(b, uint16(status))
	b = append(b, body...)
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start-4))
	return b
}

func kind(k byte, bin bool) byte {
	if bin {
		return k | flagBinary
	}
	return k
}

// checkRequest reports whether a request frame can be encoded: the
// lengths fit their fields.
func checkRequest(method, path string, header http.Header, body []byte) error {
	n := 0
	for k, vs := range header {
		n += len(vs)
		for _, v := range vs {
			if len(k) > 0xffff || len(v) > 0xffff {
				return fmt.Errorf("shardapi: header %s too long for a frame", k)
			}
		}
	}
	if len(method) > 0xff || len(path) > 0xffff || n > 0xff || len(body) > maxFrame-len(path)-(1<<16) {
		return fmt.Errorf("shardapi: request %s %s too large for a frame", method, path)
	}
	return nil
}

// readFrame reads and decodes the next frame.
func readFrame(r *bufio.Reader) (frame, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return frame{}, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n < 9 || n > maxFrame {
		return frame{}, errBadFrame
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return frame{}, err
	}
	return parseFrame(buf)
}

// parseFrame decodes a frame without its length prefix.
func parseFrame(buf []byte) (frame, error) {
	f := frame{id: binary.BigEndian.Uint64(buf), kind: buf[8] &^ flagBinary, binary: buf[8]&flagBinary != 0}
	p := buf[9:]
	take := func(n int) ([]byte, bool) {
		if n > len(p) {
			return nil, false
		}
		v := p[:n]
		p = p[n:]
		return v, true
	}
	u16 := func() (int, bool) {
		v, ok := take(2)
		if !ok {
			return 0, false
		}
		return int(binary.BigEndian.Uint16(v)), true
	}
	str16 := func() (string, bool) {
		n, ok := u16()
		if !ok {
			return "", false
		}
		v, ok := take(n)
		return string(v), ok
	}
	switch f.kind {
	case kindResponse:
		st, ok := u16()
		if !ok {
			return frame{}, errBadFrame
		}
		f.status, f.body = st, p
		return f, nil
	case kindRequest:
		ml, ok := take(1)
		if !ok {
			return frame{}, errBadFrame
		}
		m, ok := take(int(ml[0]))
		if !ok {
			return frame{}, errBadFrame
		}
		f.method = string(m)
		if f.path, ok = str16(); !ok {
			return frame{}, errBadFrame
		}
		nh, ok := take(1)
		if !ok {
			return frame{}, errBadFrame
		}
		f.header = make(http.Header, int(nh[0]))
		for i := 0; i < int(nh[0]); i++ {
			k, ok1 := str16()
			v, ok2 := str16()
			if !ok1 || !ok2 {
				return frame{}, errBadFrame
			}
			f.header[k] = append(f.header[k], v)
		}
		f.body = p
		return f, nil
	}
	return frame{}, errBadFrame
}
