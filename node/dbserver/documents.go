package dbserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"

	"github.com/arangomesos/arangomesos/node/arangohttp"
	"github.com/arangomesos/arangomesos/node/dbserver/storage"
	"github.com/arangomesos/arangomesos/node/shardapi"
)

// The document semantics of ArangoDB's document API, as pure functions of
// the stored document and the request: what a write produces, or which
// error it gets. The leader calls them inside its write transaction.

// docError is the per-document error of a batch.
func docError(code, num int, format string, args ...any) shardapi.Result {
	return shardapi.Result{Error: true, Code: code, ErrorNum: num, ErrorMessage: fmt.Sprintf(format, args...)}
}

func errNotFound() shardapi.Result {
	return docError(http.StatusNotFound, arangohttp.ErrNumDocumentNotFound, "document not found")
}

func errRevConflict(id, key string, rev storage.Rev) shardapi.Result {
	r := docError(http.StatusPreconditionFailed, arangohttp.ErrNumConflict, "conflict, _rev values do not match")
	r.ID, r.Key, r.Rev = id, key, rev.String()
	return r
}

func errUniqueKey(key string) shardapi.Result {
	return docError(http.StatusConflict, arangohttp.ErrNumUniqueConstraintViolated,
		"unique constraint violated - in index primary of type primary over '_key'; conflicting key: %s", key)
}

// decodeObject decodes a document; anything but a JSON object is 1227.
func decodeObject(raw []byte) (map[string]any, *shardapi.Result) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		r := docError(http.StatusBadRequest, arangohttp.ErrNumHTTPCorruptedJSON, "invalid JSON: %v", err)
		return nil, &r
	}
	m, ok := v.(map[string]any)
	if !ok {
		r := docError(http.StatusBadRequest, arangohttp.ErrNumDocumentTypeInvalid, "invalid document type")
		return nil, &r
	}
	if err := arangohttp.CheckNumbers(m); err != nil {
		r := docError(http.StatusBadRequest, arangohttp.ErrNumHTTPCorruptedJSON, "%s", err.(*arangohttp.Error).Message)
		return nil, &r
	}
	return m, nil
}

// stripSystem removes the attributes the server sets.
func stripSystem(m map[string]any) {
	delete(m, "_key")
	delete(m, "_id")
	delete(m, "_rev")
}

// finish sets the system attributes and encodes the stored body.
func finish(m map[string]any, id, key string, rev storage.Rev) ([]byte, error) {
	m["_key"], m["_id"], m["_rev"] = key, id, rev.String()
	return json.Marshal(m)
}

// revOf returns the _rev a request document carries ("" if none).
func revOf(m map[string]any) string {
	s, _ := m["_rev"].(string)
	return s
}

// revMatches reports whether a client revision names the stored one.
func revMatches(client string, stored storage.Rev) bool {
	r, err := storage.ParseRev(client)
	return err == nil && r == stored
}

// shardKeysChanged reports whether new changes a shard key of old (a
// missing attribute counts as null).
func shardKeysChanged(keys []string, old, new map[string]any, patch bool) bool {
	for _, k := range keys {
		if k == "_key" {
			continue
		}
		nv, inNew := new[k]
		if patch && !inNew {
			continue
		}
		if !reflect.DeepEqual(normalize(old[k]), normalize(nv)) {
			return true
		}
	}
	return false
}

// normalize makes numbers comparable across encodings (1 and 1.0).
func normalize(v any) any {
	switch t := v.(type) {
	case json.Number:
		f, err := t.Float64()
		if err != nil {
			return t.String()
		}
		return f
	case map[string]any:
		c := make(map[string]any, len(t))
		for k, e := range t {
			c[k] = normalize(e)
		}
		return c
	case []any:
		c := make([]any, len(t))
		for i, e := range t {
			c[i] = normalize(e)
		}
		return c
	}
	return v
}

// mergePatch applies an update's patch to a document: keepNull false
// removes attributes set to null; mergeObjects merges nested objects
// instead of replacing them.
func mergePatch(doc, patch map[string]any, keepNull, mergeObjects bool) map[string]any {
	for k, v := range patch {
		if v == nil && !keepNull {
			delete(doc, k)
			continue
		}
		if pm, ok := v.(map[string]any); ok && mergeObjects {
			if dm, ok := doc[k].(map[string]any); ok {
				doc[k] = mergePatch(dm, pm, keepNull, mergeObjects)
				continue
			}
			if !keepNull {
				v = mergePatch(map[string]any{}, pm, keepNull, mergeObjects)
			}
		}
		doc[k] = v
	}
	return doc
}
