package shardapi

import (
	"encoding"
	"encoding/json"
	"reflect"
	"testing"
)

func TestBinaryRoundTrip(t *testing.T) {
	type message interface {
		encoding.BinaryAppender
		encoding.BinaryUnmarshaler
	}
	for _, tc := range []struct {
		name string
		in   message
		out  message
	}{
		{"write, empty", &WriteRequest{}, &WriteRequest{}},
		{"write", &WriteRequest{Collection: "c", Op: OpUpdate, Docs: []json.RawMessage{json.RawMessage(`{"_key":"a"}`), json.RawMessage(`{}`)},
			Options: WriteOptions{WaitForSync: true, ReturnNew: true, KeepNull: true, IgnoreRevs: true, OverwriteMode: "replace",
				IfMatch: "_rev1", ShardKeys: []string{"x", "y"}}}, &WriteRequest{}},
		{"write, other flags", &WriteRequest{Op: OpInsert, Docs: []json.RawMessage{json.RawMessage(`{}`)},
			Options: WriteOptions{ReturnOld: true, MergeObjects: true}}, &WriteRequest{}},
		{"response", &WriteResponse{Truncated: 7, Results: []Result{
			{ID: "c/a", Key: "a", Rev: "_r", OldRev: "_o", New: json.RawMessage(`{"a":1}`), Old: json.RawMessage(`{}`), Unchanged: true},
			{Error: true, Code: 409, ErrorNum: 1210, ErrorMessage: "unique constraint violated"}}}, &WriteResponse{}},
		{"response, empty", &WriteResponse{}, &WriteResponse{}},
		{"replicate", &ReplicateRequest{Leader: "PRMR-1", RebootID: 3, Term: 9, WaitForSync: true, Entries: []Entry{
			{Seq: 1, OpID: "op", Result: json.RawMessage(`{"term":9}`), Sync: true,
				Muts: []Mutation{{Key: "a", Rev: 1 << 40, Doc: json.RawMessage(`{"_key":"a"}`)}, {Key: "b", Rev: 2}}},
			{Seq: 2, Muts: []Mutation{{Rev: 5, Truncate: true}}}}}, &ReplicateRequest{}},
		{"replicate, empty", &ReplicateRequest{}, &ReplicateRequest{}},
		{"replicate answer", &ReplicateResponse{Seq: 1<<63 + 5}, &ReplicateResponse{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.in.AppendBinary([]byte("prefix"))
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.out.UnmarshalBinary(b[len("prefix"):]); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(tc.in, tc.out) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", tc.out, tc.in)
			}
			// Every truncation of the encoding fails to decode.
			for n := 0; n < len(b)-len("prefix"); n++ {
				if err := reflect.New(reflect.TypeOf(tc.out).Elem()).Interface().(message).UnmarshalBinary(b[len("prefix") : len("prefix")+n]); err == nil {
					t.Fatalf("truncated to %d bytes: decoded", n)
				}
			}
		})
	}
}

func TestBinaryGarbage(t *testing.T) {
	for _, b := range [][]byte{{0xff}, {0x80, 0x80, 0x80}, {0, 0, 2}, {5, 'a'}} {
		var q ReplicateRequest
		if q.UnmarshalBinary(b) == nil {
			t.Errorf("%v decoded", b)
		}
	}
}
