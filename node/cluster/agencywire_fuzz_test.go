package cluster

import (
	"encoding/json"
	"testing"
)

var wireSeeds = []string{
	`[[{"/a":1}]]`, `[[{"/a":{"op":"set","new":{"b":1},"ttl":3}}],[{"/b":{"op":"push","new":2}},{"/b":{"isArray":true}},"cid"]]`,
	`[[{"/z":{"op":"erase","pos":0},"/y":{"op":"replace","val":1,"new":2}},{"/z":{"in":1,"notin":2}}]]`,
	`[[{"/a":{"op":"observe","url":"http://x/"}}]]`, `[["/a","/b"]]`, `[[{"/a":1}],["/a"]]`, `[]`, `{}`, `[[1]]`, `[[{"/a":{"op":7}}]]`,
}

// FuzzParseWriteRequest: the parser never panics, and whatever it accepts
// survives a round trip through its canonical encoding unchanged.
func FuzzParseWriteRequest(f *testing.F) {
	for _, s := range wireSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		trxs, err := ParseWriteRequest(b)
		if err != nil {
			return
		}
		enc, err := json.Marshal(trxs)
		if err != nil {
			t.Fatalf("accepted request does not encode: %v", err)
		}
		again, err := ParseWriteRequest(enc)
		if err != nil {
			t.Fatalf("canonical form %s does not parse: %v", enc, err)
		}
		enc2, _ := json.Marshal(again)
		if string(enc) != string(enc2) {
			t.Fatalf("round trip changed the request:\n%s\n%s", enc, enc2)
		}
	})
}

// FuzzParseTransactAndRead: the other parsers never panic.
func FuzzParseTransactAndRead(f *testing.F) {
	for _, s := range wireSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if items, err := ParseTransactRequest(b); err == nil {
			if _, err := json.Marshal(items); err != nil {
				t.Fatal(err)
			}
		}
		_, _ = ParseReadRequest(b)
		_, _ = ParseInquireRequest(b)
	})
}
