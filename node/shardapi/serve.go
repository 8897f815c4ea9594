package shardapi

import (
	"encoding"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/arangomesos/arangomesos/node/arangohttp"
)

// DecodeRequest decodes a request body read from r into v: in the binary
// encoding when r says so (a frame connection's binary request), else as
// JSON. A body that does not decode is a 400 (errorNum 600).
func DecodeRequest(r *http.Request, body []byte, v any) error {
	if r.Header.Get("Content-Type") == ContentTypeBinary {
		bu, ok := v.(encoding.BinaryUnmarshaler)
		if !ok {
			return arangohttp.BadParameter("no binary encoding for %s", r.URL.Path)
		}
		if err := bu.UnmarshalBinary(body); err != nil {
			return arangohttp.Errorf(http.StatusBadRequest, arangohttp.ErrNumHTTPCorruptedJSON, "invalid binary body: %v", err)
		}
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return arangohttp.Errorf(http.StatusBadRequest, arangohttp.ErrNumHTTPCorruptedJSON, "invalid JSON: %v", err)
	}
	return nil
}

// Answer writes v as the 200 answer to r: in the binary encoding when r
// came in it and v has one, else as JSON.
func Answer(w http.ResponseWriter, r *http.Request, v any) {
	if ba, ok := v.(encoding.BinaryAppender); ok && r.Header.Get("Content-Type") == ContentTypeBinary {
		b, err := ba.AppendBinary(nil)
		if err != nil {
			arangohttp.WriteError(w, fmt.Errorf("encode answer: %w", err))
			return
		}
		w.Header().Set("Content-Type", ContentTypeBinary)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b)
		return
	}
	arangohttp.WriteJSON(w, http.StatusOK, v)
}
