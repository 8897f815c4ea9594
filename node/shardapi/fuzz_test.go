package shardapi

import (
	"encoding/json"
	"reflect"
	"testing"
)

// binaryMessage is one of the messages with a binary encoding.
type binaryMessage interface {
	AppendBinary([]byte) ([]byte, error)
	UnmarshalBinary([]byte) error
}

// FuzzBinary: no input crashes a decoder, and whatever decodes encodes
// again to something that decodes to the same message.
func FuzzBinary(f *testing.F) {
	w := WriteRequest{Collection: "c", Op: OpInsert, Docs: []json.RawMessage{json.RawMessage(`{"a":1}`)}}
	seed, _ := w.AppendBinary(nil)
	f.Add(byte(0), seed)
	f.Add(byte(1), []byte{0, 0, 0})
	f.Add(byte(2), []byte{1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add(byte(3), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, kind byte, data []byte) {
		fresh := []func() binaryMessage{
			func() binaryMessage { return &WriteRequest{} },
			func() binaryMessage { return &WriteResponse{} },
			func() binaryMessage { return &ReplicateRequest{} },
			func() binaryMessage { return &ReplicateResponse{} },
		}
		mk := fresh[int(kind)%len(fresh)]
		m := mk()
		if m.UnmarshalBinary(data) != nil {
			return
		}
		b, err := m.AppendBinary(nil)
		if err != nil {
			t.Fatalf("decoded %T does not encode: %v", m, err)
		}
		again := mk()
		if err := again.UnmarshalBinary(b); err != nil {
			t.Fatalf("re-encoded %T does not decode: %v", m, err)
		}
		if !reflect.DeepEqual(m, again) {
			t.Fatalf("%T changed in a round trip: %+v → %+v", m, m, again)
		}
	})
}

// FuzzParseFrame: no input crashes the frame decoder.
func FuzzParseFrame(f *testing.F) {
	f.Add(appendRequest(nil, 7, "POST", "/_internal/shard/s1/write", nil, []byte(`{}`), false)[4:])
	f.Add(appendResponse(nil, 7, 202, []byte(`{}`), true)[4:])
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 1, 1, 9})
	f.Fuzz(func(t *testing.T, buf []byte) {
		if len(buf) < 9 {
			return // readFrame refuses these before parsing
		}
		_, _ = parseFrame(buf)
	})
}
