package coordinator

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/arangomesos/arangomesos/node/cluster"
	"github.com/arangomesos/arangomesos/node/shardapi"
)

func TestWithKey(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{`{}`, `{"_key":"12"}`},
		{` { } `, `{"_key":"12"} `},
		{`{"a":1}`, `{"_key":"12","a":1}`},
		{"{\n  \"a\": [1]\n}", "{\"_key\":\"12\",\"a\": [1]\n}"},
	} {
		if got := string(withKey(json.RawMessage(tc.raw), "12")); got != tc.want {
			t.Errorf("withKey(%s) = %s, want %s", tc.raw, got, tc.want)
		}
		var m map[string]any
		if err := json.Unmarshal(withKey(json.RawMessage(tc.raw), "12"), &m); err != nil || m["_key"] != "12" {
			t.Errorf("withKey(%s) does not decode with the key: %v %v", tc.raw, m, err)
		}
	}
}

func TestPassKey(t *testing.T) {
	users := &cluster.PlanCollection{ShardKeys: []string{"_key"}, KeyOptions: cluster.KeyOptions{AllowUserKeys: true}}
	noUsers := &cluster.PlanCollection{ShardKeys: []string{"_key"}}
	for _, tc := range []struct {
		raw        string
		c          *cluster.PlanCollection
		key        string
		hasKey, ok bool
	}{
		{`{"a":1}`, users, "", false, true},
		{`{"_key":"k1","a":1}`, users, "k1", true, true},
		{`{"_key":"k1","_key":"k2"}`, users, "k2", true, true},
		{`{"_key":"k1"}`, noUsers, "", false, false}, // refused: the decoding path says why
		{`{"_key":"a/b"}`, users, "", false, false},
		{`{"_key":17}`, users, "", false, false},
		{`{"_key":"\u006b"}`, users, "", false, false},
		{`{"a":1e999}`, users, "", false, false},
		{`[1]`, users, "", false, false},
		{`{"a":}`, users, "", false, false},
	} {
		key, hasKey, ok := passKey(json.RawMessage(tc.raw), tc.c)
		if key != tc.key || hasKey != tc.hasKey || ok != tc.ok {
			t.Errorf("passKey(%s) = %q %v %v, want %q %v %v", tc.raw, key, hasKey, ok, tc.key, tc.hasKey, tc.ok)
		}
	}
}

// FuzzInsertPassThrough: an insert's document that passes through reaches
// its shard as the same object the decoding path would send (with its key
// added), with the same key and shard; everything the decoding path
// refuses takes that path.
func FuzzInsertPassThrough(f *testing.F) {
	for _, s := range []string{`{"_key":"a","x":1}`, `[{"_key":"a"},{"x":2},3,"k"]`, `{"_key":"a/b"}`, `{"_key":17}`,
		`{}`, `{"x":1e400}`, `{"a":{"b":[1,2,{"c":null}]}}`, "\xff", `{"_key":"` + strings.Repeat("x", 300) + `"}`,
		`{"_key":"a","_key":"b"}`, `{"\u005fkey":"c"}`} {
		f.Add([]byte(s))
	}
	c := &cluster.PlanCollection{Name: "c", ShardKeys: []string{"_key"}, KeyOptions: cluster.KeyOptions{AllowUserKeys: true},
		Shards: map[string][]string{"s1": nil, "s2": nil, "s3": nil}}
	f.Fuzz(func(t *testing.T, body []byte) {
		var arr []json.RawMessage
		if json.Unmarshal(body, &arr) != nil {
			arr = []json.RawMessage{body}
		}
		s := &Server{ids: &idAllocator{next: 1, stop: 1 << 62}}
		items, err := s.prepare(context.Background(), c, shardapi.OpInsert, arr, "")
		if err != nil {
			t.Fatal(err)
		}
		for i, it := range items {
			if !it.passed {
				continue
			}
			m, bad := decodeDoc(arr[i])
			if bad != nil {
				t.Fatalf("%s passed, but decoding refuses it: %s", arr[i], bad.ErrorMessage)
			}
			if k, ok := m["_key"]; ok && k != it.key {
				t.Fatalf("%s: key %q, decoded %v", arr[i], it.key, k)
			}
			m["_key"] = it.key
			sent, bad := decodeDoc(it.raw)
			if bad != nil || !reflect.DeepEqual(sent, m) {
				t.Fatalf("%s: sends %s, want %v", arr[i], it.raw, m)
			}
			if want, _ := shardOf(c, it.key, m); it.shard != want || cluster.ValidateKey(it.key) != nil {
				t.Fatalf("%s: key %q shard %s, want %s", arr[i], it.key, it.shard, want)
			}
		}
	})
}
