package aql

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

// TestParseErrors: everything outside the subset fails with ArangoDB's
// parse error, naming the construct and its position.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		query string
		num   int
		want  []string // substrings of the message
	}{
		{"", 1502, []string{"AQL: query is empty (while parsing)"}},
		{"   ", 1501, []string{"unexpected end of query string"}},

		// Data modification, and the other operations of AQL.
		{"FOR d IN c INSERT d INTO x", 1501, []string{"AQL: syntax error, unexpected INSERT command near 'INSERT d INTO x' at position 1:12; arangomesos does not support INSERT (while parsing)"}},
		{"INSERT {a: 1} INTO c", 1501, []string{"unexpected INSERT command near 'INSERT {a: 1} INTO c' at position 1:1", "does not support INSERT"}},
		{"FOR d IN c UPDATE d WITH {x: 1} IN c", 1501, []string{"unexpected UPDATE command", "1:12", "does not support UPDATE"}},
		{"FOR d IN c REPLACE d WITH {} IN c", 1501, []string{"REPLACE command", "does not support REPLACE"}},
		{"FOR d IN c REMOVE d IN c", 1501, []string{"unexpected REMOVE command near 'REMOVE d IN c' at position 1:12", "does not support REMOVE"}},
		{"UPSERT {a: 1} INSERT {} UPDATE {} IN c", 1501, []string{"UPSERT command", "does not support UPSERT"}},
		{"FOR d IN c COLLECT x = d.x RETURN x", 1501, []string{"unexpected COLLECT declaration", "1:12", "does not support COLLECT"}},
		{"FOR d IN c WINDOW {preceding: 1} AGGREGATE s = SUM(d.x) RETURN s", 1501, []string{"WINDOW declaration", "does not support WINDOW"}},
		{"LET x = 1 FOR d IN c RETURN d", 1501, []string{"unexpected LET declaration", "1:1", "does not support LET"}},
		{"FOR d IN c LET y = d.x RETURN y", 1501, []string{"unexpected LET declaration near 'LET y = d.x RETURN y' at position 1:12", "does not support LET"}},
		{"WITH c FOR d IN c RETURN d", 1501, []string{"WITH keyword", "does not support WITH"}},
		{"RETURN 1", 1501, []string{"unexpected RETURN declaration", "does not support queries without FOR"}},
		{"FOR d IN c FOR e IN c RETURN e", 1501, []string{"unexpected FOR declaration near 'FOR e IN c RETURN e' at position 1:12", "nested FOR loops"}},
		{"FOR d IN c RETURN DISTINCT d.x", 1501, []string{"DISTINCT modifier", "RETURN DISTINCT"}},
		{"FOR d IN c SEARCH d.x == 1 RETURN d", 1501, []string{"unexpected identifier near 'SEARCH", "FOR … SEARCH"}},
		{"FOR d IN c OPTIONS {indexHint: 'x'} RETURN d", 1501, []string{"FOR … OPTIONS"}},
		{"FOR v, e IN 1..2 OUTBOUND 'c/a' edges RETURN v", 1501, []string{"unexpected ,", "more than one variable"}},
		{"FOR i IN 1..10 RETURN i", 1501, []string{"unexpected integer number near '1..10 RETURN i' at position 1:10", "FOR over anything but a collection"}},
		{"FOR d IN [1, 2] RETURN d", 1501, []string{"FOR over anything but a collection"}},
		{"FOR d IN @v RETURN d", 1501, []string{"unexpected bind parameter", "FOR over a value bind parameter", "@@name"}},

		// Expressions.
		{"FOR d IN c FILTER d.x IN (FOR e IN c RETURN e.x) RETURN d", 1501, []string{"unexpected FOR declaration near 'FOR e IN c RETURN e.x) RETURN d' at position 1:27", "does not support subqueries"}},
		{"FOR d IN c FILTER LENGTH(d.tags) > 0 RETURN d", 1501, []string{"unexpected identifier near 'LENGTH(d.tags) > 0 RETURN d' at position 1:19", "does not support function calls"}},
		{"FOR d IN c RETURN CONCAT(d.a, 'x')", 1501, []string{"1:19", "function calls"}},
		{"FOR d IN c RETURN MY::FUNC(d)", 1501, []string{"user-defined functions"}},
		{"FOR d IN c FILTER d.x + 1 == 2 RETURN d", 1501, []string{"unexpected + operator near '+ 1 == 2 RETURN d' at position 1:23", "arithmetic operators"}},
		{"FOR d IN c FILTER -d.x == 2 RETURN d", 1501, []string{"unexpected - operator", "1:19", "arithmetic operators"}},
		{"FOR d IN c RETURN d.x * 2", 1501, []string{"* operator", "arithmetic operators"}},
		{"FOR d IN c RETURN d.x ? 1 : 2", 1501, []string{"unexpected ?", "ternary operator"}},
		{"FOR d IN c FILTER d.name LIKE 'a%' RETURN d", 1501, []string{"like operator", "does not support LIKE"}},
		{"FOR d IN c FILTER d.name =~ '^a' RETURN d", 1501, []string{"~= operator", "regular expressions"}},
		{"FOR d IN c FILTER d.tags ALL == 'x' RETURN d", 1501, []string{"all modifier", "array comparison operators"}},
		{"FOR d IN c RETURN d.tags[*].x", 1501, []string{"unexpected * operator", "array expansion"}},
		{"FOR d IN c RETURN d.tags[? FILTER CURRENT == 1]", 1501, []string{"question mark operator"}},
		{"FOR d IN c FILTER x.a == 1 RETURN d", 1501, []string{"unexpected identifier near 'x.a == 1 RETURN d' at position 1:19", "unknown variable 'x'", "FOR variable 'd'"}},
		{"FOR d IN c RETURN {x}", 1501, []string{"unknown variable 'x'"}},
		{"FOR d IN c FILTER d.x = 1 RETURN d", 1501, []string{"unexpected assignment near '= 1 RETURN d' at position 1:23", "use == to compare"}},
		{"FOR d IN c FILTER d.x == @@c RETURN d", 1501, []string{"bind data source parameter", "collection bind parameters anywhere but in FOR"}},
		{"FOR d IN c RETURN d.filter", 1501, []string{"unexpected FILTER declaration near 'filter' at position 1:21", "backticks"}},
		{"FOR d IN c RETURN {[d.k]: 1}", 1501, []string{"computed attribute names"}},
		{"FOR d IN c RETURN {1: 2}", 1501, []string{"unexpected integer number"}},
		{"FOR d IN c RETURN d[]", 1501, []string{"unexpected ]"}},
		{"FOR d IN c RETURN (d.x", 1501, []string{"unexpected end of query string near 'x' at position 1:22"}},
		{"FOR d IN c RETURN [1 2]", 1501, []string{"unexpected integer number near '2]'"}},
		{"FOR d IN c RETURN {a 1}", 1501, []string{"unexpected integer number near '1}'"}},
		{"FOR d IN c RETURN 1e999", 1501, []string{"unexpected invalid token near '1e999'", "number out of range"}},
		{"FOR d IN c RETURN 0x1ffffffffffffffff", 1501, []string{"number out of range"}},
		{"FOR d IN c RETURN " + strings.Repeat("[", maxDepth+1), 1501, []string{"nest more than 1000 deep"}},
		{"FOR d IN c RETURN " + strings.Repeat("NOT ", maxDepth+1) + "1", 1501, []string{"nest more than 1000 deep"}},

		// Clauses out of place.
		{"FOR d IN c FILTER d.x == 1", 1501, []string{"unexpected end of query string near '1' at position 1:26"}},
		{"FOR d IN c LIMIT 1 FILTER d.x == 1 RETURN d", 1501, []string{"unexpected FILTER declaration", "FILTER after LIMIT"}},
		{"FOR d IN c LIMIT 1 SORT d.x RETURN d", 1501, []string{"SORT after LIMIT"}},
		{"FOR d IN c LIMIT 1 LIMIT 2 RETURN d", 1501, []string{"more than one LIMIT"}},
		{"FOR d IN c LIMIT d.x RETURN d", 1501, []string{"LIMIT values other than numbers and bind parameters"}},
		{"FOR d IN c LIMIT -d RETURN d", 1501, []string{"- operator"}},
		{"FOR d c RETURN d", 1501, []string{"unexpected identifier near 'c RETURN d' at position 1:7"}},
		{"FOR IN c RETURN d", 1501, []string{"unexpected IN keyword"}},

		// Trailing garbage.
		{"FOR d IN c RETURN d d", 1501, []string{"unexpected identifier near 'd' at position 1:21"}},
		{"FOR d IN c RETURN d;", 1501, []string{"unexpected invalid token near ';' at position 1:20"}},
		{"FOR d IN c RETURN d FILTER d.x == 1", 1501, []string{"unexpected FILTER declaration near 'FILTER d.x == 1' at position 1:21"}},
		{"FOR d IN c RETURN d RETURN d", 1501, []string{"unexpected RETURN declaration", "1:21"}},

		// The lexer.
		{`FOR d IN c FILTER d.x == "abc RETURN d`, 1501, []string{`unexpected unterminated quoted string near '"abc RETURN d' at position 1:26`}},
		{`FOR d IN c FILTER d.x == 'abc\' RETURN d`, 1501, []string{"unterminated quoted string", "1:26"}},
		{"FOR d IN `c RETURN d", 1501, []string{"unterminated quoted name near '`c RETURN d' at position 1:10"}},
		{"FOR d IN c RETURN d /* no end", 1501, []string{"unterminated comment near '/* no end' at position 1:21"}},
		{"FOR d IN c RETURN d.x # comment", 1501, []string{"unexpected invalid token near '# comment'"}},
		{"FOR d IN c RETURN d.\xffx", 1501, []string{"invalid UTF-8 sequence", "1:21"}},
		{"FOR d IN c\nRETURN 'x\xb4'", 1501, []string{"unexpected invalid UTF-8 sequence near '\xb4'' at position 2:10"}},
		{"FOR d IN c RETURN @", 1501, []string{"invalid token near '@'"}},
		{"FOR d IN c RETURN _", 1501, []string{"invalid token near '_'"}},
		{"FOR d IN c\n  FILTER d.x ==\n  RETURN d", 1501, []string{"unexpected RETURN declaration near 'RETURN d' at position 3:3"}},
		{"FOR d IN c /* one\ntwo */ FILTER d.x = 1 RETURN d", 1501, []string{"at position 2:19"}},
		{"FOR d IN c FILTER d.x == 'one\ntwo' OR d.x NOT\nIN [1] RETURN d d", 1501, []string{"unexpected identifier near 'd' at position 3:17"}},
		{"FOR d IN c FILTER d.name = 'a very long string that goes on and on' RETURN d", 1501, []string{"near '= 'a very long string that goes ...' at position 1:26"}},
		{"FOR d IN c FILTER d.x == 'ééééééééééééééééé' + 1 RETURN d", 1501, []string{"near '+ 1 RETURN d'"}},
		{"FOR d IN c FILTER + 'ééééééééééééééééé' RETURN d", 1501, []string{"near '+ 'éééééééééééééé...'"}}, // cut at a character boundary
	}
	for _, tc := range tests {
		_, err := Parse(tc.query)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%q: got %v, want an *Error", tc.query, err)
			continue
		}
		if e.Num != tc.num || e.HTTPCode() != 400 {
			t.Errorf("%q: errorNum %d (HTTP %d), want %d: %s", tc.query, e.Num, e.HTTPCode(), tc.num, e.Message)
		}
		for _, w := range tc.want {
			if !strings.Contains(e.Message, w) {
				t.Errorf("%q:\n  message %q\n  lacks   %q", tc.query, e.Message, w)
			}
		}
		if e.Error() != e.Message {
			t.Errorf("Error() = %q, want the message", e.Error())
		}
	}
}

type notJSON struct{}

// TestBindErrors: missing, undeclared and mistyped bind parameters.
func TestBindErrors(t *testing.T) {
	deep := any("x")
	for i := 0; i < maxValueDepth+1; i++ {
		deep = []any{deep}
	}
	tests := []struct {
		query string
		vars  map[string]any
		num   int
		want  string
	}{
		{"FOR d IN c FILTER d.x == @v RETURN d", nil, 1551, "AQL: no value specified for declared bind parameter 'v' (while parsing)"},
		{"FOR d IN @@c RETURN d", map[string]any{"c": "x"}, 1551, "no value specified for declared bind parameter '@c'"},
		{"FOR d IN c FILTER d.x == @b && d.y == @a RETURN d", map[string]any{"a": 1}, 1551, "parameter 'b'"},
		{"FOR d IN c RETURN d", map[string]any{"v": 1}, 1552, "AQL: bind parameter 'v' was not declared in the query (while parsing)"},
		{"FOR d IN c FILTER d.x == @v RETURN d", map[string]any{"v": 1, "w": 2, "u": 3}, 1552, "bind parameter 'u' was not declared"},
		{"FOR d IN c FILTER d.x == @c RETURN d", map[string]any{"c": 1, "@c": "x"}, 1552, "bind parameter '@c' was not declared"},
		{"FOR d IN c FILTER d.x == @v RETURN d", map[string]any{"w": 2}, 1551, "parameter 'v'"},
		{"FOR d IN @@c RETURN d", map[string]any{"@c": 1}, 1553, "AQL: bind parameter '@c' has an invalid value or type (while parsing)"},
		{"FOR d IN @@c RETURN d", map[string]any{"@c": ""}, 1553, "bind parameter '@c' has an invalid value"},
		{"FOR d IN @@c RETURN d", map[string]any{"@c": nil}, 1553, "'@c'"},
		{"FOR d IN c RETURN d.@a", map[string]any{"a": 1}, 1553, "bind parameter 'a' has an invalid value"},
		{"FOR d IN c RETURN d.@a", map[string]any{"a": []any{"x", 1}}, 1553, "'a'"},
		{"FOR d IN c RETURN d.@a", map[string]any{"a": []any{}}, 1553, "'a'"},
		{"FOR d IN c RETURN {@k: 1}", map[string]any{"k": true}, 1553, "'k'"},
		{"FOR d IN c RETURN @v", map[string]any{"v": math.NaN()}, 1553, "'v'"},
		{"FOR d IN c RETURN @v", map[string]any{"v": math.Inf(1)}, 1553, "'v'"},
		{"FOR d IN c RETURN @v", map[string]any{"v": json.Number("1) OR (true")}, 1553, "'v'"},
		{"FOR d IN c RETURN @v", map[string]any{"v": json.Number("1e999")}, 1553, "'v'"},
		{"FOR d IN c RETURN @v", map[string]any{"v": notJSON{}}, 1553, "'v'"},
		{"FOR d IN c RETURN @v", map[string]any{"v": map[string]any{"a": []string{"x"}}}, 1553, "'v'"},
		{"FOR d IN c RETURN @v", map[string]any{"v": deep}, 1553, "'v'"},
		{"FOR d IN c LIMIT -1 RETURN d", nil, 1504, "AQL: LIMIT value is not a number or out of range (while parsing)"},
		{"FOR d IN c LIMIT -1, 2 RETURN d", nil, 1504, "LIMIT value"},
		{"FOR d IN c LIMIT @n RETURN d", map[string]any{"n": "5"}, 1504, "LIMIT value"},
		{"FOR d IN c LIMIT @o, @n RETURN d", map[string]any{"o": -0.5, "n": 1}, 1504, "LIMIT value"},
		{"FOR d IN c LIMIT @n RETURN d", map[string]any{"n": nil}, 1504, "LIMIT value"},
	}
	for _, tc := range tests {
		q, err := Parse(tc.query)
		if err != nil {
			t.Fatalf("%q: %v", tc.query, err)
		}
		_, err = q.Bind(tc.vars)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%q %v: got %v, want an *Error", tc.query, tc.vars, err)
			continue
		}
		if e.Num != tc.num || !strings.Contains(e.Message, tc.want) {
			t.Errorf("%q %v:\n  got  %d %q\n  want %d %q", tc.query, tc.vars, e.Num, e.Message, tc.num, tc.want)
		}
	}
}
