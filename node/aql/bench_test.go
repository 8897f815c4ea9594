package aql

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"testing"
)

// benchDocs are n documents as the coordinator decodes them.
func benchDocs(n int) []map[string]any {
	docs := make([]map[string]any, n)
	for i := range docs {
		key := strconv.Itoa(i)
		docs[i] = map[string]any{
			"_key": key, "_id": "c/" + key, "_rev": "_r" + key,
			"x":      json.Number(strconv.Itoa(i % 1000)),
			"name":   fmt.Sprintf("user%06d", (i*7919)%n),
			"active": i%2 == 0,
			"tags":   []any{"a", strconv.Itoa(i % 10)},
			"nested": map[string]any{"a": map[string]any{"b": json.Number(strconv.Itoa(i % 100))}},
		}
	}
	return docs
}

var allocQueries = []struct {
	query string
	vars  map[string]any
}{
	{"FOR d IN c FILTER d.x == @v RETURN d", map[string]any{"v": 500}},
	{"FOR d IN c FILTER d.nested.a.b >= 50 AND d.tags[1] != '3' OR NOT d.active RETURN d", nil},
	{"FOR d IN c FILTER d._key IN @keys RETURN d", map[string]any{"keys": []any{"1", "2", "3", 4}}},
	{"FOR d IN c FILTER d.x NOT IN [1, 2.5, 'x', null] FILTER 'a' IN d.tags RETURN d", nil},
	{"FOR d IN c FILTER d.name > d._key && d[@k] < 10 RETURN d", map[string]any{"k": "x"}},
}

// TestMatchDoesNotAllocate: the common filters evaluate without allocating,
// which is what keeps a scan over a large collection cheap.
func TestMatchDoesNotAllocate(t *testing.T) {
	docs := benchDocs(100)
	for _, tc := range allocQueries {
		p := mustPlan(t, tc.query, tc.vars)
		if n := testing.AllocsPerRun(10, func() {
			for _, d := range docs {
				p.Match(d)
			}
		}); n != 0 {
			t.Errorf("%s: %v allocations per scan", tc.query, n)
		}
	}
	p := mustPlan(t, "FOR d IN c SORT d.nested.a.b DESC, d.name RETURN d", nil)
	if n := testing.AllocsPerRun(10, func() { p.Less(docs[1], docs[2]) }); n != 0 {
		t.Errorf("Less: %v allocations", n)
	}
}

// BenchmarkMatch scans 200,000 documents with FILTER d.x == @v.
func BenchmarkMatch(b *testing.B) {
	docs := benchDocs(200000)
	p := mustPlan(b, "FOR d IN c FILTER d.x == @v RETURN d", map[string]any{"v": 500})
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for _, d := range docs {
			if p.Match(d) {
				n++
			}
		}
		if n != 200 {
			b.Fatalf("%d matches", n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(docs)), "ns/doc")
}

// BenchmarkMatchComplex scans 200,000 documents with a nested condition,
// IN on a bound list and IN on a document's array.
func BenchmarkMatchComplex(b *testing.B) {
	docs := benchDocs(200000)
	keys := []any{}
	for i := 0; i < 1000; i++ {
		keys = append(keys, strconv.Itoa(i*100))
	}
	p := mustPlan(b, `FOR d IN c FILTER (d.nested.a.b >= 50 AND d.active) OR d._key IN @keys FILTER "a" IN d.tags RETURN d`,
		map[string]any{"keys": keys})
	b.ReportAllocs()
	for b.Loop() {
		for _, d := range docs {
			p.Match(d)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(docs)), "ns/doc")
}

// BenchmarkSort sorts 200,000 documents with SORT d.name.
func BenchmarkSort(b *testing.B) {
	docs := benchDocs(200000)
	p := mustPlan(b, "FOR d IN c SORT d.name RETURN d", nil)
	work := make([]map[string]any, len(docs))
	b.ReportAllocs()
	for b.Loop() {
		copy(work, docs)
		sort.SliceStable(work, func(i, j int) bool { return p.Less(work[i], work[j]) })
	}
}

// BenchmarkParseBind is the per-request cost of a typical cursor query.
func BenchmarkParseBind(b *testing.B) {
	vars := map[string]any{"@value0": "c", "value1": json.Number("1")}
	b.ReportAllocs()
	for b.Loop() {
		q, err := Parse("FOR d IN @@value0 FILTER d.x == @value1 SORT d._key DESC LIMIT 10 RETURN {k: d._key, x: d.x}")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := q.Bind(vars); err != nil {
			b.Fatal(err)
		}
	}
}
