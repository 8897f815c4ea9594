package coordinator

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/arangomesos/arangomesos/node/cluster"
	"github.com/arangomesos/arangomesos/node/shardapi"
)

func TestPlaceShards(t *testing.T) {
	servers := []string{"PRMR-a", "PRMR-b", "PRMR-c"}
	shards := []string{"s1", "s2", "s3", "s4", "s5", "s6"}
	got, err := placeShards(shards, servers, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	leaders := map[string]int{}
	for _, s := range shards {
		list := got[s]
		if len(list) != 2 || list[0] == list[1] {
			t.Fatalf("shard %s: %v", s, list)
		}
		leaders[list[0]]++
	}
	for _, id := range servers {
		if leaders[id] != 2 {
			t.Fatalf("leaders not spread evenly: %v", leaders)
		}
	}
	// The least loaded server leads first.
	got, _ = placeShards([]string{"s7"}, servers, 1, map[string]int{"PRMR-a": 3, "PRMR-b": 1, "PRMR-c": 2})
	if got["s7"][0] != "PRMR-b" {
		t.Fatalf("new leader should go to the least loaded server: %v", got)
	}
	if _, err := placeShards(shards, servers, 4, nil); err == nil || !strings.Contains(err.Error(), "1487") {
		t.Fatalf("want 1487 for too few servers, got %v", err)
	}
}

func TestSplitDBPrefix(t *testing.T) {
	for _, tc := range []struct {
		in, db, rest  string
		prefixed, bad bool
	}{
		{"/_api/version", "", "/_api/version", false, false},
		{"/_db/_system/_api/version", "_system", "/_api/version", true, false},
		{"/_db/db1/_open/auth", "db1", "/_open/auth", true, false},
		{"/_db/db1", "db1", "/", true, false},
		{"/_db/db%31/_api/document/c/a%25b", "db1", "/_api/document/c/a%25b", true, false},
		{"/_db//x", "", "", true, true},
		{"/_db/%zz/x", "", "", true, true},
	} {
		db, rest, ok, err := splitDBPrefix(tc.in)
		if (err != nil) != tc.bad || (!tc.bad && (db != tc.db || rest != tc.rest || ok != tc.prefixed)) {
			t.Errorf("%s: got %q %q %v %v", tc.in, db, rest, ok, err)
		}
	}
}

func TestValidNames(t *testing.T) {
	for name, want := range map[string]bool{"db1": true, "a-b_c": true, "_system": false, "1abc": false, "": false,
		"a b": false, strings.Repeat("a", 65): false} {
		if got := validName(name, 64, false); got != want {
			t.Errorf("validName(%q) = %v", name, got)
		}
	}
	if !validName("_users", 256, true) {
		t.Error("system names start with _")
	}
}

func TestUnquoteEtag(t *testing.T) {
	for in, want := range map[string]string{`"_abc"`: "_abc", "_abc": "_abc", ` "_x" `: "_x", `"`: `"`} {
		if got := unquote(in); got != want {
			t.Errorf("unquote(%q) = %q", in, got)
		}
	}
}

func TestImportLines(t *testing.T) {
	docs, empty, err := importLines([]byte("{\"a\":1}\r\n\n{\"b\":2}\n"), "documents")
	if err != nil || len(docs) != 2 || empty != 1 {
		t.Fatalf("jsonl: %d docs %d empty %v", len(docs), empty, err)
	}
	docs, _, err = importLines([]byte(` [{"a":1},{"b":2},3] `), "auto")
	if err != nil || len(docs) != 3 {
		t.Fatalf("array: %d %v", len(docs), err)
	}
	if _, _, err := importLines([]byte(`[{"a":1}`), "array"); err == nil {
		t.Fatal("broken array accepted")
	}
	if _, _, err := importLines([]byte(`{}`), "csv"); err == nil {
		t.Fatal("unknown type accepted")
	}
}

func TestShardOfRoutesByShardKeys(t *testing.T) {
	c := &cluster.PlanCollection{ShardKeys: []string{"_key"}, Shards: map[string][]string{"s1": nil, "s2": nil, "s3": nil}}
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		s, ok := shardOf(c, fmt.Sprint("k", i), nil)
		if !ok {
			t.Fatal("default sharding is always complete")
		}
		seen[s] = true
		if again, _ := shardOf(c, fmt.Sprint("k", i), nil); again != s {
			t.Fatal("routing is not stable")
		}
	}
	if len(seen) != 3 {
		t.Fatalf("keys should spread over all shards: %v", seen)
	}
	c.ShardKeys = []string{"country"}
	a, ok1 := shardOf(c, "x", map[string]any{"country": json.Number("1")})
	b, ok2 := shardOf(c, "y", map[string]any{"country": 1.0})
	if !ok1 || !ok2 || a != b {
		t.Fatalf("equal shard key values must route alike: %s %s", a, b)
	}
	if _, ok := shardOf(c, "x", map[string]any{}); ok {
		t.Fatal("a missing shard key must be reported")
	}
}

// FuzzDocumentBody feeds arbitrary bodies through the coordinator's
// document parsing: no panic, and every accepted document gets a valid key.
func FuzzDocumentBody(f *testing.F) {
	for _, s := range []string{`{"_key":"a","x":1}`, `[{"_key":"a"},{"x":2},3,"k"]`, `{"_key":"a/b"}`, `{"_key":17}`,
		`[]`, `null`, `{"_key":""}`, `{"a":{"b":[1,2,{"c":null}]}}`, "\xff", `{"_key":"` + strings.Repeat("x", 300) + `"}`} {
		f.Add([]byte(s))
	}
	c := &cluster.PlanCollection{Name: "c", ShardKeys: []string{"_key"}, KeyOptions: cluster.KeyOptions{AllowUserKeys: true},
		Shards: map[string][]string{"s1": nil, "s2": nil}}
	f.Fuzz(func(t *testing.T, body []byte) {
		var arr []json.RawMessage
		if json.Unmarshal(body, &arr) != nil {
			arr = []json.RawMessage{body}
		}
		s := &Server{}
		for _, op := range []string{"replace", "remove"} {
			items, err := s.prepare(context.Background(), c, opOf(op), arr, "")
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range items {
				if it.res == nil && cluster.ValidateKey(it.key) != nil {
					t.Fatalf("accepted an invalid key %q", it.key)
				}
			}
		}
	})
}

// FuzzRequestPath: any path splits without panicking, and a prefixed path
// either names a database or is refused.
func FuzzRequestPath(f *testing.F) {
	for _, s := range []string{"/_db/_system/_api/version", "/_db/", "/_db/%", "/_api/document/c/k", "/_db/a/b/c%2Fd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		db, rest, ok, err := splitDBPrefix(p)
		if ok && err == nil && (db == "" || !strings.HasPrefix(rest, "/")) {
			t.Fatalf("%q: db %q rest %q", p, db, rest)
		}
	})
}

func opOf(s string) shardapi.Op {
	return shardapi.Op(s)
}
