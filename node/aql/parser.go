package aql

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Query is a parsed query whose bind parameters have no values yet. It is
// never modified after Parse, so one Query may be bound any number of
// times, also concurrently.
type Query struct {
	src        string
	varName    string
	collection string // FOR … IN name
	collParam  string // FOR … IN @@name: the bind variable "@name"
	filters    []expr
	sorts      []sortKey
	offset     expr // LIMIT offset, count: constExpr or paramExpr; nil if absent
	count      expr
	ret        expr
	params     []param // the bind parameters, in the order of their first use
}

// param is a bind parameter the query uses: key is its name in the bind
// variables ("v" for @v, "@c" for @@c).
type param struct {
	key  string
	coll bool
}

// maxDepth bounds the nesting of expressions, so that no query can exhaust
// the stack; bound values may nest at most maxValueDepth deep, so that
// every bound plan prints as a shard query that parses again.
const (
	maxDepth      = 1000
	maxValueDepth = 500
)

// Parse parses a query of the supported AQL subset (see the package
// documentation). Errors are *Error: Num 1502 for an empty query, 1501 for
// a syntax error or anything outside the subset, with ArangoDB's message
// "AQL: syntax error, unexpected … near '…' at position line:column (while
// parsing)"; for AQL this server does not run, the message also says what
// is not supported.
func Parse(query string) (*Query, error) {
	if query == "" {
		return nil, queryError(ErrNumQueryEmpty, "query is empty")
	}
	p := parser{src: query, toks: lex(query), q: &Query{src: query}, seen: map[string]bool{}}
	if err := p.query(); err != nil {
		return nil, err
	}
	return p.q, nil
}

type parser struct {
	src   string
	toks  []token
	i     int
	depth int
	q     *Query
	seen  map[string]bool
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) advance() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// fail is the syntax error for the unexpected token t, with a note after
// the position. At the end of the query, ArangoDB points at the last token,
// and so does fail. Without a note, fail names what t starts that this
// server does not support, if anything.
func (p *parser) fail(t token, note string) error {
	if t.kind == tEOF {
		for i := len(p.toks) - 1; i >= 0; i-- {
			if p.toks[i].kind != tEOF {
				t.pos, t.line, t.col = p.toks[i].pos, p.toks[i].line, p.toks[i].col
				break
			}
		}
	}
	switch {
	case note != "":
	case unsupported[t.kind] != "":
		note = notSupported + unsupported[t.kind]
	case t.kind == tAssign:
		note = "use == to compare"
	case t.kind == tInvalid && (isDigit(p.src[t.pos]) || p.src[t.pos] == '.'):
		note = "number out of range"
	}
	return syntaxError(p.src, t, note)
}

// notSupported starts the note of a syntax error for valid AQL that this
// server does not run.
const notSupported = "arangomesos does not support "

// unsupportedAt is the syntax error at t for the AQL construct what, which
// this server does not run.
func (p *parser) unsupportedAt(t token, what string) error {
	return p.fail(t, notSupported+what)
}

// unsupported names the AQL construct that a token starts, for the tokens
// of constructs this server does not run.
var unsupported = map[tokKind]string{
	tFor: "nested FOR loops", tLet: "LET", tCollect: "COLLECT",
	tWindow: "WINDOW", tInsert: "INSERT", tUpdate: "UPDATE",
	tReplace: "REPLACE", tRemove: "REMOVE", tUpsert: "UPSERT", tWith: "WITH",
	tInto: "INTO", tAggregate: "AGGREGATE", tDistinct: "RETURN DISTINCT",
	tPlus: "arithmetic operators", tMinus: "arithmetic operators",
	tTimes: "arithmetic operators", tDiv: "arithmetic operators",
	tMod: "arithmetic operators", tQuestion: "the ternary operator",
	tRange: "ranges", tLike: "LIKE", tRegexMatch: "regular expressions",
	tRegexNonMatch: "regular expressions", tAll: "array comparison operators",
	tAny: "array comparison operators", tNone: "array comparison operators",
	tOutbound: "graph traversals", tInbound: "graph traversals",
	tGraph: "graph traversals", tShortestPath: "graph traversals",
	tKShortestPaths: "graph traversals", tKPaths: "graph traversals",
	tAllShortestPaths: "graph traversals", tScope: "user-defined functions",
}

func (p *parser) expect(kind tokKind) error {
	if t := p.peek(); t.kind != kind {
		return p.fail(t, "")
	}
	p.advance()
	return nil
}

// declare records a bind parameter the query uses.
func (p *parser) declare(t token) {
	key := t.val
	if t.kind == tCollParam {
		key = "@" + key
	}
	if !p.seen[key] {
		p.seen[key] = true
		p.q.params = append(p.q.params, param{key: key, coll: t.kind == tCollParam})
	}
}

// query is FOR var IN collection, then FILTER, SORT and LIMIT, then RETURN.
func (p *parser) query() error {
	q := p.q
	t := p.advance()
	if t.kind != tFor {
		if t.kind == tReturn {
			return p.unsupportedAt(t, "queries without FOR … IN collection")
		}
		return p.fail(t, "")
	}
	v := p.advance()
	if v.kind != tIdent {
		return p.fail(v, "")
	}
	q.varName = v.val
	if t := p.advance(); t.kind != tIn {
		if t.kind == tComma {
			return p.unsupportedAt(t, "FOR with more than one variable")
		}
		return p.fail(t, "")
	}
	switch src := p.advance(); src.kind {
	case tIdent:
		q.collection = src.val
	case tCollParam:
		p.declare(src)
		q.collParam = "@" + src.val
	case tParam:
		return p.unsupportedAt(src, "FOR over a value bind parameter (bind a collection with @@name)")
	case tInt, tDouble, tString, tArrOpen, tObjOpen, tOpen, tNull, tTrue, tFalse, tMinus:
		return p.unsupportedAt(src, "FOR over anything but a collection")
	default:
		return p.fail(src, "")
	}
	limited := false
	for {
		t := p.peek()
		switch t.kind {
		case tFilter, tSort:
			if limited {
				return p.unsupportedAt(t, clauseName[t.kind]+" after LIMIT")
			}
			p.advance()
			if t.kind == tFilter {
				e, err := p.expr()
				if err != nil {
					return err
				}
				q.filters = append(q.filters, e)
				continue
			}
			keys, err := p.sortList()
			if err != nil {
				return err
			}
			// A later SORT sorts again, stably: its keys come first.
			q.sorts = append(keys, q.sorts...)
		case tLimit:
			if limited {
				return p.unsupportedAt(t, "more than one LIMIT")
			}
			limited = true
			p.advance()
			if err := p.limit(); err != nil {
				return err
			}
		case tReturn:
			p.advance()
			e, err := p.expr()
			if err != nil {
				return err
			}
			q.ret = e
			if t := p.peek(); t.kind != tEOF {
				return p.fail(t, "")
			}
			return nil
		case tIdent:
			switch w := strings.ToUpper(t.val); w {
			case "SEARCH", "OPTIONS", "PRUNE":
				return p.unsupportedAt(t, "FOR … "+w)
			}
			return p.fail(t, "")
		default:
			return p.fail(t, "")
		}
	}
}

var clauseName = map[tokKind]string{tFilter: "FILTER", tSort: "SORT"}

func (p *parser) sortList() ([]sortKey, error) {
	var keys []sortKey
	for {
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		k := sortKey{e: e}
		switch p.peek().kind {
		case tAsc:
			p.advance()
		case tDesc:
			p.advance()
			k.desc = true
		}
		keys = append(keys, k)
		if p.peek().kind != tComma {
			return keys, nil
		}
		p.advance()
	}
}

// limit is LIMIT count or LIMIT offset, count; the values are numbers or
// bind parameters, checked by Bind.
func (p *parser) limit() error {
	a, err := p.limitValue()
	if err != nil {
		return err
	}
	if p.peek().kind != tComma {
		p.q.count = a
		return nil
	}
	p.advance()
	b, err := p.limitValue()
	if err != nil {
		return err
	}
	p.q.offset, p.q.count = a, b
	return nil
}

func (p *parser) limitValue() (expr, error) {
	switch t := p.peek(); t.kind {
	case tInt, tDouble, tParam, tMinus, tPlus:
		e, err := p.unary()
		if err != nil {
			return nil, err
		}
		if _, ok := e.(*constExpr); !ok {
			if _, ok := e.(*paramExpr); !ok {
				return nil, p.unsupportedAt(t, "LIMIT values other than numbers and bind parameters")
			}
		}
		return e, nil
	default:
		return nil, p.unsupportedAt(t, "LIMIT values other than numbers and bind parameters")
	}
}

// The operators by precedence, lowest first; all are left-associative.
// Note that, as in AQL, NOT binds tighter than all of them: NOT a == b is
// (NOT a) == b.
var levels = [][]tokKind{
	{tOr},
	{tAnd},
	{tEq, tNe},
	{tIn, tNotIn},
	{tLt, tLe, tGt, tGe},
}

var cmpOps = map[tokKind]cmpOp{tEq: opEq, tNe: opNe, tLt: opLt, tLe: opLe, tGt: opGt, tGe: opGe}

func (p *parser) expr() (expr, error) { return p.binary(0) }

func (p *parser) binary(level int) (expr, error) {
	if level == len(levels) {
		return p.unary()
	}
	l, err := p.binary(level + 1)
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		found := false
		for _, k := range levels[level] {
			found = found || k == t.kind
		}
		if !found {
			return l, nil
		}
		p.advance()
		r, err := p.binary(level + 1)
		if err != nil {
			return nil, err
		}
		switch t.kind {
		case tOr, tAnd:
			l = &logicExpr{and: t.kind == tAnd, l: l, r: r}
		case tIn, tNotIn:
			l = &inExpr{not: t.kind == tNotIn, l: l, r: r}
		default:
			l = &cmpExpr{op: cmpOps[t.kind], l: l, r: r}
		}
	}
}

// unary is NOT x, !x, or a signed number literal; every nesting of
// expressions passes here, which is where the depth is bounded.
func (p *parser) unary() (expr, error) {
	t := p.peek()
	if p.depth++; p.depth > maxDepth {
		return nil, p.fail(t, "expressions nest more than "+strconv.Itoa(maxDepth)+" deep")
	}
	defer func() { p.depth-- }()
	switch t.kind {
	case tNot:
		p.advance()
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &notExpr{x: x}, nil
	case tMinus, tPlus:
		p.advance()
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		if c, ok := x.(*constExpr); ok && c.c.k == kNumber {
			if t.kind == tMinus {
				return newConst(negate(c.c.n)), nil
			}
			return c, nil
		}
		return nil, p.fail(t, "")
	}
	return p.postfix()
}

// postfix is an operand followed by attribute and index accesses.
func (p *parser) postfix() (expr, error) {
	x, err := p.primary()
	if err != nil {
		return nil, err
	}
	for {
		switch t := p.peek(); t.kind {
		case tDot:
			p.advance()
			n := p.advance()
			switch {
			case n.kind == tIdent:
				x = &accessExpr{obj: x, key: newConst(n.val), dot: true}
			case n.kind == tParam:
				p.declare(n)
				x = &accessExpr{obj: x, key: &paramExpr{name: n.val, tok: n}, dot: true}
			case n.kind >= tFor && n.kind <= tNone:
				return nil, p.fail(n, "use backticks to quote an attribute name that is a keyword")
			default:
				return nil, p.fail(n, "")
			}
		case tArrOpen:
			p.advance()
			switch n := p.peek(); n.kind {
			case tTimes:
				return nil, p.unsupportedAt(n, "array expansion")
			case tQuestion:
				return nil, p.unsupportedAt(n, "the question mark operator")
			case tArrClose:
				return nil, p.fail(n, "")
			}
			k, err := p.expr()
			if err != nil {
				return nil, err
			}
			if err := p.expect(tArrClose); err != nil {
				return nil, err
			}
			x = &accessExpr{obj: x, key: k}
		default:
			return x, nil
		}
	}
}

func (p *parser) primary() (expr, error) {
	t := p.advance()
	switch t.kind {
	case tNull:
		return newConst(nil), nil
	case tTrue, tFalse:
		return newConst(t.kind == tTrue), nil
	case tString:
		return newConst(t.val), nil
	case tInt, tDouble:
		return newConst(json.Number(t.val)), nil
	case tParam:
		p.declare(t)
		return &paramExpr{name: t.val, tok: t}, nil
	case tCollParam:
		return nil, p.unsupportedAt(t, "collection bind parameters anywhere but in FOR … IN @@name")
	case tIdent:
		switch p.peek().kind {
		case tOpen:
			return nil, p.unsupportedAt(t, "function calls")
		case tScope:
			return nil, p.unsupportedAt(t, "user-defined functions")
		}
		return p.variable(t)
	case tOpen:
		switch n := p.peek(); n.kind {
		case tFor, tLet, tReturn, tWith, tInsert, tUpdate, tReplace, tRemove, tUpsert, tCollect:
			return nil, p.unsupportedAt(n, "subqueries")
		}
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		return e, p.expect(tClose)
	case tArrOpen:
		return p.array()
	case tObjOpen:
		return p.object()
	}
	return nil, p.fail(t, "")
}

// variable is a reference to a variable: the FOR variable is the only one.
func (p *parser) variable(t token) (expr, error) {
	if t.val != p.q.varName {
		return nil, p.fail(t, fmt.Sprintf("unknown variable '%s' (the only variable is the FOR variable '%s')", t.val, p.q.varName))
	}
	return &varExpr{}, nil
}

// array is [a, b, …] after the "[", a trailing comma allowed.
func (p *parser) array() (expr, error) {
	a := &arrayExpr{}
	for {
		if p.peek().kind == tArrClose {
			p.advance()
			return a, nil
		}
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		a.elems = append(a.elems, e)
		if t := p.peek(); t.kind == tComma {
			p.advance()
		} else if t.kind != tArrClose {
			return nil, p.fail(t, "")
		}
	}
}

// object is {name: value, "name": value, @name: value, var, …} after the
// "{", a trailing comma allowed.
func (p *parser) object() (expr, error) {
	o := &objectExpr{}
	for {
		t := p.advance()
		var key expr
		switch t.kind {
		case tObjClose:
			return o, nil
		case tIdent, tString:
			key = newConst(t.val)
		case tParam:
			p.declare(t)
			key = &paramExpr{name: t.val, tok: t}
		case tArrOpen:
			return nil, p.unsupportedAt(t, "computed attribute names")
		default:
			return nil, p.fail(t, "")
		}
		var val expr
		if n := p.peek(); t.kind == tIdent && (n.kind == tComma || n.kind == tObjClose) {
			v, err := p.variable(t) // {d} is {d: d}
			if err != nil {
				return nil, err
			}
			val = v
		} else {
			if err := p.expect(tColon); err != nil {
				return nil, err
			}
			v, err := p.expr()
			if err != nil {
				return nil, err
			}
			val = v
		}
		o.keys = append(o.keys, key)
		o.vals = append(o.vals, val)
		if n := p.peek(); n.kind == tComma {
			p.advance()
		} else if n.kind != tObjClose {
			return nil, p.fail(n, "")
		}
	}
}
