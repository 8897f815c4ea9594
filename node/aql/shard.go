package aql

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The shard-level part of a plan travels from a coordinator to the
// DBServers as an AQL query without bind parameters,
//
//	{"query":"FOR d IN `c` FILTER d.`x` == 1 SORT d.`y` DESC LIMIT 15 RETURN d"}
//
// in which the values of the bind parameters are literals and LIMIT keeps
// offset+count documents. A DBServer parses it with the same parser, so it
// runs exactly the subset a coordinator accepts, and the message is
// readable in logs. Expressions are printed with the parentheses that
// their tree needs and no more, so that printing never nests deeper than
// the query did.

type shardQuery struct {
	Query string `json:"query"`
}

// ShardQuery is the JSON a coordinator sends to the DBServers of the
// collection: FILTER, SORT, and LIMIT offset+count, since the coordinator
// skips the offset after merging the shards' sorted answers. It fails only
// for strings that are not valid UTF-8 (in the collection name, an
// attribute name or a bound value), which JSON cannot carry.
func (p *Plan) ShardQuery() ([]byte, error) {
	w := printer{}
	w.s.WriteString("FOR d IN ")
	w.name(p.collection)
	for _, f := range p.filters {
		w.s.WriteString(" FILTER ")
		w.expr(f, 0)
	}
	for i, k := range p.sorts {
		if i == 0 {
			w.s.WriteString(" SORT ")
		} else {
			w.s.WriteString(", ")
		}
		w.expr(k.e, 0)
		if k.desc {
			w.s.WriteString(" DESC")
		}
	}
	if p.count >= 0 {
		w.s.WriteString(" LIMIT " + strconv.Itoa(p.offset+p.count))
	}
	w.s.WriteString(" RETURN d")
	if w.err != nil {
		return nil, w.err
	}
	return json.Marshal(shardQuery{Query: w.s.String()})
}

// ShardPlan is what a DBServer runs on each shard of a query: keep the
// documents Match accepts, sort them with Less, and answer the first
// Limit of them (all if Limit is negative).
type ShardPlan struct {
	p *Plan
}

// ParseShardQuery reads what ShardQuery wrote. Errors are *Error: Num 600
// for JSON that is not {"query": string}, otherwise those of Parse and of
// Bind (a shard query has no bind parameters).
func ParseShardQuery(b []byte) (*ShardPlan, error) {
	var sq shardQuery
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	err := dec.Decode(&sq)
	if err == nil {
		if _, end := dec.Token(); !errors.Is(end, io.EOF) {
			err = errors.New("data after the query object")
		}
	}
	if err != nil {
		return nil, &Error{Num: ErrNumCorruptedJSON, Message: "invalid shard query: " + err.Error()}
	}
	q, err := Parse(sq.Query)
	if err != nil {
		return nil, err
	}
	p, err := q.Bind(nil)
	if err != nil {
		return nil, err
	}
	return &ShardPlan{p: p}, nil
}

// Match reports whether the document passes every FILTER.
func (s *ShardPlan) Match(doc map[string]any) bool { return s.p.Match(doc) }

// Less is the SORT order, as Plan.Less.
func (s *ShardPlan) Less(a, b map[string]any) bool { return s.p.Less(a, b) }

// HasSort reports whether there is a SORT, as Plan.HasSort.
func (s *ShardPlan) HasSort() bool { return s.p.HasSort() }

// Limit is how many documents the shard must return at most: offset+count
// of the query's LIMIT, or -1 without LIMIT.
func (s *ShardPlan) Limit() int {
	if s.p.count < 0 {
		return -1
	}
	return s.p.offset + s.p.count
}

// Operator precedence for printing, lowest first; see levels in parser.go.
const (
	precOr = 1 + iota
	precAnd
	precEq
	precIn
	precRel
	precUnary
	precPrimary
)

func prec(e expr) int {
	switch e := e.(type) {
	case *logicExpr:
		if e.and {
			return precAnd
		}
		return precOr
	case *cmpExpr:
		return cmpPrec(e.op)
	case *cmpConstExpr:
		return cmpPrec(e.op)
	case *inExpr, *inSetExpr:
		return precIn
	case *notExpr:
		return precUnary
	case *constExpr:
		if n, ok := e.v.(json.Number); ok && strings.HasPrefix(string(n), "-") {
			return precUnary // a negative number is a unary minus
		}
	}
	return precPrimary
}

func cmpPrec(op cmpOp) int {
	if op == opEq || op == opNe {
		return precEq
	}
	return precRel
}

// printer writes bound expressions as AQL; the FOR variable is d.
type printer struct {
	s   strings.Builder
	err error
}

// expr prints e, in parentheses if it binds less tightly than min.
func (w *printer) expr(e expr, min int) {
	p := prec(e)
	if p < min {
		w.s.WriteByte('(')
		defer w.s.WriteByte(')')
	}
	switch e := e.(type) {
	case *constExpr:
		w.value(e.v)
	case *varExpr:
		w.s.WriteString("d")
	case *pathExpr:
		if e.base == nil {
			w.s.WriteString("d")
		} else {
			w.expr(e.base, precPrimary)
		}
		for _, st := range e.steps {
			if st.dot {
				w.s.WriteByte('.')
				w.name(st.key)
			} else {
				w.s.WriteByte('[')
				w.value(st.lit)
				w.s.WriteByte(']')
			}
		}
	case *accessExpr:
		w.expr(e.obj, precPrimary)
		w.s.WriteByte('[')
		w.expr(e.key, 0)
		w.s.WriteByte(']')
	case *arrayExpr:
		w.list('[', ']', len(e.elems), func(i int) { w.expr(e.elems[i], 0) })
	case *objectExpr:
		w.list('{', '}', len(e.keys), func(i int) {
			w.value(e.keys[i].(*constExpr).v)
			w.s.WriteString(": ")
			w.expr(e.vals[i], 0)
		})
	case *notExpr:
		w.s.WriteString("NOT ")
		w.expr(e.x, precUnary)
	case *logicExpr:
		op := " OR "
		if e.and {
			op = " AND "
		}
		w.binary(e.l, op, e.r, p)
	case *cmpExpr:
		w.binary(e.l, " "+cmpOpText[e.op]+" ", e.r, p)
	case *cmpConstExpr:
		w.binary(e.x, " "+cmpOpText[e.op]+" ", &e.c, p)
	case *inExpr:
		w.binary(e.l, inText(e.not), e.r, p)
	case *inSetExpr:
		w.binary(e.x, inText(e.not), newConst(e.arr), p)
	default:
		w.err = fmt.Errorf("aql: cannot print %T", e)
	}
}

// binary prints a left-associative operator: the right operand needs
// parentheses if it is an operator of the same precedence.
func (w *printer) binary(l expr, op string, r expr, p int) {
	w.expr(l, p)
	w.s.WriteString(op)
	w.expr(r, p+1)
}

func inText(not bool) string {
	if not {
		return " NOT IN "
	}
	return " IN "
}

// value prints a constant as an AQL literal, which is its JSON form, with
// object attributes in sorted order.
func (w *printer) value(v any) {
	switch x := v.(type) {
	case nil:
		w.s.WriteString("null")
	case bool:
		w.s.WriteString(strconv.FormatBool(x))
	case string:
		w.quote(x, '"')
	case json.Number:
		w.s.WriteString(string(x)) // checked by Bind or canonical from the lexer
	case []any:
		w.list('[', ']', len(x), func(i int) { w.value(x[i]) })
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		w.list('{', '}', len(keys), func(i int) {
			w.quote(keys[i], '"')
			w.s.WriteString(": ")
			w.value(x[keys[i]])
		})
	default:
		w.err = fmt.Errorf("aql: cannot print a constant of type %T", v)
	}
}

// list prints n items between open and close, separated by commas.
func (w *printer) list(open, close byte, n int, item func(i int)) {
	w.s.WriteByte(open)
	for i := 0; i < n; i++ {
		if i > 0 {
			w.s.WriteString(", ")
		}
		item(i)
	}
	w.s.WriteByte(close)
}

// name prints a collection or attribute name in backticks.
func (w *printer) name(s string) { w.quote(s, '`') }

// quote prints s between q, escaping q, backslashes and control
// characters; s must be valid UTF-8.
func (w *printer) quote(s string, q byte) {
	if !utf8.ValidString(s) {
		w.err = fmt.Errorf("aql: %q is not valid UTF-8", s)
		return
	}
	w.s.WriteByte(q)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == q || c == '\\':
			w.s.WriteByte('\\')
			w.s.WriteByte(c)
		case c == '\n':
			w.s.WriteString(`\n`)
		case c == '\r':
			w.s.WriteString(`\r`)
		case c == '\t':
			w.s.WriteString(`\t`)
		case c < 0x20:
			fmt.Fprintf(&w.s, `\u%04x`, c)
		default:
			w.s.WriteByte(c)
		}
	}
	w.s.WriteByte(q)
}

// SortKey evaluates the SORT expressions of a document once (see
// Plan.SortKey).
func (s *ShardPlan) SortKey(doc map[string]any) []any { return s.p.SortKey(doc) }

// CompareKeys compares two sort keys from SortKey (see Plan.CompareKeys).
func (s *ShardPlan) CompareKeys(a, b []any) int { return s.p.CompareKeys(a, b) }
