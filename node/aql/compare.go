package aql

import (
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
)

// kind is an AQL type, in AQL's type order.
type kind uint8

const (
	kNull kind = iota
	kBool
	kNumber
	kString
	kArray
	kObject
)

// number is a numeric value: an exact integer when the value is an integer
// that fits into int64, a double otherwise.
type number struct {
	i     int64
	f     float64
	isInt bool
}

func (n number) float() float64 {
	if n.isInt {
		return float64(n.i)
	}
	return n.f
}

func cmpNumbers(a, b number) int {
	if a.isInt && b.isInt {
		return cmpOrdered(a.i, b.i)
	}
	return cmpOrdered(a.float(), b.float())
}

func cmpOrdered[T int64 | float64 | string](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cval is a value classified for comparison: its kind and, by kind, its
// boolean, number, string, or the []any / map[string]any itself.
type cval struct {
	k kind
	b bool
	n number
	s string
	v any
}

// classify finds the AQL type of a value. Numbers may be json.Number (what
// decoding with UseNumber yields), any Go integer or float type; arrays
// must be []any and objects map[string]any. Values of any other Go type
// count as null.
func classify(v any) cval {
	switch x := v.(type) {
	case nil:
		return cval{}
	case bool:
		return cval{k: kBool, b: x}
	case string:
		return cval{k: kString, s: x}
	case json.Number:
		return cval{k: kNumber, n: parseNumber(string(x))}
	case float64:
		return cval{k: kNumber, n: number{f: x}}
	case int:
		return cval{k: kNumber, n: number{i: int64(x), isInt: true}}
	case int64:
		return cval{k: kNumber, n: number{i: x, isInt: true}}
	case []any:
		return cval{k: kArray, v: x}
	case map[string]any:
		return cval{k: kObject, v: x}
	case float32:
		return cval{k: kNumber, n: number{f: float64(x)}}
	case int8:
		return cval{k: kNumber, n: number{i: int64(x), isInt: true}}
	case int16:
		return cval{k: kNumber, n: number{i: int64(x), isInt: true}}
	case int32:
		return cval{k: kNumber, n: number{i: int64(x), isInt: true}}
	case uint8:
		return cval{k: kNumber, n: number{i: int64(x), isInt: true}}
	case uint16:
		return cval{k: kNumber, n: number{i: int64(x), isInt: true}}
	case uint32:
		return cval{k: kNumber, n: number{i: int64(x), isInt: true}}
	case uint:
		return uintValue(uint64(x))
	case uint64:
		return uintValue(x)
	}
	return cval{}
}

func uintValue(u uint64) cval {
	if u > math.MaxInt64 {
		return cval{k: kNumber, n: number{f: float64(u)}}
	}
	return cval{k: kNumber, n: number{i: int64(u), isInt: true}}
}

// parseNumber reads the text of a JSON number without allocating (except
// for a number out of the range of a double). Text that is no number reads
// as 0.
func parseNumber(s string) number {
	digits := s
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) > 0 && len(digits) <= 18 && allDigits(digits) {
		var n int64
		for i := 0; i < len(digits); i++ {
			n = n*10 + int64(digits[i]-'0')
		}
		if len(digits) < len(s) {
			n = -n
		}
		return number{i: n, isInt: true}
	}
	if len(digits) == 19 && allDigits(digits) {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return number{i: i, isInt: true}
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !math.IsInf(f, 0) {
		return number{isInt: true}
	}
	return number{f: f}
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// Compare orders two values as AQL does, returning -1, 0 or +1. Values of
// different types order by type: null < bool < number < string < array <
// object. Within a type: false < true; numbers by value (integers exactly,
// 1 == 1.0); strings by their bytes (ArangoDB uses ICU collation instead,
// which differs for upper and lower case and for accents); arrays element by
// element, a missing element counting as null; objects by the union of
// their attribute names in sorted order, comparing the values of each name
// in turn, a missing attribute counting as null. A missing attribute of a
// document is null too. The values are those of JSON decoding (see
// classify); a value of another Go type counts as null.
func Compare(a, b any) int {
	return compareValues(classify(a), classify(b))
}

func compareValues(x, y cval) int {
	if x.k != y.k {
		if x.k < y.k {
			return -1
		}
		return 1
	}
	switch x.k {
	case kBool:
		switch {
		case x.b == y.b:
			return 0
		case y.b:
			return -1
		}
		return 1
	case kNumber:
		return cmpNumbers(x.n, y.n)
	case kString:
		return strings.Compare(x.s, y.s)
	case kArray:
		return compareArrays(x.v.([]any), y.v.([]any))
	case kObject:
		return compareObjects(x.v.(map[string]any), y.v.(map[string]any))
	}
	return 0
}

func compareArrays(a, b []any) int {
	for i := 0; i < len(a) || i < len(b); i++ {
		var ea, eb any
		if i < len(a) {
			ea = a[i]
		}
		if i < len(b) {
			eb = b[i]
		}
		if c := Compare(ea, eb); c != 0 {
			return c
		}
	}
	return 0
}

func compareObjects(a, b map[string]any) int {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if c := Compare(a[k], b[k]); c != 0 {
			return c
		}
	}
	return 0
}

// truthy converts a value to a boolean as AQL does: null, false, 0 and ""
// are false; every array and every object is true.
func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case nil:
		return false
	}
	c := classify(v)
	switch c.k {
	case kBool:
		return c.b
	case kNumber:
		return c.n.float() != 0
	case kString:
		return c.s != ""
	case kArray, kObject:
		return true
	}
	return false
}
