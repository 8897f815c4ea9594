package aql

import (
	"bytes"
	"encoding/json"
	"sort"
	"testing"
)

// decode decodes JSON as the coordinator does: numbers as json.Number.
func decode(t testing.TB, s string) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return v
}

func decodeDocs(t testing.TB, s string) []map[string]any {
	t.Helper()
	var docs []map[string]any
	for _, d := range decode(t, s).([]any) {
		docs = append(docs, d.(map[string]any))
	}
	return docs
}

func mustPlan(t testing.TB, query string, vars map[string]any) *Plan {
	t.Helper()
	q, err := Parse(query)
	if err != nil {
		t.Fatal(err)
	}
	p, err := q.Bind(vars)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// execute runs a plan over docs the way a coordinator does: filter, stable
// sort, offset and count, projection.
func execute(p *Plan, docs []map[string]any) []any {
	var matched []map[string]any
	for _, d := range docs {
		if p.Match(d) {
			matched = append(matched, d)
		}
	}
	sort.SliceStable(matched, func(i, j int) bool { return p.Less(matched[i], matched[j]) })
	if p.Offset() < len(matched) {
		matched = matched[p.Offset():]
	} else {
		matched = nil
	}
	if p.Count() >= 0 && p.Count() < len(matched) {
		matched = matched[:p.Count()]
	}
	out := []any{}
	for _, d := range matched {
		out = append(out, p.Return(d))
	}
	return out
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %#v: %v", v, err)
	}
	return string(b)
}

// testDocs covers every type for x, nested attributes and arrays.
const testDocs = `[
 {"_key":"a","_id":"c/a","_rev":"_a","x":1,"name":"alice","tags":["red","blue"],"nested":{"a":{"b":1}},"arr":[10,20,30]},
 {"_key":"b","_id":"c/b","_rev":"_b","x":2,"name":"bob","tags":["blue"],"nested":{"a":{"b":2}},"arr":[11]},
 {"_key":"c","_id":"c/c","_rev":"_c","x":"2","name":"carol","tags":[],"nested":{"a":null}},
 {"_key":"d","_id":"c/d","_rev":"_d","x":null,"name":"dave","active":true},
 {"_key":"e","_id":"c/e","_rev":"_e","x":1.0,"name":"eve","active":false},
 {"_key":"f","_id":"c/f","_rev":"_f","x":[1],"name":"Frank"},
 {"_key":"g","_id":"c/g","_rev":"_g","x":{"a":1},"name":"gina"},
 {"_key":"h","_id":"c/h","_rev":"_h","x":true,"name":"hank"},
 {"_key":"i","_id":"c/i","_rev":"_i"}
]`
