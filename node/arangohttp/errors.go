package arangohttp

import (
	"errors"
	"fmt"
	"net/http"
)

// ArangoDB error numbers used by the project (lib/Basics/errors.dat).
const (
	ErrNumBadParameter               = 10
	ErrNumForbidden                  = 11
	ErrNumHTTPBadParameter           = 400
	ErrNumHTTPUnauthorized           = 401
	ErrNumHTTPForbidden              = 403
	ErrNumHTTPNotFound               = 404
	ErrNumHTTPMethodNotAllowed       = 405
	ErrNumHTTPNotAcceptable          = 406
	ErrNumHTTPPreconditionFailed     = 412
	ErrNumHTTPServiceUnavailable     = 503
	ErrNumHTTPCorruptedJSON          = 600
	ErrNumReadOnly                   = 1004
	ErrNumConflict                   = 1200
	ErrNumDocumentNotFound           = 1202
	ErrNumDataSourceNotFound         = 1203
	ErrNumDuplicateName              = 1207
	ErrNumIllegalName                = 1208
	ErrNumUniqueConstraintViolated   = 1210
	ErrNumIndexNotFound              = 1212
	ErrNumDocumentKeyBad             = 1221
	ErrNumDocumentKeyUnexpected      = 1222
	ErrNumDocumentTypeInvalid        = 1227
	ErrNumDatabaseNotFound           = 1228
	ErrNumDatabaseNameInvalid        = 1229
	ErrNumWriteConcernNotFulfilled   = 1429
	ErrNumClusterTimeout             = 1457
	ErrNumMustNotSpecifyKey          = 1466
	ErrNumNotAllShardingAttributes   = 1468
	ErrNumMustNotChangeShardingAttrs = 1469
	ErrNumClusterBackendUnavailable  = 1478
	ErrNumInsufficientDBServers      = 1487
	ErrNumLeaderRefusesReplication   = 1489
	ErrNumFollowerRefusesOperation   = 1490
	ErrNumLeaderResigned             = 1491
	ErrNumNotLeader                  = 1496
	ErrNumQueryEmpty                 = 1502
	ErrNumQueryParse                 = 1501
	ErrNumQueryBindParameterMissing  = 1551
	ErrNumCursorNotFound             = 1600
)

// Error is an error with an HTTP status and an ArangoDB error number. Extra
// holds additional top-level fields of the error body (ArangoDB puts _id,
// _key and _rev into 412 conflict bodies).
type Error struct {
	Code    int
	Num     int
	Message string
	Extra   map[string]any
	// Header holds extra response headers (e.g. x-arango-endpoint).
	Header http.Header
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s (HTTP %d, errorNum %d)", e.Message, e.Code, e.Num)
}

// Errorf builds an *Error.
func Errorf(code, num int, format string, args ...any) *Error {
	return &Error{Code: code, Num: num, Message: fmt.Sprintf(format, args...)}
}

// BadParameter is a 400 with errorNum 400, ArangoDB's answer to a request of
// the wrong shape.
func BadParameter(format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, ErrNumHTTPBadParameter, format, args...)
}

// NotFound is a 404 with errorNum 404.
func NotFound(format string, args ...any) *Error {
	return Errorf(http.StatusNotFound, ErrNumHTTPNotFound, format, args...)
}

// Unavailable is a 503 with errorNum 503.
func Unavailable(format string, args ...any) *Error {
	return Errorf(http.StatusServiceUnavailable, ErrNumHTTPServiceUnavailable, format, args...)
}

// Unauthorized is ArangoDB's answer to a request without valid credentials.
func Unauthorized() *Error {
	return Errorf(http.StatusUnauthorized, ErrNumForbidden, "not authorized to execute this request")
}

// AsError converts any error into an *Error: an *Error anywhere in the chain
// is returned as is; everything else is an internal error (500, errorNum 4).
func AsError(err error) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	return &Error{Code: http.StatusInternalServerError, Num: 4, Message: err.Error()}
}
