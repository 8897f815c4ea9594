package aql

import (
	"encoding/json"
	"testing"
)

// TestQueries runs valid queries end to end over testDocs and compares the
// JSON of the result.
func TestQueries(t *testing.T) {
	docs := decodeDocs(t, testDocs)
	many := []any{}
	for i := 0; i < 1000; i++ {
		many = append(many, json.Number("1"+string(rune('0'+i%10))))
	}
	many = append(many, "c", "h")
	tests := []struct {
		name  string
		query string
		vars  map[string]any
		coll  string
		want  string
	}{
		// Both bind styles, as the drivers send them.
		{"go-driver", `FOR d IN c FILTER d.x == @v RETURN d._key`, map[string]any{"v": json.Number("1")}, "c", `["a","e"]`},
		{"arangojs", `FOR d IN @@value0 FILTER d.x == @value1 RETURN d._key`, map[string]any{"@value0": "coll", "value1": json.Number("2")}, "coll", `["b"]`},
		{"Go int", `FOR d IN c FILTER d.x == @v RETURN d._key`, map[string]any{"v": 1}, "c", `["a","e"]`},
		{"Go float", `FOR d IN c FILTER d.x == @v RETURN d._key`, map[string]any{"v": 1.0}, "c", `["a","e"]`},
		{"string is not a number", `FOR d IN c FILTER d.x == "2" RETURN d._key`, nil, "c", `["c"]`},
		{"missing is null", `FOR d IN c FILTER d.x == null RETURN d._key`, nil, "c", `["d","i"]`},
		{"no filter", `FOR d IN c RETURN d._key`, nil, "c", `["a","b","c","d","e","f","g","h","i"]`},

		// Attribute paths.
		{"nested", `FOR d IN c FILTER d.nested.a.b == 2 RETURN d._key`, nil, "c", `["b"]`},
		{"brackets", `FOR d IN c FILTER d["nested"]['a']["b"] == 1 RETURN d._key`, nil, "c", `["a"]`},
		{"index", `FOR d IN c FILTER d.arr[0] == 10 RETURN d._key`, nil, "c", `["a"]`},
		{"negative index", `FOR d IN c FILTER d.arr[-1] == 30 RETURN d._key`, nil, "c", `["a"]`},
		{"index from string", `FOR d IN c FILTER d.arr["1"] == 20 RETURN d._key`, nil, "c", `["a"]`},
		{"dot on array is null", "FOR d IN c FILTER d.tags.`0` == null && d.arr[0] != null RETURN d._key", nil, "c", `["a","b"]`},
		{"attribute of a scalar is null", `FOR d IN c FILTER d.x.y == null && d.name.first == null RETURN d._key`, nil, "c", `["a","b","c","d","e","f","g","h","i"]`},
		{"array element", `FOR d IN c FILTER d.tags[0] == "blue" RETURN d._key`, nil, "c", `["b"]`},
		{"bind attribute", `FOR d IN c FILTER d.@a == 1 RETURN d._key`, map[string]any{"a": "x"}, "c", `["a","e"]`},
		{"bind path", `FOR d IN c FILTER d.@p == 1 RETURN d._key`, map[string]any{"p": []any{"nested", "a", "b"}}, "c", `["a"]`},
		{"bind index", `FOR d IN c FILTER d[@k] == "bob" RETURN d._key`, map[string]any{"k": "name"}, "c", `["b"]`},
		{"backticks", "FOR `for` IN `filter` FILTER `for`.`name` == 'bob' RETURN `for`._key", nil, "filter", `["b"]`},
		{"forward ticks", "FOR d IN ´my-coll´ FILTER d.´name´ == 'bob' RETURN d._key", nil, "my-coll", `["b"]`},

		// IN and NOT IN.
		{"IN list", `FOR d IN c FILTER d.name IN ["alice", "bob"] RETURN d._key`, nil, "c", `["a","b"]`},
		{"IN attribute", `FOR d IN c FILTER "blue" IN d.tags RETURN d._key`, nil, "c", `["a","b"]`},
		{"IN mixed types", `FOR d IN c FILTER d.x IN [1, "2", [1]] RETURN d._key`, nil, "c", `["a","c","e","f"]`},
		{"IN bind", `FOR d IN c FILTER d._key IN @keys RETURN d._key`, map[string]any{"keys": many}, "c", `["c","h"]`},
		{"NOT IN", `FOR d IN c FILTER d.x NOT IN [1, 2] RETURN d._key`, nil, "c", `["c","d","f","g","h","i"]`},
		{"not  in spelled apart", "FOR d IN c FILTER d.x not\n  in [1, 2] RETURN d._key", nil, "c", `["c","d","f","g","h","i"]`},
		{"IN non-array is false", `FOR d IN c FILTER d.x IN 1 RETURN d._key`, nil, "c", ``},
		{"NOT IN non-array is true", `FOR d IN c FILTER d.x NOT IN d.name RETURN d._key`, nil, "c", `["a","b","c","d","e","f","g","h","i"]`},

		// Logic and precedence.
		{"AND before OR", `FOR d IN c FILTER d.x == 1 OR d.x == 2 AND d.name == "nobody" RETURN d._key`, nil, "c", `["a","e"]`},
		{"parentheses", `FOR d IN c FILTER (d.x == 1 OR d.x == 2) AND d.name == "bob" RETURN d._key`, nil, "c", `["b"]`},
		{"symbols", `FOR d IN c FILTER d.active == false || d.x == true && !false RETURN d._key`, nil, "c", `["e","h"]`},
		{"NOT of a value", `FOR d IN c FILTER NOT d.active RETURN d._key`, nil, "c", `["a","b","c","e","f","g","h","i"]`},
		{"NOT of a comparison", `FOR d IN c FILTER !(d.x == 1) RETURN d._key`, nil, "c", `["b","c","d","f","g","h","i"]`},
		// As in AQL, NOT binds tighter than ==: (NOT d.x) == 1 is a boolean
		// compared with a number, never true.
		{"NOT binds tight", `FOR d IN c FILTER NOT d.x == 1 RETURN d._key`, nil, "c", ``},
		{"IN before ==", `FOR d IN c FILTER d.x == 1 IN [1] RETURN d._key`, nil, "c", `["h"]`},
		{"< before IN", `FOR d IN c FILTER d.x < 2 IN [true] RETURN d._key`, nil, "c", `["a","d","e","h","i"]`},
		{"several FILTERs", `FOR d IN c FILTER d.x >= 1 FILTER d.x < 2 RETURN d._key`, nil, "c", `["a","e"]`},
		{"FILTER after SORT", `FOR d IN c SORT d._key DESC FILTER d.x >= 1 FILTER d.x < 2 RETURN d._key`, nil, "c", `["e","a"]`},
		{"range on strings", `FOR d IN c FILTER d.name > "c" && d.name <= "eve" RETURN d._key`, nil, "c", `["c","d","e"]`},
		{"FILTER true", `FOR d IN c FILTER true RETURN d._key`, nil, "c", `["a","b","c","d","e","f","g","h","i"]`},
		{"FILTER 0", `FOR d IN c FILTER 0 RETURN d._key`, nil, "c", ``},
		{"FILTER constant", `FOR d IN c FILTER @v == 1 && 2 > 1 RETURN d._key`, map[string]any{"v": 1}, "c", `["a","b","c","d","e","f","g","h","i"]`},
		{"constant left", `FOR d IN c FILTER 2 > d.x RETURN d._key`, nil, "c", `["a","d","e","h","i"]`},
		{"compare attributes", `FOR d IN c FILTER d.nested.a.b == d.x RETURN d._key`, nil, "c", `["a","b","d","i"]`},

		// SORT.
		{"sort by type and key", `FOR d IN c SORT d.x, d._key DESC RETURN d._key`, nil, "c", `["i","d","h","e","a","b","c","f","g"]`},
		{"sort desc is stable", `FOR d IN c SORT d.x DESC RETURN d._key`, nil, "c", `["g","f","c","b","a","e","h","d","i"]`},
		{"sort ASC keyword", `FOR d IN c SORT d.name ASC RETURN d._key`, nil, "c", `["i","f","a","b","c","d","e","g","h"]`},
		{"two SORTs: the last one first", `FOR d IN c SORT d._key DESC SORT d.x RETURN d._key`, nil, "c", `["i","d","h","e","a","b","c","f","g"]`},
		{"sort constant", `FOR d IN c SORT 1 RETURN d._key`, nil, "c", `["a","b","c","d","e","f","g","h","i"]`},

		// LIMIT.
		{"limit", `FOR d IN c SORT d._key LIMIT 2 RETURN d._key`, nil, "c", `["a","b"]`},
		{"limit offset", `FOR d IN c SORT d._key LIMIT 1, 2 RETURN d._key`, nil, "c", `["b","c"]`},
		{"limit bind", `FOR d IN c SORT d._key LIMIT @o, @n RETURN d._key`, map[string]any{"o": 2, "n": json.Number("1")}, "c", `["c"]`},
		{"limit 0", `FOR d IN c LIMIT 0 RETURN d._key`, nil, "c", ``},
		{"limit fraction", `FOR d IN c LIMIT 2.9 RETURN d._key`, nil, "c", `["a","b"]`},
		{"limit beyond", `FOR d IN c LIMIT 8, 100 RETURN d._key`, nil, "c", `["i"]`},
		{"filter sort limit", `FOR d IN c FILTER d.x != null SORT d.name DESC LIMIT 1, 3 RETURN d.name`, nil, "c", `["gina","eve","carol"]`},

		// RETURN.
		{"attribute", `FOR d IN c FILTER d._key == "a" RETURN d.name`, nil, "c", `["alice"]`},
		{"missing attribute", `FOR d IN c FILTER d._key == "a" RETURN d.nope`, nil, "c", `[null]`},
		{"object", `FOR d IN c FILTER d._key == "a" RETURN {a: d.x, "b": d.name, 'c d': d.nested.a}`, nil, "c", `[{"a":1,"b":"alice","c d":{"b":1}}]`},
		{"array", `FOR d IN c FILTER d._key == "b" RETURN [d.x, d.name, d.tags[0]]`, nil, "c", `[[2,"bob","blue"]]`},
		{"literals", `FOR d IN c LIMIT 1 RETURN [null, true, FALSE, 0, -1, 1.5, -2.5e3, 0x1f, 0b101, .5, 'it', "tab\tq\"", {x: {y: []}}, [1, 2,]]`, nil, "c", `[[null,true,false,0,-1,1.5,-2500,31,5,0.5,"it","tab\tq\"",{"x":{"y":[]}},[1,2]]]`},
		{"escapes", `FOR d IN c LIMIT 1 RETURN "a\"b\\c\n\/\u00e9\uD83D\uDE00\q"`, nil, "c", `["a\"b\\c\n/é😀q"]`},
		{"single quotes", `FOR d IN c LIMIT 1 RETURN 'it\'s "x"'`, nil, "c", `["it's \"x\""]`},
		{"bind value", `FOR d IN c LIMIT 1 RETURN {v: @v, k: d._key}`, map[string]any{"v": []any{json.Number("1.50"), "x"}}, "c", `[{"k":"a","v":[1.50,"x"]}]`},
		{"bind key", `FOR d IN c FILTER d._key == "b" RETURN {@k: d.x}`, map[string]any{"k": "value"}, "c", `[{"value":2}]`},
		{"shorthand", `FOR d IN c FILTER d._key == "i" RETURN {d}`, nil, "c", `[{"d":{"_id":"c/i","_key":"i","_rev":"_i"}}]`},
		{"comparison", `FOR d IN c SORT d._key LIMIT 3 RETURN d.x == 1`, nil, "c", `[true,false,false]`},
		{"AND and OR yield operands", `FOR d IN c FILTER d._key == "a" RETURN [d.x && d.name, d.nope || "default", d.nope && 1, NOT d.x]`, nil, "c", `[["alice","default",null,false]]`},
		{"index of expression", `FOR d IN c FILTER d._key == "a" RETURN [[d.name, d.x][1], {k: d.name}.k, [d.tags][0][1], d.arr[d.x]]`, nil, "c", `[[1,"alice","blue",20]]`},
		{"dynamic key", `FOR d IN c FILTER d[d.name] == null RETURN d._key`, nil, "c", `["a","b","c","d","e","f","g","h","i"]`},

		// Keywords are case-insensitive; comments.
		{"lower case", "for d in c /* a\ncomment */ filter d.x == 1 // and another\n sort d._key desc return d._key", nil, "c", `["e","a"]`},
		{"mixed case", "For d In c fIlTeR d.x == 1 AnD d._key == 'a' ReTuRn d._key", nil, "c", `["a"]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := Parse(tc.query)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			p, err := q.Bind(tc.vars)
			if err != nil {
				t.Fatalf("Bind: %v", err)
			}
			if p.Collection() != tc.coll {
				t.Errorf("Collection() = %q, want %q", p.Collection(), tc.coll)
			}
			want := tc.want
			if want == "" {
				want = "[]"
			}
			if got := mustJSON(t, execute(p, docs)); got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestReturnDocumentItself(t *testing.T) {
	docs := decodeDocs(t, testDocs)
	q, err := Parse(`FOR d IN c FILTER d._key == "b" RETURN d`)
	if err != nil {
		t.Fatal(err)
	}
	p, err := q.Bind(nil)
	if err != nil {
		t.Fatal(err)
	}
	res := execute(p, docs)
	if len(res) != 1 {
		t.Fatalf("got %d results", len(res))
	}
	if got, ok := res[0].(map[string]any); !ok || mustJSON(t, got) != mustJSON(t, docs[1]) {
		t.Fatalf("RETURN d gave %v", res[0])
	}
}

func TestLimitAccessors(t *testing.T) {
	for _, tc := range []struct {
		query         string
		offset, count int
		hasSort       bool
	}{
		{"FOR d IN c RETURN d", 0, -1, false},
		{"FOR d IN c LIMIT 5 RETURN d", 0, 5, false},
		{"FOR d IN c SORT d.x LIMIT 3, 5 RETURN d", 3, 5, true},
		{"FOR d IN c LIMIT 1e30 RETURN d", 0, maxLimit, false},
	} {
		q, err := Parse(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		p, err := q.Bind(nil)
		if err != nil {
			t.Fatal(err)
		}
		if p.Offset() != tc.offset || p.Count() != tc.count || p.HasSort() != tc.hasSort {
			t.Errorf("%s: Offset %d Count %d HasSort %v, want %d %d %v", tc.query, p.Offset(), p.Count(), p.HasSort(), tc.offset, tc.count, tc.hasSort)
		}
	}
}

// TestBindIsRepeatable binds one Query with different values.
func TestBindIsRepeatable(t *testing.T) {
	docs := decodeDocs(t, testDocs)
	q, err := Parse(`FOR d IN @@c FILTER d.x == @v RETURN d._key`)
	if err != nil {
		t.Fatal(err)
	}
	for v, want := range map[int]string{1: `["a","e"]`, 2: `["b"]`, 3: `[]`} {
		p, err := q.Bind(map[string]any{"@c": "c", "v": v})
		if err != nil {
			t.Fatal(err)
		}
		if got := mustJSON(t, execute(p, docs)); got != want {
			t.Errorf("v=%d: got %s, want %s", v, got, want)
		}
	}
}

// SortKey/CompareKeys order documents exactly as Less does.
func TestSortKeysAgreeWithLess(t *testing.T) {
	q, err := Parse("FOR d IN c SORT d.a DESC, d.b RETURN d")
	if err != nil {
		t.Fatal(err)
	}
	p, err := q.Bind(nil)
	if err != nil {
		t.Fatal(err)
	}
	docs := []map[string]any{{"a": 1.0, "b": "x"}, {"a": 2.0}, {"a": 1.0, "b": "a"}, {"b": 3.0}, {"a": "s"}, {"a": 1.0, "b": "x"}}
	for _, x := range docs {
		for _, y := range docs {
			c := p.CompareKeys(p.SortKey(x), p.SortKey(y))
			if (c < 0) != p.Less(x, y) || (c > 0) != p.Less(y, x) {
				t.Fatalf("%v vs %v: CompareKeys %d, Less %v/%v", x, y, c, p.Less(x, y), p.Less(y, x))
			}
		}
	}
}
