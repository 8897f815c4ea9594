package aql

import (
	"encoding/json"
	"errors"
	"testing"
)

// fuzzDocs are documents of every shape for the fuzz targets to run plans on.
var fuzzDocs = func() []map[string]any {
	var docs []map[string]any
	if err := json.Unmarshal([]byte(testDocs), &docs); err != nil {
		panic(err)
	}
	return append(docs, map[string]any{}, nil, map[string]any{"x": map[string]any{"y": []any{nil, 1.5, "z"}}})
}()

// fuzzValue is the value the fuzzer binds to a parameter: the name decides
// its type, so that every kind of value gets exercised.
func fuzzValue(name string) any {
	switch name[len(name)-1] % 6 {
	case 0:
		return json.Number("1")
	case 1:
		return "x"
	case 2:
		return []any{"x", "y"}
	case 3:
		return map[string]any{"a": []any{1.5, nil}}
	case 4:
		return nil
	default:
		return true
	}
}

// checkError fails unless err is an *Error with one of the numbers.
func checkError(t *testing.T, what string, err error, nums ...int) {
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: %T %v is not an *Error", what, err, err)
	}
	for _, n := range nums {
		if e.Num == n {
			return
		}
	}
	t.Fatalf("%s: errorNum %d (%s), want one of %v", what, e.Num, e.Message, nums)
}

// FuzzParse parses anything; what parses is bound, run on documents, and
// must survive the trip to a shard and back deciding exactly as before.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"FOR d IN c FILTER d.x == @v RETURN d",
		"FOR d IN @@value0 FILTER d.x == @value1 RETURN d",
		"for d in c filter d.a.b[0] IN [1,2,'x'] && !(d.y < 3) || d.z NOT IN @l sort d.x desc, d.y limit 2, 3 return {a: d.x, \"b\": d.y, d}",
		"FOR d IN c FILTER d.@p == 1 AND d[@k] != null SORT d.x LIMIT @o, @n RETURN [d.x, {@k: 1}]",
		"FOR `for` IN ´c´ FILTER `for`.`a b` >= -1.5e3 RETURN `for`",
		"FOR d IN c /* c */ FILTER NOT d.x // x\n RETURN d.x == 0x1f",
		"FOR d IN c FILTER d.x IN (FOR e IN c RETURN e) RETURN d",
		"FOR d IN c RETURN \"\\uD83D\\uDE00\\n\"",
		"FOR d IN c FILTER d[d.k][-1] RETURN d",
		"FOR d IN c LIMIT 1 RETURN [[[{a: [1, {}]}]]]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		q, err := Parse(query)
		if err != nil {
			checkError(t, "Parse", err, ErrNumQueryParse, ErrNumQueryEmpty)
			return
		}
		vars := map[string]any{}
		for _, prm := range q.params {
			if prm.coll {
				vars[prm.key] = "c"
			} else {
				vars[prm.key] = fuzzValue(prm.key)
			}
		}
		p, err := q.Bind(vars)
		if err != nil {
			checkError(t, "Bind", err, ErrNumBindParameterInvalidValue, ErrNumQueryNumberOutOfRange)
			return
		}
		for _, d := range fuzzDocs {
			p.Match(d)
			p.Return(d)
		}
		roundTrip(t, query, p, fuzzDocs)
	})
}

// FuzzParseShardQuery decodes anything a DBServer might receive; what
// decodes must run, and print and parse again to the same decisions.
func FuzzParseShardQuery(f *testing.F) {
	for _, s := range []string{
		`{"query":"FOR d IN ` + "`c`" + ` FILTER d.` + "`x`" + ` == 1 SORT d.` + "`y`" + ` DESC LIMIT 15 RETURN d"}`,
		`{"query":"FOR d IN c FILTER d[\"x\"] IN [1, \"a\"] AND NOT (d.y \u003c 2) RETURN d"}`,
		`{"query":"FOR d IN c FILTER d.x == @v RETURN d"}`,
		`{"query":""}`,
		`{}`,
		`[]`,
		`{"query":"FOR d IN c RETURN d"} x`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sp, err := ParseShardQuery(b)
		if err != nil {
			checkError(t, "ParseShardQuery", err, ErrNumCorruptedJSON, ErrNumQueryParse, ErrNumQueryEmpty,
				ErrNumQueryNumberOutOfRange, ErrNumBindParameterMissing)
			return
		}
		for i, d := range fuzzDocs {
			sp.Match(d)
			sp.Less(d, fuzzDocs[(i+1)%len(fuzzDocs)])
		}
		roundTrip(t, string(b), sp.p, fuzzDocs)
	})
}
