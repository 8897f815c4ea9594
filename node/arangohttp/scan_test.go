package arangohttp

import (
	"bytes"
	"encoding/json"
	"reflect"
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

func mustMarshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
