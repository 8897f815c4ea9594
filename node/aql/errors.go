package aql

import (
	"fmt"
	"unicode/utf8"
)

// ArangoDB error numbers that this package returns (lib/Basics/errors.dat).
// Every one of them is answered with HTTP 400.
const (
	ErrNumCorruptedJSON             = 600  // ParseShardQuery: the body is not the JSON it should be
	ErrNumQueryParse                = 1501 // syntax error, or outside the supported subset
	ErrNumQueryEmpty                = 1502 // the query string is empty
	ErrNumQueryNumberOutOfRange     = 1504 // a LIMIT value that is not a non-negative number
	ErrNumBindParameterMissing      = 1551 // declared in the query, absent from the bind variables
	ErrNumBindParameterUndeclared   = 1552 // given in the bind variables, not used by the query
	ErrNumBindParameterInvalidValue = 1553 // a value of the wrong type, e.g. @@c bound to a number
)

// Error is a query error with ArangoDB's error number. Message is what
// ArangoDB puts into errorMessage, e.g. "AQL: syntax error, unexpected
// identifier near 'x' at position 1:21 (while parsing)". The HTTP status of
// every such error is 400 (see HTTPCode).
type Error struct {
	Num     int
	Message string
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// HTTPCode is the HTTP status ArangoDB answers with for e: always 400.
func (e *Error) HTTPCode() int { return 400 }

func queryError(num int, format string, args ...any) *Error {
	return &Error{Num: num, Message: "AQL: " + fmt.Sprintf(format, args...) + " (while parsing)"}
}

// snippetLength is how much of the query a syntax error quotes, as ArangoDB.
const snippetLength = 32

// syntaxError builds ArangoDB's parse error for the token t: what was
// unexpected, the query text from there on (at most 32 bytes, then "..."),
// and the 1-based line and byte column. hint, when not empty, says which
// AQL construct this server does not support.
func syntaxError(src string, t token, hint string) *Error {
	near := src[t.pos:]
	if len(near) > snippetLength {
		cut := snippetLength
		for cut > 0 && !utf8.RuneStart(near[cut]) {
			cut--
		}
		near = near[:cut] + "..."
	}
	msg := fmt.Sprintf("syntax error, unexpected %s near '%s' at position %d:%d", t.kind, near, t.line, t.col)
	if hint != "" {
		msg += "; " + hint
	}
	return queryError(ErrNumQueryParse, "%s", msg)
}
