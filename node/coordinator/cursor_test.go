package coordinator_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/arangodb/go-driver/v2/arangodb"
	"github.com/arangodb/go-driver/v2/arangodb/shared"

	"github.com/arangomesos/arangomesos/internal/testharness"
)

// TestCursors runs the AQL subset through go-driver over a sharded
// collection: both bind styles (@v, @@c), batches, count, and ArangoDB's
// errors; then the raw cursor protocol (201, 200 by POST and PUT, 202, 404).
func TestCursors(t *testing.T) {
	c := startCluster(t)
	ctx := testharness.Context(t, 3*time.Minute)
	db, err := c.Client(0).GetDatabase(ctx, "_system", nil)
	if err != nil {
		t.Fatal(err)
	}
	col, err := db.CreateCollectionV2(ctx, "q", &arangodb.CreateCollectionPropertiesV2{NumberOfShards: ptr(3)})
	if err != nil {
		t.Fatal(err)
	}
	var docs []doc
	for i := 0; i < 100; i++ {
		docs = append(docs, doc{Key: fmt.Sprintf("k%03d", i), X: i, Tag: []string{"even", "odd"}[i%2]})
	}
	if _, err := col.CreateDocuments(ctx, docs); err != nil {
		t.Fatal(err)
	}
	query := func(q string, vars map[string]any, batch int) ([]any, int64, error) {
		cur, err := db.Query(ctx, q, &arangodb.QueryOptions{BindVars: vars, BatchSize: batch, Count: true})
		if err != nil {
			return nil, 0, err
		}
		defer cur.Close()
		var out []any
		for cur.HasMore() {
			var v any
			if _, err := cur.ReadDocument(ctx, &v); err != nil {
				return nil, 0, err
			}
			out = append(out, v)
		}
		return out, cur.Count(), nil
	}
	got, n, err := query("FOR d IN @@c FILTER d.tag == @t AND d.x >= 10 SORT d.x DESC LIMIT 2, 5 RETURN d.x",
		map[string]any{"@c": "q", "t": "even"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[94 92 90 88 86]" || n != 5 {
		t.Fatalf("query: %v (count %d)", got, n)
	}
	got, _, err = query("FOR d IN q FILTER d.x IN @xs OR d._key == 'k099' SORT d._key RETURN {k: d._key, x: d.x}",
		map[string]any{"xs": []int{1, 2}}, 1000)
	if err != nil || len(got) != 3 {
		t.Fatalf("query with IN and objects: %v %v", got, err)
	}
	all, n, err := query("FOR d IN q RETURN d", nil, 7)
	if err != nil || len(all) != 100 || n != 100 {
		t.Fatalf("full scan in batches of 7: %d docs, count %d, %v", len(all), n, err)
	}
	var ae shared.ArangoError
	for _, tc := range []struct {
		q    string
		vars map[string]any
		num  int
	}{
		{"FOR d IN q COLLECT x = d.x RETURN x", nil, 1501},
		{"FOR d IN q FILTER d.x == @v RETURN d", nil, 1551},
		{"FOR d IN nope RETURN d", nil, 1203},
		{"FOR d IN @@c RETURN d", map[string]any{"@c": 1}, 1553},
	} {
		if _, _, err := query(tc.q, tc.vars, 10); !errors.As(err, &ae) || ae.ErrorNum != tc.num {
			t.Errorf("%s: want errorNum %d, got %v", tc.q, tc.num, err)
		}
	}

	raw := &rawClient{t: t, base: c.Coordinator(0), auth: basicAuth(c)}
	first := raw.do("POST", "/_api/cursor", `{"query":"FOR d IN q SORT d.x RETURN d.x","batchSize":40,"count":true,"ttl":60,"options":{"optimizer":{}}}`)
	if first.code != 201 || first.json["hasMore"] != true || first.json["count"] != 100.0 || first.json["extra"] == nil {
		t.Fatalf("create cursor: %d %s", first.code, first.body)
	}
	id := first.json["id"].(string)
	if a := raw.do("POST", "/_api/cursor/"+id, ""); a.code != 200 || a.json["hasMore"] != true || len(a.json["result"].([]any)) != 40 {
		t.Fatalf("next batch (POST): %d %s", a.code, a.body)
	}
	if a := raw.do("PUT", "/_api/cursor/"+id, ""); a.code != 200 || a.json["hasMore"] != false || len(a.json["result"].([]any)) != 20 {
		t.Fatalf("last batch (PUT): %d %s", a.code, a.body)
	}
	raw.expect(raw.do("POST", "/_api/cursor/"+id, ""), 404, 1600, "exhausted cursor")
	second := raw.do("POST", "/_api/cursor", `{"query":"FOR d IN q RETURN d","batchSize":10}`)
	id = second.json["id"].(string)
	if a := raw.do("DELETE", "/_api/cursor/"+id, ""); a.code != 202 {
		t.Fatalf("delete cursor: %d %s", a.code, a.body)
	}
	raw.expect(raw.do("PUT", "/_api/cursor/"+id, ""), 404, 1600, "deleted cursor")
	raw.expect(raw.do("POST", "/_api/cursor", `{"query":""}`), 400, 1502, "empty query")
	raw.expect(raw.do("POST", "/_api/cursor", `{"query":"FOR d IN q LIMIT -1 RETURN d"}`), 400, 0, "bad LIMIT")
}
