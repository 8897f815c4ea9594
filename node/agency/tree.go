package agency

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// The Agency's tree is plain decoded JSON: map[string]any for objects (the
// inner nodes), and []any, string, json.Number, bool or nil for leaves.
// Numbers are always json.Number, because every value reaches the store
// through JSON decoding with UseNumber (the Raft log carries JSON).

// normalize turns a value built in Go (ints, floats, nested Go maps) into the
// store's representation by a JSON round trip. Values decoded from requests
// are already normal; this is for values the Agency builds itself.
func normalize(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	if err := decodeNumber(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// jsonEqual compares two JSON values: objects and arrays element by element,
// numbers by numeric value (1 == 1.0), everything else by value.
func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		if x == y {
			return true
		}
		fx, e1 := x.Float64()
		fy, e2 := y.Float64()
		return e1 == nil && e2 == nil && fx == fy
	default:
		return a == b
	}
}

// arrayContains reports whether arr has an element equal to v.
func arrayContains(arr []any, v any) bool {
	for _, e := range arr {
		if jsonEqual(e, v) {
			return true
		}
	}
	return false
}

// addNumbers adds step to cur (a missing or non-numeric cur counts as 0),
// keeping integers exact when both are integers.
func addNumbers(cur any, step json.Number, sign int64) json.Number {
	if step == "" {
		step = "1"
	}
	c, _ := cur.(json.Number)
	if c == "" {
		c = "0"
	}
	ci, e1 := strconv.ParseInt(string(c), 10, 64)
	si, e2 := strconv.ParseInt(string(step), 10, 64)
	if e1 == nil && e2 == nil {
		return json.Number(strconv.FormatInt(ci+sign*si, 10))
	}
	cf, _ := c.Float64()
	sf, _ := step.Float64()
	r := cf + float64(sign)*sf
	if math.IsInf(r, 0) || math.IsNaN(r) {
		r = 0
	}
	return json.Number(strconv.FormatFloat(r, 'g', -1, 64))
}

// isUnder reports whether key equals base or lies in its subtree.
func isUnder(key, base string) bool {
	if base == "/" {
		return true
	}
	return key == base || strings.HasPrefix(key, base+"/")
}

// mergeInto merges src into dst recursively (objects merge, anything else
// replaces). Used to combine the results of several keys in one read.
func mergeInto(dst map[string]any, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeInto(dm, sm)
				continue
			}
			if _, exists := dst[k]; exists && len(sm) == 0 {
				continue // an empty placeholder never hides a real value
			}
		}
		dst[k] = v
	}
}
