package aql

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// tokKind is the kind of a token. Its String is the name ArangoDB's grammar
// gives the token, so that syntax errors read like ArangoDB's.
type tokKind uint8

const (
	tEOF tokKind = iota
	tInvalid
	tBadUTF8
	tUnterminatedString
	tUnterminatedName
	tUnterminatedComment
	tIdent     // name, or a name quoted with backticks or forward ticks
	tString    // 'x' or "x"
	tInt       // integer literal
	tDouble    // other number literal
	tParam     // @name
	tCollParam // @@name

	// reserved keywords
	tFor
	tLet
	tFilter
	tReturn
	tCollect
	tSort
	tLimit
	tWindow
	tAsc
	tDesc
	tIn
	tWith
	tInto
	tAggregate
	tGraph
	tShortestPath
	tKShortestPaths
	tKPaths
	tAllShortestPaths
	tDistinct
	tRemove
	tInsert
	tUpdate
	tReplace
	tUpsert
	tNull
	tTrue
	tFalse
	tNot
	tAnd
	tOr
	tNotIn
	tLike
	tOutbound
	tInbound
	tAny
	tAll
	tNone

	// operators and punctuation
	tAssign
	tRegexMatch
	tRegexNonMatch
	tEq
	tNe
	tLt
	tGt
	tLe
	tGe
	tPlus
	tMinus
	tTimes
	tDiv
	tMod
	tQuestion
	tColon
	tScope
	tRange
	tEllipsis
	tComma
	tOpen
	tClose
	tObjOpen
	tObjClose
	tArrOpen
	tArrClose
	tDot
)

var tokNames = [...]string{
	tEOF:                 "end of query string",
	tInvalid:             "invalid token",
	tBadUTF8:             "invalid UTF-8 sequence",
	tUnterminatedString:  "unterminated quoted string",
	tUnterminatedName:    "unterminated quoted name",
	tUnterminatedComment: "unterminated comment",
	tIdent:               "identifier",
	tString:              "quoted string",
	tInt:                 "integer number",
	tDouble:              "number",
	tParam:               "bind parameter",
	tCollParam:           "bind data source parameter",
	tFor:                 "FOR declaration",
	tLet:                 "LET declaration",
	tFilter:              "FILTER declaration",
	tReturn:              "RETURN declaration",
	tCollect:             "COLLECT declaration",
	tSort:                "SORT declaration",
	tLimit:               "LIMIT declaration",
	tWindow:              "WINDOW declaration",
	tAsc:                 "ASC keyword",
	tDesc:                "DESC keyword",
	tIn:                  "IN keyword",
	tWith:                "WITH keyword",
	tInto:                "INTO keyword",
	tAggregate:           "AGGREGATE keyword",
	tGraph:               "GRAPH keyword",
	tShortestPath:        "SHORTEST_PATH keyword",
	tKShortestPaths:      "K_SHORTEST_PATHS keyword",
	tKPaths:              "K_PATHS keyword",
	tAllShortestPaths:    "ALL_SHORTEST_PATHS keyword",
	tDistinct:            "DISTINCT modifier",
	tRemove:              "REMOVE command",
	tInsert:              "INSERT command",
	tUpdate:              "UPDATE command",
	tReplace:             "REPLACE command",
	tUpsert:              "UPSERT command",
	tNull:                "null",
	tTrue:                "true",
	tFalse:               "false",
	tNot:                 "not operator",
	tAnd:                 "and operator",
	tOr:                  "or operator",
	tNotIn:               "not in operator",
	tLike:                "like operator",
	tOutbound:            "outbound modifier",
	tInbound:             "inbound modifier",
	tAny:                 "any modifier",
	tAll:                 "all modifier",
	tNone:                "none modifier",
	tAssign:              "assignment",
	tRegexMatch:          "~= operator",
	tRegexNonMatch:       "~! operator",
	tEq:                  "== operator",
	tNe:                  "!= operator",
	tLt:                  "< operator",
	tGt:                  "> operator",
	tLe:                  "<= operator",
	tGe:                  ">= operator",
	tPlus:                "+ operator",
	tMinus:               "- operator",
	tTimes:               "* operator",
	tDiv:                 "/ operator",
	tMod:                 "% operator",
	tQuestion:            "?",
	tColon:               ":",
	tScope:               "::",
	tRange:               "..",
	tEllipsis:            "...",
	tComma:               ",",
	tOpen:                "(",
	tClose:               ")",
	tObjOpen:             "{",
	tObjClose:            "}",
	tArrOpen:             "[",
	tArrClose:            "]",
	tDot:                 "'.'",
}

func (k tokKind) String() string { return tokNames[k] }

// keywords maps the upper-case spelling of every reserved word of AQL to its
// token. Keywords are case-insensitive; everything else is case-sensitive.
var keywords = map[string]tokKind{
	"FOR": tFor, "LET": tLet, "FILTER": tFilter, "RETURN": tReturn,
	"COLLECT": tCollect, "SORT": tSort, "LIMIT": tLimit, "WINDOW": tWindow,
	"ASC": tAsc, "DESC": tDesc, "IN": tIn, "WITH": tWith, "INTO": tInto,
	"AGGREGATE": tAggregate, "GRAPH": tGraph, "SHORTEST_PATH": tShortestPath,
	"K_SHORTEST_PATHS": tKShortestPaths, "K_PATHS": tKPaths,
	"ALL_SHORTEST_PATHS": tAllShortestPaths, "DISTINCT": tDistinct,
	"REMOVE": tRemove, "INSERT": tInsert, "UPDATE": tUpdate,
	"REPLACE": tReplace, "UPSERT": tUpsert, "NULL": tNull, "TRUE": tTrue,
	"FALSE": tFalse, "NOT": tNot, "AND": tAnd, "OR": tOr, "LIKE": tLike,
	"OUTBOUND": tOutbound, "INBOUND": tInbound, "ANY": tAny, "ALL": tAll,
	"NONE": tNone,
}

// token is one lexeme. val holds the name of an identifier or bind
// parameter (without the @ or @@), the unescaped text of a string, or the
// canonical text of a number.
type token struct {
	kind      tokKind
	pos       int // byte offset in the query
	line, col int // 1-based; col counts bytes, as ArangoDB does
	val       string
}

// lex splits src into tokens; the last one is tEOF. Problems (an
// unterminated string, a character AQL does not know, bytes that are not
// UTF-8 anywhere in the query) become tokens of their own kind, which the
// parser reports with their position.
func lex(src string) []token {
	if !utf8.ValidString(src) {
		t := badUTF8(src)
		return []token{t, {kind: tEOF, pos: t.pos, line: t.line, col: t.col}}
	}
	l := lexer{src: src, line: 1}
	var toks []token
	for {
		t := l.next()
		toks = append(toks, t)
		if t.kind == tEOF || t.kind >= tUnterminatedString && t.kind <= tUnterminatedComment {
			if t.kind != tEOF {
				toks = append(toks, token{kind: tEOF, pos: t.pos, line: t.line, col: t.col})
			}
			return toks
		}
	}
}

// badUTF8 is the token at the first byte of src that is not UTF-8. The
// query must be UTF-8 throughout, strings and names included, since the
// shard query that carries them is JSON.
func badUTF8(src string) token {
	line, lineStart, i := 1, 0, 0
	for i < len(src) {
		r, size := utf8.DecodeRuneInString(src[i:])
		if r == utf8.RuneError && size <= 1 {
			break
		}
		if r == '\n' {
			line, lineStart = line+1, i+1
		}
		i += size
	}
	return token{kind: tBadUTF8, pos: i, line: line, col: i - lineStart + 1}
}

type lexer struct {
	src       string
	i         int
	line      int
	lineStart int
}

func (l *lexer) tok(kind tokKind, start, line, lineStart int, val string) token {
	return token{kind: kind, pos: start, line: line, col: start - lineStart + 1, val: val}
}

// skipSpace skips white space and comments. It reports false, with the
// position of the comment, for a block comment that is never closed.
func (l *lexer) skipSpace() (ok bool, commentStart, line, lineStart int) {
	for l.i < len(l.src) {
		switch c := l.src[l.i]; {
		case c == '\n':
			l.i++
			l.line++
			l.lineStart = l.i
		case c == ' ' || c == '\t' || c == '\r':
			l.i++
		case c == '/' && strings.HasPrefix(l.src[l.i:], "//"):
			for l.i < len(l.src) && l.src[l.i] != '\n' {
				l.i++
			}
		case c == '/' && strings.HasPrefix(l.src[l.i:], "/*"):
			start, sl, sls := l.i, l.line, l.lineStart
			l.i += 2
			for {
				if l.i >= len(l.src) {
					return false, start, sl, sls
				}
				if strings.HasPrefix(l.src[l.i:], "*/") {
					l.i += 2
					break
				}
				if l.src[l.i] == '\n' {
					l.line++
					l.lineStart = l.i + 1
				}
				l.i++
			}
		default:
			return true, 0, 0, 0
		}
	}
	return true, 0, 0, 0
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isNameChar(c byte) bool {
	return isLetter(c) || isDigit(c) || c == '_'
}

// forwardTick is ´ (U+00B4), AQL's alternative to the backtick.
const forwardTick = "\u00b4"

func (l *lexer) next() token {
	if ok, start, line, lineStart := l.skipSpace(); !ok {
		return l.tok(tUnterminatedComment, start, line, lineStart, "")
	}
	start, line, lineStart := l.i, l.line, l.lineStart
	mk := func(kind tokKind, n int, val string) token {
		l.i = start + n
		for j := start; j < l.i; j++ { // strings, names and NOT IN may span lines
			if l.src[j] == '\n' {
				l.line++
				l.lineStart = j + 1
			}
		}
		return l.tok(kind, start, line, lineStart, val)
	}
	if l.i >= len(l.src) {
		return mk(tEOF, 0, "")
	}
	rest := l.src[l.i:]
	c := rest[0]
	switch {
	case isLetter(c) || c == '$' || c == '_':
		n := nameLength(rest)
		if n == 0 {
			return mk(tInvalid, 1, "")
		}
		word := rest[:n]
		if kw, ok := lookupKeyword(word); ok {
			if kw == tNot {
				if m := notInLength(rest[n:]); m > 0 {
					return mk(tNotIn, n+m, "")
				}
			}
			return mk(kw, n, "")
		}
		return mk(tIdent, n, word)
	case isDigit(c) || c == '.' && len(rest) > 1 && isDigit(rest[1]):
		return l.number(rest, mk)
	case c == '"' || c == '\'':
		n, ok := quotedLength(rest, rest[:1])
		if !ok {
			return mk(tUnterminatedString, 0, "")
		}
		return mk(tString, n, unescape(rest[1:n-1]))
	case c == '`' || strings.HasPrefix(rest, forwardTick):
		q := rest[:1]
		if c != '`' {
			q = forwardTick
		}
		n, ok := quotedLength(rest, q)
		if !ok {
			return mk(tUnterminatedName, 0, "")
		}
		return mk(tIdent, n, unescape(rest[len(q):n-len(q)]))
	case c == '@':
		p := 1
		kind := tParam
		if len(rest) > 1 && rest[1] == '@' {
			p, kind = 2, tCollParam
		}
		n := paramNameLength(rest[p:])
		if n == 0 {
			return mk(tInvalid, 1, "")
		}
		return mk(kind, p+n, rest[p:p+n])
	case c >= utf8.RuneSelf:
		_, size := utf8.DecodeRuneInString(rest)
		return mk(tInvalid, size, "")
	}
	for _, op := range operators {
		if strings.HasPrefix(rest, op.text) {
			return mk(op.kind, len(op.text), "")
		}
	}
	return mk(tInvalid, 1, "")
}

// operators, longest first where one is a prefix of another.
var operators = []struct {
	text string
	kind tokKind
}{
	{"=~", tRegexMatch}, {"!~", tRegexNonMatch}, {"==", tEq}, {"!=", tNe},
	{">=", tGe}, {"<=", tLe}, {"&&", tAnd}, {"||", tOr}, {"::", tScope},
	{"...", tEllipsis}, {"..", tRange},
	{"=", tAssign}, {"!", tNot}, {">", tGt}, {"<", tLt}, {"+", tPlus},
	{"-", tMinus}, {"*", tTimes}, {"/", tDiv}, {"%", tMod}, {"?", tQuestion},
	{":", tColon}, {",", tComma}, {"(", tOpen}, {")", tClose},
	{"{", tObjOpen}, {"}", tObjClose}, {"[", tArrOpen}, {"]", tArrClose},
	{".", tDot},
}

// nameLength is the length of the name at the start of s, 0 if there is
// none: a letter (or a $ and a letter) and then letters, digits and
// underscores, or underscores followed by a letter and the same.
func nameLength(s string) int {
	i := 0
	switch {
	case s[0] == '$':
		i = 1
	case s[0] == '_':
		for i < len(s) && s[i] == '_' {
			i++
		}
	}
	if i >= len(s) || !isLetter(s[i]) {
		return 0
	}
	for i < len(s) && isNameChar(s[i]) {
		i++
	}
	return i
}

// paramNameLength is the length of a bind parameter name at the start of
// s: letters, digits and underscores, not only underscores.
func paramNameLength(s string) int {
	i := 0
	for i < len(s) && s[i] == '_' {
		i++
	}
	if i >= len(s) || !isLetter(s[i]) && !isDigit(s[i]) {
		return 0
	}
	for i < len(s) && isNameChar(s[i]) {
		i++
	}
	return i
}

func lookupKeyword(word string) (tokKind, bool) {
	var buf [24]byte
	if len(word) > len(buf) || word[0] == '$' || word[0] == '_' {
		return 0, false
	}
	for i := 0; i < len(word); i++ {
		c := word[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		buf[i] = c
	}
	kw, ok := keywords[string(buf[:len(word)])]
	return kw, ok
}

// notInLength: after the keyword NOT, the length of white space and the
// word IN that make it the NOT IN operator, or 0.
func notInLength(s string) int {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
		i++
	}
	if i == 0 || len(s) < i+2 || !strings.EqualFold(s[i:i+2], "in") || len(s) > i+2 && isNameChar(s[i+2]) {
		return 0
	}
	return i + 2
}

// quotedLength is the length of the quoted text at the start of s,
// delimiters included; a backslash escapes the next byte. ok is false when
// the closing delimiter is missing.
func quotedLength(s, delim string) (n int, ok bool) {
	for i := len(delim); i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if strings.HasPrefix(s[i:], delim) {
			return i + len(delim), true
		}
	}
	return 0, false
}

// unescape resolves the backslash escapes of a quoted string or name:
// \b \f \n \r \t, \uXXXX (with surrogate pairs), and any other escaped
// character stands for itself.
func unescape(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch c = s[i]; c {
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, ok := hex4(s[i+1:])
			if !ok {
				b.WriteByte('u')
				continue
			}
			i += 4
			if r >= 0xD800 && r < 0xDC00 && strings.HasPrefix(s[i+1:], "\\u") {
				if r2, ok := hex4(s[i+3:]); ok && r2 >= 0xDC00 && r2 < 0xE000 {
					r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
					i += 6
				}
			}
			b.WriteRune(r) // a lone surrogate becomes U+FFFD
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func hex4(s string) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	v, err := strconv.ParseUint(s[:4], 16, 32)
	if err != nil {
		return 0, false
	}
	return rune(v), true
}

// number lexes a number literal: decimal integers, 0x hexadecimal and 0b
// binary integers, and decimals with fraction and exponent (".5" too). The
// token's val is the canonical text of the value (see canonicalNumber).
func (l *lexer) number(rest string, mk func(tokKind, int, string) token) token {
	if len(rest) > 2 && rest[0] == '0' && (rest[1]|0x20 == 'x' || rest[1]|0x20 == 'b') {
		base, digits := 16, "0123456789abcdefABCDEF"
		if rest[1]|0x20 == 'b' {
			base, digits = 2, "01"
		}
		n := 2
		for n < len(rest) && strings.IndexByte(digits, rest[n]) >= 0 {
			n++
		}
		if n > 2 {
			v, err := strconv.ParseUint(rest[2:n], base, 64)
			if err != nil {
				return mk(tInvalid, n, "") // too large
			}
			if v > math.MaxInt64 {
				return mk(tInt, n, canonicalFloat(float64(v)))
			}
			return mk(tInt, n, strconv.FormatInt(int64(v), 10))
		}
	}
	n := 0
	if rest[0] == '0' {
		n = 1
	} else {
		for n < len(rest) && isDigit(rest[n]) {
			n++
		}
	}
	kind := tInt
	if n+1 < len(rest) && rest[n] == '.' && isDigit(rest[n+1]) {
		kind = tDouble
		n++
		for n < len(rest) && isDigit(rest[n]) {
			n++
		}
	}
	if n < len(rest) && rest[n]|0x20 == 'e' {
		m := n + 1
		if m < len(rest) && (rest[m] == '+' || rest[m] == '-') {
			m++
		}
		if m < len(rest) && isDigit(rest[m]) {
			kind = tDouble
			for m < len(rest) && isDigit(rest[m]) {
				m++
			}
			n = m
		}
	}
	text, ok := canonicalNumber(rest[:n])
	if !ok {
		return mk(tInvalid, n, "") // out of the range of a double
	}
	return mk(kind, n, text)
}

// canonicalNumber is the text a number literal is kept as: the decimal
// form of an integer that fits into int64, otherwise the shortest form of
// the double. ok is false for a number out of the range of a double.
func canonicalNumber(s string) (string, bool) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return strconv.FormatInt(i, 10), true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return "", false
	}
	return canonicalFloat(f), true
}

func canonicalFloat(f float64) string {
	return strconv.FormatFloat(f, 'g', -1, 64)
}
