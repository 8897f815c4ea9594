package aql

// The expression tree. Parse builds it with paramExpr and accessExpr nodes;
// Bind replaces every bind parameter by its value and simplifies the tree
// (bind.go): constants are folded, attribute paths on the FOR variable
// become pathExpr, and comparisons with a constant become cmpConstExpr or
// inSetExpr, which evaluate without allocating (eval.go).

// expr is a node of the expression tree.
type expr interface {
	// eval is the value of the expression for the document doc (bound to
	// the FOR variable). It never fails: AQL turns what cannot be computed,
	// such as an attribute of a number, into null.
	eval(doc map[string]any) any
	// test is eval converted to a boolean, as FILTER does.
	test(doc map[string]any) bool
}

// constExpr is a constant: a literal, a bound value, or a folded expression.
// Its value is normalized (nil, bool, string, json.Number, []any or
// map[string]any); c is its precomputed comparison form.
type constExpr struct {
	v any
	c cval
}

// paramExpr is a value bind parameter @name before Bind.
type paramExpr struct {
	name string
	tok  token
}

// varExpr is the FOR variable: the document itself.
type varExpr struct{}

// accessExpr is obj.name (dot) or obj[key]. With dot set the key is an
// attribute name: a constant string, or a bind parameter, whose value may
// also be an array of names (d.@path). Without it, key is any expression:
// a string looks up an attribute of an object, a number an element of an
// array (negative numbers count from the end).
type accessExpr struct {
	obj, key expr
	dot      bool
}

// pathExpr is a chain of constant accesses, such as d.a.b[0], on the
// document (base nil) or on the value of base; Bind builds it from
// accessExpr nodes.
type pathExpr struct {
	base  expr
	steps []step
}

// step is one access of a pathExpr. A dot access has only a key; a
// bracket access with a constant has a key for objects and, if the
// constant is (or reads as) an integer, an index for arrays. lit is the
// constant of a bracket access, kept to print it back.
type step struct {
	key    string
	idx    int64
	hasKey bool
	hasIdx bool
	dot    bool
	lit    any
}

// arrayExpr is an array literal [a, b, …].
type arrayExpr struct {
	elems []expr
}

// objectExpr is an object literal {name: value, …}. A key is a constant
// string, or a paramExpr before Bind.
type objectExpr struct {
	keys []expr
	vals []expr
}

// notExpr is NOT x / !x.
type notExpr struct {
	x expr
}

// logicExpr is l AND r (and set) or l OR r. As in AQL, it evaluates to one
// of its operands, not necessarily to a boolean.
type logicExpr struct {
	and  bool
	l, r expr
}

// cmpOp is a comparison operator.
type cmpOp uint8

const (
	opEq cmpOp = iota
	opNe
	opLt
	opLe
	opGt
	opGe
)

var cmpOpText = [...]string{opEq: "==", opNe: "!=", opLt: "<", opLe: "<=", opGt: ">", opGe: ">="}

// holds reports whether the operator holds for a Compare result c.
func (op cmpOp) holds(c int) bool {
	switch op {
	case opEq:
		return c == 0
	case opNe:
		return c != 0
	case opLt:
		return c < 0
	case opLe:
		return c <= 0
	case opGt:
		return c > 0
	default:
		return c >= 0
	}
}

// flip is the operator with its operands swapped: a < b is b > a.
func (op cmpOp) flip() cmpOp {
	switch op {
	case opLt:
		return opGt
	case opLe:
		return opGe
	case opGt:
		return opLt
	case opGe:
		return opLe
	}
	return op
}

// cmpExpr is l op r.
type cmpExpr struct {
	op   cmpOp
	l, r expr
}

// cmpConstExpr is x op constant.
type cmpConstExpr struct {
	op cmpOp
	x  expr
	c  constExpr
}

// inExpr is l IN r, or l NOT IN r (not set). IN is false when r is not an
// array, NOT IN true.
type inExpr struct {
	not  bool
	l, r expr
}

// inSetExpr is x IN constant array (or NOT IN), with the strings of the
// array in a set, so that long IN lists cost one lookup.
type inSetExpr struct {
	not    bool
	x      expr
	arr    []any // the array, to print it back
	strs   map[string]struct{}
	others []cval // the elements that are not strings
}

// sortKey is one expression of SORT.
type sortKey struct {
	e    expr
	desc bool
}
