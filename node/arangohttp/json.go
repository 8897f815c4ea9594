package arangohttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
)

// DefaultBodyLimit bounds request bodies unless a handler asks otherwise.
const DefaultBodyLimit = 64 << 20

// MaxDepth bounds the nesting of JSON values accepted from clients.
const MaxDepth = 64

// WriteJSON answers with status and v encoded as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		WriteError(w, fmt.Errorf("encode response: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// WriteRaw answers with status and an already encoded JSON body.
func WriteRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// WriteError answers with ArangoDB's error body for err.
func WriteError(w http.ResponseWriter, err error) {
	ae := AsError(err)
	if ae.Code >= 500 && ae.Num == 4 {
		slog.Error("internal error", "err", err)
	}
	body := map[string]any{"error": true, "code": ae.Code, "errorNum": ae.Num, "errorMessage": ae.Message}
	for k, v := range ae.Extra {
		body[k] = v
	}
	for k, vs := range ae.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	WriteJSON(w, ae.Code, body)
}

// MemoryBody is a request body that is in memory already (a frame's):
// ReadBody returns Data instead of copying it.
type MemoryBody struct {
	*bytes.Reader
	Data []byte
}

// Close does nothing.
func (MemoryBody) Close() error { return nil }

// ReadBody reads the whole request body, refusing more than limit bytes with
// a 400 (errorNum 400) that names the limit.
func ReadBody(r *http.Request, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultBodyLimit
	}
	if mb, ok := r.Body.(*MemoryBody); ok && mb.Reader.Len() == len(mb.Data) {
		if int64(len(mb.Data)) > limit {
			return nil, BadParameter("request body too large: limit is %d bytes", limit)
		}
		_, _ = mb.Reader.Seek(0, io.SeekEnd)
		return mb.Data, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, BadParameter("cannot read request body: %v", err)
	}
	if int64(len(body)) > limit {
		return nil, BadParameter("request body too large: limit is %d bytes", limit)
	}
	return body, nil
}

// Decode parses body as one JSON value into v. Numbers are kept as
// json.Number when v is an *any. Empty bodies, trailing data, invalid JSON and
// values nested deeper than MaxDepth are 400 errors with errorNum 600.
func Decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return Errorf(http.StatusBadRequest, ErrNumHTTPCorruptedJSON, "invalid JSON: empty body")
	}
	if err := CheckDepth(body, MaxDepth); err != nil {
		return Errorf(http.StatusBadRequest, ErrNumHTTPCorruptedJSON, "invalid JSON: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return Errorf(http.StatusBadRequest, ErrNumHTTPCorruptedJSON, "invalid JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Errorf(http.StatusBadRequest, ErrNumHTTPCorruptedJSON, "invalid JSON: trailing data after the value")
	}
	return nil
}

// CheckDepth reports an error when the JSON text nests arrays and objects
// deeper than max. It only counts brackets outside strings, so it is cheap
// and safe to run before a full decode.
func CheckDepth(body []byte, max int) error {
	depth, inString, escaped := 0, false, false
	for _, c := range body {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '[' || c == '{':
			depth++
			if depth > max {
				return fmt.Errorf("nested deeper than %d levels", max)
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return nil
}

// CheckNumbers fails when a decoded value (numbers as json.Number) holds a
// number outside the range of a float64, such as 1e400: ArangoDB refuses
// those with 600, and they could not be stored or compared.
func CheckNumbers(v any) error {
	switch t := v.(type) {
	case json.Number:
		if _, err := t.Float64(); err != nil {
			return Errorf(http.StatusBadRequest, ErrNumHTTPCorruptedJSON, "invalid JSON: number out of range: %s", t)
		}
	case map[string]any:
		for _, e := range t {
			if err := CheckNumbers(e); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range t {
			if err := CheckNumbers(e); err != nil {
				return err
			}
		}
	}
	return nil
}
