package aql

import (
	"math"
	"strconv"
)

// Evaluation of bound expression trees. On the common paths (attribute
// paths, comparisons and IN with constants, AND, OR, NOT) nothing here
// allocates: values are read from the document as they are, and booleans
// in an interface do not allocate.

func (e *constExpr) eval(map[string]any) any        { return e.v }
func (e *constExpr) test(map[string]any) bool       { return truthy(e.v) }
func (e *paramExpr) eval(map[string]any) any        { return nil } // replaced by Bind
func (e *paramExpr) test(map[string]any) bool       { return false }
func (e *varExpr) eval(doc map[string]any) any      { return doc }
func (e *varExpr) test(doc map[string]any) bool     { return true }
func (e *notExpr) eval(doc map[string]any) any      { return !e.x.test(doc) }
func (e *notExpr) test(doc map[string]any) bool     { return !e.x.test(doc) }
func (e *cmpExpr) eval(doc map[string]any) any      { return e.test(doc) }
func (e *cmpConstExpr) eval(doc map[string]any) any { return e.test(doc) }
func (e *inExpr) eval(doc map[string]any) any       { return e.test(doc) }
func (e *inSetExpr) eval(doc map[string]any) any    { return e.test(doc) }
func (e *accessExpr) test(doc map[string]any) bool  { return truthy(e.eval(doc)) }
func (e *pathExpr) test(doc map[string]any) bool    { return truthy(e.eval(doc)) }
func (e *arrayExpr) test(map[string]any) bool       { return true }
func (e *objectExpr) test(map[string]any) bool      { return true }

func (e *accessExpr) eval(doc map[string]any) any {
	return index(e.obj.eval(doc), e.key.eval(doc))
}

func (e *pathExpr) eval(doc map[string]any) any {
	var v any = doc
	if e.base != nil {
		v = e.base.eval(doc)
	}
	for i := range e.steps {
		v = e.steps[i].apply(v)
	}
	return v
}

// apply is the value of this access on v, null where it does not apply.
func (s *step) apply(v any) any {
	switch o := v.(type) {
	case map[string]any:
		if s.hasKey {
			return o[s.key]
		}
	case []any:
		if s.hasIdx {
			return at(o, s.idx)
		}
	}
	return nil
}

// index is v[key] with a key computed at run time: an attribute of an
// object (a number key is read as its decimal text), an element of an
// array (a string key is read as an integer), null otherwise.
func index(v, key any) any {
	s := keyStep(key, false)
	return s.apply(v)
}

// keyStep is the access with the constant key: a name for a dot access, a
// string or number for a bracket access.
func keyStep(key any, dot bool) step {
	s := step{dot: dot, lit: key}
	c := classify(key)
	switch c.k {
	case kString:
		s.key, s.hasKey = c.s, true
		if !dot {
			s.idx, s.hasIdx = parseIndex(c.s)
		}
	case kNumber:
		if !dot {
			s.idx, s.hasIdx = truncate(c.n), true
			s.key, s.hasKey = strconv.FormatInt(s.idx, 10), true
		}
	}
	return s
}

// at is element i of a, counting from the end for negative i; null when
// out of range.
func at(a []any, i int64) any {
	if i < 0 {
		i += int64(len(a))
	}
	if i < 0 || i >= int64(len(a)) {
		return nil
	}
	return a[i]
}

// parseIndex reads an array index given as a string: an optional minus
// and decimal digits.
func parseIndex(s string) (int64, bool) {
	d := s
	if len(d) > 0 && d[0] == '-' {
		d = d[1:]
	}
	if len(d) == 0 || len(d) > 18 || !allDigits(d) {
		return 0, false
	}
	n := parseNumber(s)
	return n.i, true
}

// truncate is a number as an integer, rounded toward zero; NaN is 0 and
// out-of-range values are clamped.
func truncate(n number) int64 {
	if n.isInt {
		return n.i
	}
	switch f := math.Trunc(n.f); {
	case f != f:
		return 0
	case f >= math.MaxInt64:
		return math.MaxInt64
	case f <= math.MinInt64:
		return math.MinInt64
	default:
		return int64(f)
	}
}

func (e *arrayExpr) eval(doc map[string]any) any {
	out := make([]any, len(e.elems))
	for i, el := range e.elems {
		out[i] = el.eval(doc)
	}
	return out
}

func (e *objectExpr) eval(doc map[string]any) any {
	out := make(map[string]any, len(e.keys))
	for i, k := range e.keys {
		name, _ := k.eval(doc).(string)
		out[name] = e.vals[i].eval(doc)
	}
	return out
}

func (e *logicExpr) eval(doc map[string]any) any {
	l := e.l.eval(doc)
	if truthy(l) != e.and {
		return l
	}
	return e.r.eval(doc)
}

func (e *logicExpr) test(doc map[string]any) bool {
	if e.and {
		return e.l.test(doc) && e.r.test(doc)
	}
	return e.l.test(doc) || e.r.test(doc)
}

func (e *cmpExpr) test(doc map[string]any) bool {
	return e.op.holds(Compare(e.l.eval(doc), e.r.eval(doc)))
}

func (e *cmpConstExpr) test(doc map[string]any) bool {
	return e.op.holds(compareValues(classify(e.x.eval(doc)), e.c.c))
}

func (e *inExpr) test(doc map[string]any) bool {
	arr, ok := e.r.eval(doc).([]any)
	if !ok {
		return e.not
	}
	x := classify(e.l.eval(doc))
	for _, el := range arr {
		if compareValues(x, classify(el)) == 0 {
			return !e.not
		}
	}
	return e.not
}

func (e *inSetExpr) test(doc map[string]any) bool {
	v := e.x.eval(doc)
	if s, ok := v.(string); ok {
		_, found := e.strs[s]
		return found != e.not
	}
	x := classify(v)
	for _, o := range e.others {
		if compareValues(x, o) == 0 {
			return !e.not
		}
	}
	return e.not
}
