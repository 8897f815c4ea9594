package arangohttp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestScanObject(t *testing.T) {
	for _, tc := range []struct {
		raw   string
		ok    bool
		names []string
		vals  []string
	}{
		{`{}`, true, nil, nil},
		{` { } `, true, nil, nil},
		{`{"a":1}`, true, []string{"a"}, []string{"1"}},
		{`{"_key":"k1","n":-1.5e3,"t":true,"f":false,"z":null}`, true, []string{"_key", "n", "t", "f", "z"},
			[]string{`"k1"`, "-1.5e3", "true", "false", "null"}},
		{"{\n \"a\" : [1, {\"b\": \"}]\\\"\"}] ,\"c\":{}\t}", true, []string{"a", "c"}, []string{`[1, {"b": "}]\""}]`, "{}"}},
		{`{"a":"x","a":"y"}`, true, []string{"a", "a"}, []string{`"x"`, `"y"`}},
		{`{"s":"\u00e9\n"}`, true, []string{"s"}, []string{`"\u00e9\n"`}},
		{`{"a\u0062":1}`, false, nil, nil}, // escaped name
		{`{"a":1e400}`, false, nil, nil},   // out of range
		{`{"a":[1,[-1E+999]]}`, false, nil, nil},
		{`{"a":1e300}`, true, []string{"a"}, []string{"1e300"}},
		{`[1]`, false, nil, nil},
		{`"s"`, false, nil, nil},
		{`{"a":1} {}`, false, nil, nil},
		{`{"a":}`, false, nil, nil},
		{`{"a":1`, false, nil, nil},
		{``, false, nil, nil},
		{"{\"\x97\":0}", false, nil, nil}, // not UTF-8
	} {
		var names, vals []string
		ok := ScanObject([]byte(tc.raw), func(n, v []byte) {
			names, vals = append(names, string(n)), append(vals, string(v))
		})
		if ok != tc.ok || (ok && (!reflect.DeepEqual(names, tc.names) || !reflect.DeepEqual(vals, tc.vals))) {
			t.Errorf("%s: ok %v names %q values %q; want %v %q %q", tc.raw, ok, names, vals, tc.ok, tc.names, tc.vals)
		}
	}
}

func TestObjectMemberAndPlainString(t *testing.T) {
	v, found, ok := ObjectMember([]byte(`{"_key":"a","x":1,"_key":"b"}`), "_key")
	if s, plain := PlainString(v); !ok || !found || !plain || s != "b" {
		t.Fatalf("got %q %v %v", v, found, ok)
	}
	if _, found, ok := ObjectMember([]byte(`{"x":1}`), "_key"); !ok || found {
		t.Fatal("found a missing member")
	}
	for _, tc := range []struct {
		v     string
		plain bool
	}{{`"abc"`, true}, {`""`, true}, {`"a\"b"`, false}, {`1`, false}, {`"`, false}} {
		if _, plain := PlainString([]byte(tc.v)); plain != tc.plain {
			t.Errorf("PlainString(%s) = %v", tc.v, plain)
		}
	}
}

// FuzzScanObject checks ScanObject against decoding: whatever it accepts
// decodes as an object with numbers in range, and its members are the
// object's.
func FuzzScanObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"a":[1,{"b":"c"}],"d":null}`, `{"a":1e400}`, `{"a":"\""}`, `[]`, `{"a":{"b":[true,false]}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got := map[string]json.RawMessage{}
		if !ScanObject(raw, func(n, v []byte) { got[string(n)] = bytes.Clone(v) }) {
			return
		}
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil || m == nil {
			t.Fatalf("accepted %q, which does not decode as an object: %v", raw, err)
		}
		if err := CheckNumbers(m); err != nil {
			t.Fatalf("accepted %q: %v", raw, err)
		}
		if len(got) != len(m) {
			t.Fatalf("%q: members %v, decoded %v", raw, got, m)
		}
		for k, v := range got {
			var want, have any
			_ = json.Unmarshal(mustMarshal(m[k]), &want)
			if err := json.Unmarshal(v, &have); err != nil || !reflect.DeepEqual(want, have) {
				t.Fatalf("%q: member %s = %s, decoded %v", raw, k, v, m[k])
			}
		}
	})
}

// roundTrip encodes and decodes v (numbers become float64).
func roundTrip(v any) any {
	var out any
	_ = json.Unmarshal(mustMarshal(v), &out)
	return out
}

func mustMarshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func TestPlain(t *testing.T) {
	for _, tc := range []struct {
		raw   string
		plain bool
	}{
		{`{}`, true},
		{`{"name":"benchmark document","n":12345,"tags":["a","b","c"],"nested":{"x":1.5,"y":"z"}}`, true},
		{`{"a":[],"b":{},"c":[{"d":null,"e":true,"f":false}],"s":"x \" \\ \u00e9 <>"}`, true},
		{`{"a":{"x":1},"b":{"x":2}}`, true}, // the same name in different objects
		{`{"a":1,"a":2}`, false},
		{`{"a":{"x":1,"x":2}}`, false},
		{`{"a":[{"x":1,"x":2}]}`, false},
		{`{"a": 1}`, false},
		{"{\"a\":1}\n", false},
		{` {"a":1}`, false},
		{`{"\u0061":1}`, false},
		{`{"a":1e999}`, false},
		{`[1]`, false},
		{`{"a":1`, false},
		{"{\"\xff\":1}", false},
	} {
		if got := Plain([]byte(tc.raw), nil); got != tc.plain {
			t.Errorf("Plain(%s) = %v, want %v", tc.raw, got, tc.plain)
		}
	}
	var many strings.Builder
	many.WriteString("{")
	for i := 0; i <= maxPlainMembers; i++ {
		if i > 0 {
			many.WriteString(",")
		}
		fmt.Fprintf(&many, `"m%d":%d`, i, i)
	}
	many.WriteString("}")
	if Plain([]byte(many.String()), nil) {
		t.Error("an object with more than maxPlainMembers members is plain")
	}
}

// FuzzPlain: a plain document decodes, is compact, has its numbers in
// range and no duplicate member names.
func FuzzPlain(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"a":[1,{"b":"c"}],"d":null}`, `{"a":1,"a":2}`, `{"a":{"b":1,"b":1}}`, `{"a":"\""}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got := map[string][]byte{}
		if !Plain(raw, func(n, v []byte) { got[string(n)] = v }) {
			return
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("plain %q does not decode: %v", raw, err)
		}
		if err := CheckNumbers(v); err != nil {
			t.Fatalf("plain %q: %v", raw, err)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, raw); err != nil || !bytes.Equal(compact.Bytes(), raw) {
			t.Fatalf("plain %q is not compact", raw)
		}
		if n, m := memberTokens(raw), members(v); n != m {
			t.Fatalf("plain %q has %d member names but %d distinct members", raw, n, m)
		}
		obj := v.(map[string]any)
		if len(got) != len(obj) {
			t.Fatalf("plain %q: members %q, decoded %v", raw, got, obj)
		}
		for k, val := range got {
			var have any
			if err := json.Unmarshal(val, &have); err != nil || !reflect.DeepEqual(have, roundTrip(obj[k])) {
				t.Fatalf("plain %q: member %s = %s, decoded %v", raw, k, val, obj[k])
			}
		}
	})
}

// memberTokens counts the member names in raw.
func memberTokens(raw []byte) int {
	type level struct{ object, wantName bool }
	dec := json.NewDecoder(bytes.NewReader(raw))
	var stack []level
	n := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return n
		}
		if k := len(stack) - 1; k >= 0 && stack[k].object && stack[k].wantName && tok != json.Delim('}') {
			n++
			stack[k].wantName = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, level{object: true, wantName: true})
			continue
		case json.Delim('['):
			stack = append(stack, level{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value ended: in an object, a name comes next.
		if k := len(stack) - 1; k >= 0 && stack[k].object {
			stack[k].wantName = true
		}
	}
}

// members counts the members of every object in a decoded value.
func members(v any) int {
	switch t := v.(type) {
	case map[string]any:
		n := len(t)
		for _, e := range t {
			n += members(e)
		}
		return n
	case []any:
		n := 0
		for _, e := range t {
			n += members(e)
		}
		return n
	}
	return 0
}
