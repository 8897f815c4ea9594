package aql

import (
	"encoding/json"
	"math"
	"sort"
	"strconv"
)

// Bind gives the bind parameters of q their values and returns the plan to
// run. vars is the bindVars object of the cursor request: "name" for @name,
// "@name" for @@name. Errors are *Error:
//   - 1551 "no value specified for declared bind parameter 'x'" when the
//     query uses a parameter vars does not have (the first in query order);
//   - 1553 "bind parameter 'x' has an invalid value or type" when @@x is
//     not a non-empty string, d.@x or {@x: …} is not a string (d.@x may
//     also be an array of strings), or a value is not JSON (numbers must be
//     finite, values nest at most 500 deep);
//   - 1552 "bind parameter 'x' was not declared in the query" when vars has
//     a parameter the query does not use (the first in sorted order);
//   - 1504 "LIMIT value is not a number or out of range" when a LIMIT value
//     is not a non-negative number.
func (q *Query) Bind(vars map[string]any) (*Plan, error) {
	b := binder{vals: make(map[string]any, len(q.params))}
	for _, prm := range q.params {
		v, ok := vars[prm.key]
		if !ok {
			return nil, queryError(ErrNumBindParameterMissing, "no value specified for declared bind parameter '%s'", prm.key)
		}
		if prm.coll {
			if s, ok := v.(string); !ok || s == "" {
				return nil, invalidParam(prm.key)
			}
			continue
		}
		nv, ok := normalize(v, 0)
		if !ok {
			return nil, invalidParam(prm.key)
		}
		b.vals[prm.key] = nv
	}
	if err := q.checkUndeclared(vars); err != nil {
		return nil, err
	}

	p := &Plan{collection: q.collection, count: -1}
	if q.collParam != "" {
		p.collection = vars[q.collParam].(string)
	}
	for _, f := range q.filters {
		e, err := b.bind(f)
		if err != nil {
			return nil, err
		}
		if c, ok := e.(*constExpr); ok && truthy(c.v) {
			continue // FILTER true
		}
		p.filters = append(p.filters, e)
	}
	for _, k := range q.sorts {
		e, err := b.bind(k.e)
		if err != nil {
			return nil, err
		}
		if _, ok := e.(*constExpr); !ok { // a constant does not order anything
			p.sorts = append(p.sorts, sortKey{e: e, desc: k.desc})
		}
	}
	if q.count != nil {
		var err error
		if q.offset != nil {
			if p.offset, err = b.limitValue(q.offset); err != nil {
				return nil, err
			}
		}
		if p.count, err = b.limitValue(q.count); err != nil {
			return nil, err
		}
	}
	ret, err := b.bind(q.ret)
	if err != nil {
		return nil, err
	}
	p.ret = ret
	return p, nil
}

func invalidParam(key string) *Error {
	return queryError(ErrNumBindParameterInvalidValue, "bind parameter '%s' has an invalid value or type", key)
}

func (q *Query) checkUndeclared(vars map[string]any) error {
	var extra []string
	for k := range vars {
		declared := false
		for _, prm := range q.params {
			declared = declared || prm.key == k
		}
		if !declared {
			extra = append(extra, k)
		}
	}
	if len(extra) == 0 {
		return nil
	}
	sort.Strings(extra)
	return queryError(ErrNumBindParameterUndeclared, "bind parameter '%s' was not declared in the query", extra[0])
}

// maxLimit bounds LIMIT values, so that offset+count cannot overflow.
const maxLimit = math.MaxInt / 2

// limitValue is the value of a LIMIT operand: a non-negative number,
// rounded toward zero as ArangoDB does.
func (b *binder) limitValue(e expr) (int, error) {
	c, _ := b.bindLeaf(e)
	n := c.c.n
	if c.c.k != kNumber || n.isInt && n.i < 0 || !n.isInt && !(n.f >= 0) {
		return 0, queryError(ErrNumQueryNumberOutOfRange, "LIMIT value is not a number or out of range")
	}
	if v := truncate(n); v < maxLimit {
		return int(v), nil
	}
	return maxLimit, nil
}

// normalize checks that a bound value is JSON and brings it into the form
// of the constants of a query: nil, bool, string, json.Number, []any and
// map[string]any, numbers of Go types becoming json.Number.
func normalize(v any, depth int) (any, bool) {
	switch x := v.(type) {
	case nil, bool, string:
		return x, true
	case json.Number:
		return x, validNumber(string(x))
	case float64:
		return floatConst(x)
	case float32:
		return floatConst(float64(x))
	case int, int8, int16, int32, int64, uint8, uint16, uint32:
		return json.Number(strconv.FormatInt(classify(x).n.i, 10)), true
	case uint:
		return json.Number(strconv.FormatUint(uint64(x), 10)), true
	case uint64:
		return json.Number(strconv.FormatUint(x, 10)), true
	case []any:
		if depth >= maxValueDepth {
			return nil, false
		}
		out := make([]any, len(x))
		for i, el := range x {
			var ok bool
			if out[i], ok = normalize(el, depth+1); !ok {
				return nil, false
			}
		}
		return out, true
	case map[string]any:
		if depth >= maxValueDepth {
			return nil, false
		}
		out := make(map[string]any, len(x))
		for k, el := range x {
			nv, ok := normalize(el, depth+1)
			if !ok {
				return nil, false
			}
			out[k] = nv
		}
		return out, true
	}
	return nil, false
}

func floatConst(f float64) (any, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, false
	}
	return json.Number(canonicalFloat(f)), true
}

// validNumber reports whether s is a JSON number within the range of a
// double: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func validNumber(s string) bool {
	i := 0
	digits := func() int {
		n := 0
		for i < len(s) && isDigit(s[i]) {
			i++
			n++
		}
		return n
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && s[i]|0x20 == 'e' {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	if i != len(s) {
		return false
	}
	f, err := strconv.ParseFloat(s, 64)
	return err == nil && !math.IsInf(f, 0)
}

func newConst(v any) *constExpr { return &constExpr{v: v, c: classify(v)} }

// negate is -n as a constant.
func negate(n number) json.Number {
	if n.isInt && n.i != math.MinInt64 {
		return json.Number(strconv.FormatInt(-n.i, 10))
	}
	return json.Number(canonicalFloat(-n.float()))
}

// binder substitutes the values of the bind parameters and simplifies the
// tree: constant subexpressions are folded, accesses with constant keys
// become pathExpr, and comparisons with a constant become cmpConstExpr or
// inSetExpr.
type binder struct {
	vals map[string]any
}

// bindLeaf binds a constant or a bind parameter.
func (b *binder) bindLeaf(e expr) (*constExpr, bool) {
	switch e := e.(type) {
	case *constExpr:
		return e, true
	case *paramExpr:
		return newConst(b.vals[e.name]), true
	}
	return nil, false
}

func (b *binder) bind(e expr) (expr, error) {
	if c, ok := b.bindLeaf(e); ok {
		return c, nil
	}
	switch e := e.(type) {
	case *varExpr:
		return e, nil
	case *accessExpr:
		return b.access(e)
	case *arrayExpr:
		elems, allConst, err := b.bindAll(e.elems)
		if err != nil {
			return nil, err
		}
		if !allConst {
			return &arrayExpr{elems: elems}, nil
		}
		vals := make([]any, len(elems))
		for i, el := range elems {
			vals[i] = el.(*constExpr).v
		}
		return newConst(vals), nil
	case *objectExpr:
		return b.object(e)
	case *notExpr:
		x, err := b.bind(e.x)
		if err != nil {
			return nil, err
		}
		if c, ok := x.(*constExpr); ok {
			return newConst(!truthy(c.v)), nil
		}
		return &notExpr{x: x}, nil
	case *logicExpr:
		l, r, err := b.bindPair(e.l, e.r)
		if err != nil {
			return nil, err
		}
		if c, ok := l.(*constExpr); ok {
			if truthy(c.v) != e.and {
				return l, nil
			}
			return r, nil
		}
		return &logicExpr{and: e.and, l: l, r: r}, nil
	case *cmpExpr:
		l, r, err := b.bindPair(e.l, e.r)
		if err != nil {
			return nil, err
		}
		lc, lok := l.(*constExpr)
		rc, rok := r.(*constExpr)
		switch {
		case lok && rok:
			return newConst(e.op.holds(compareValues(lc.c, rc.c))), nil
		case rok:
			return &cmpConstExpr{op: e.op, x: l, c: *rc}, nil
		case lok:
			return &cmpConstExpr{op: e.op.flip(), x: r, c: *lc}, nil
		}
		return &cmpExpr{op: e.op, l: l, r: r}, nil
	case *inExpr:
		l, r, err := b.bindPair(e.l, e.r)
		if err != nil {
			return nil, err
		}
		rc, ok := r.(*constExpr)
		if !ok {
			return &inExpr{not: e.not, l: l, r: r}, nil
		}
		set := newInSet(e.not, l, rc.v)
		_, lconst := l.(*constExpr)
		if _, isArray := rc.v.([]any); lconst || !isArray {
			return newConst(set.test(nil)), nil // no document needed
		}
		return set, nil
	}
	panic("aql: bind of an unexpected node")
}

func (b *binder) bindPair(l, r expr) (expr, expr, error) {
	bl, err := b.bind(l)
	if err != nil {
		return nil, nil, err
	}
	br, err := b.bind(r)
	if err != nil {
		return nil, nil, err
	}
	return bl, br, nil
}

func (b *binder) bindAll(es []expr) ([]expr, bool, error) {
	out := make([]expr, len(es))
	allConst := true
	for i, e := range es {
		be, err := b.bind(e)
		if err != nil {
			return nil, false, err
		}
		_, ok := be.(*constExpr)
		allConst = allConst && ok
		out[i] = be
	}
	return out, allConst, nil
}

// newInSet is x IN v (NOT IN with not); when v is not an array, the set
// is empty: IN is false and NOT IN true.
func newInSet(not bool, x expr, v any) *inSetExpr {
	s := &inSetExpr{not: not, x: x}
	arr, ok := v.([]any)
	if !ok {
		return s
	}
	s.arr, s.strs = arr, make(map[string]struct{}, len(arr))
	for _, el := range arr {
		if str, ok := el.(string); ok {
			s.strs[str] = struct{}{}
		} else {
			s.others = append(s.others, classify(el))
		}
	}
	return s
}

// access binds obj.name, obj.@name and obj[key].
func (b *binder) access(e *accessExpr) (expr, error) {
	obj, err := b.bind(e.obj)
	if err != nil {
		return nil, err
	}
	key, err := b.bind(e.key)
	if err != nil {
		return nil, err
	}
	kc, ok := key.(*constExpr)
	if !ok {
		return &accessExpr{obj: obj, key: key}, nil
	}
	var steps []step
	if !e.dot {
		steps = []step{keyStep(kc.v, false)}
	} else {
		// A dot access has a name, or a bind parameter whose value is a
		// name or an array of names (a path).
		names, ok := kc.v.([]any)
		if !ok {
			names = []any{kc.v}
		}
		for _, n := range names {
			s, ok := n.(string)
			if !ok {
				return nil, invalidParam(e.key.(*paramExpr).name)
			}
			steps = append(steps, keyStep(s, true))
		}
		if len(steps) == 0 {
			return nil, invalidParam(e.key.(*paramExpr).name)
		}
	}
	switch o := obj.(type) {
	case *constExpr:
		v := o.v
		for i := range steps {
			v = steps[i].apply(v)
		}
		return newConst(v), nil
	case *varExpr:
		return &pathExpr{steps: steps}, nil
	case *pathExpr:
		return &pathExpr{base: o.base, steps: append(append([]step(nil), o.steps...), steps...)}, nil
	}
	return &pathExpr{base: obj, steps: steps}, nil
}

// object binds an object literal; its keys must be strings.
func (b *binder) object(e *objectExpr) (expr, error) {
	keys, _, err := b.bindAll(e.keys)
	if err != nil {
		return nil, err
	}
	for i, k := range keys {
		if _, ok := k.(*constExpr).v.(string); !ok {
			return nil, invalidParam(e.keys[i].(*paramExpr).name)
		}
	}
	vals, allConst, err := b.bindAll(e.vals)
	if err != nil {
		return nil, err
	}
	o := &objectExpr{keys: keys, vals: vals}
	if !allConst {
		return o, nil
	}
	return newConst(o.eval(nil)), nil
}
