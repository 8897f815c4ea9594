package aql

import (
	"encoding/json"
	"testing"
)

// TestCompare: AQL's type and value order, including the examples of the
// ArangoDB documentation ("Type and value order").
func TestCompare(t *testing.T) {
	tests := []struct {
		a, b string // JSON
		want int
	}{
		// Type order: null < bool < number < string < array < object.
		{`null`, `false`, -1},
		{`null`, `0`, -1},
		{`null`, `""`, -1},
		{`null`, `[]`, -1},
		{`null`, `{}`, -1},
		{`false`, `true`, -1},
		{`true`, `0`, -1},
		{`true`, `-100`, -1},
		{`true`, `""`, -1},
		{`true`, `[]`, -1},
		{`0`, `""`, -1},
		{`1e300`, `""`, -1},
		{`0`, `"0"`, -1},
		{`""`, `" "`, -1},
		{`"abc"`, `[]`, -1},
		{`[]`, `{}`, -1},
		{`[{"a":1}]`, `{}`, -1},

		// Within a type.
		{`null`, `null`, 0},
		{`true`, `true`, 0},
		{`1`, `1.0`, 0},
		{`1`, `1e0`, 0},
		{`-0`, `0`, 0},
		{`2`, `10`, -1},
		{`-1`, `0`, -1},
		{`1.5`, `1.25`, 1},
		{`9007199254740993`, `9007199254740992`, 1}, // integers compare exactly
		{`-9223372036854775808`, `9223372036854775807`, -1},
		{`18446744073709551615`, `1`, 1},
		{`"10"`, `"9"`, -1},
		{`"B"`, `"a"`, -1}, // bytes, not ICU collation
		{`"abc"`, `"abc"`, 0},
		{`"abc"`, `"abcd"`, -1},

		// Arrays, element by element; a missing element is null.
		{`[]`, `[0]`, -1},
		{`[1]`, `[2]`, -1},
		{`[1, 2]`, `[2]`, -1},
		{`[99, 99]`, `[100]`, -1},
		{`[false]`, `[true]`, -1},
		{`[false, 1]`, `[false, ""]`, -1},
		{`[1]`, `[1, null]`, 0},
		{`[[1, 2]]`, `[[1, 3]]`, -1},

		// Objects, by their sorted attribute names; missing is null.
		{`{}`, `{"a": null}`, 0},
		{`{}`, `{"a": 1}`, -1},
		{`{"a": 1}`, `{"a": 2}`, -1},
		{`{"b": 1}`, `{"a": 0}`, -1},
		{`{"a": {"c": true}}`, `{"a": {"c": 0}}`, -1},
		{`{"a": {"c": true, "a": 0}}`, `{"a": {"c": false, "a": 1}}`, -1},
		{`{"a": 1, "b": 2}`, `{"b": 2, "a": 1}`, 0},
	}
	for _, tc := range tests {
		a, b := decode(t, tc.a), decode(t, tc.b)
		if got := Compare(a, b); got != tc.want {
			t.Errorf("Compare(%s, %s) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := Compare(b, a); got != -tc.want {
			t.Errorf("Compare(%s, %s) = %d, want %d", tc.b, tc.a, got, -tc.want)
		}
	}
}

// TestCompareGoTypes: numbers of any Go type compare by value; values of
// types JSON does not produce count as null.
func TestCompareGoTypes(t *testing.T) {
	one := []any{json.Number("1"), json.Number("1.0"), 1, int8(1), int16(1), int32(1), int64(1),
		uint(1), uint8(1), uint16(1), uint32(1), uint64(1), float32(1), float64(1)}
	for _, a := range one {
		for _, b := range one {
			if Compare(a, b) != 0 {
				t.Errorf("Compare(%T %v, %T %v) != 0", a, a, b, b)
			}
		}
		if Compare(a, json.Number("2")) != -1 || Compare(a, 0.5) != 1 {
			t.Errorf("%T 1 does not order among numbers", a)
		}
	}
	if Compare(uint64(1<<63), int64(1<<62)) != 1 {
		t.Error("a large uint64 is not larger")
	}
	if Compare(struct{}{}, nil) != 0 || Compare([]string{"x"}, false) != -1 {
		t.Error("values of other Go types do not count as null")
	}
	if Compare(json.Number("not a number"), 0) != 0 {
		t.Error("an invalid json.Number does not read as 0")
	}
}

func TestTruthy(t *testing.T) {
	for s, want := range map[string]bool{
		`null`: false, `false`: false, `true`: true, `0`: false, `0.0`: false, `-1`: true,
		`""`: false, `"0"`: true, `[]`: true, `{}`: true, `[0]`: true,
	} {
		if got := truthy(decode(t, s)); got != want {
			t.Errorf("truthy(%s) = %v", s, got)
		}
	}
}
