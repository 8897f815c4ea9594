package coordinator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/arangomesos/arangomesos/node/arangohttp"
	"github.com/arangomesos/arangomesos/node/cluster"
	"github.com/arangomesos/arangomesos/node/shardapi"
)

// docItem is one document of a request on its way to its shard.
type docItem struct {
	raw   json.RawMessage // what the shard gets, with _key set
	key   string
	shard string // "" sends it to every shard (custom shard keys, key only)
	res   *shardapi.Result
	// passed: an insert whose document goes to its shard as the client
	// sent it (with _key added if it had none), not decoded (passKey).
	passed bool
}

func itemError(code, num int, msg string) *shardapi.Result {
	return &shardapi.Result{Error: true, Code: code, ErrorNum: num, ErrorMessage: msg}
}

// writeOptions reads the document API's query parameters.
func writeOptions(r *http.Request, c *cluster.PlanCollection) shardapi.WriteOptions {
	o := shardapi.WriteOptions{
		WaitForSync: boolParam(r, "waitForSync", c.WaitForSync), ReturnNew: boolParam(r, "returnNew", false),
		ReturnOld: boolParam(r, "returnOld", false), KeepNull: boolParam(r, "keepNull", true),
		MergeObjects: boolParam(r, "mergeObjects", true), IgnoreRevs: boolParam(r, "ignoreRevs", true),
		OverwriteMode: r.URL.Query().Get("overwriteMode"),
	}
	if o.OverwriteMode == "" && boolParam(r, "overwrite", false) {
		o.OverwriteMode = "replace"
	}
	for _, k := range c.ShardKeys {
		if k != "_key" {
			o.ShardKeys = append(o.ShardKeys, k)
		}
	}
	return o
}

// unquote strips the quotes of an ETag value ("_rev" or _rev).
func unquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

// decodeDoc decodes one document of a request.
func decodeDoc(raw json.RawMessage) (map[string]any, *shardapi.Result) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, itemError(http.StatusBadRequest, arangohttp.ErrNumHTTPCorruptedJSON, "invalid JSON")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, itemError(http.StatusBadRequest, arangohttp.ErrNumDocumentTypeInvalid, "invalid document type")
	}
	if err := arangohttp.CheckNumbers(m); err != nil {
		return nil, itemError(http.StatusBadRequest, arangohttp.ErrNumHTTPCorruptedJSON, arangohttp.AsError(err).Message)
	}
	return m, nil
}

// prepare validates a request's documents, sets their keys (generating
// keys for inserts without one, so retries reuse them) and finds their
// shards. urlKey is the key of a single-document path ("" for batches).
func (s *Server) prepare(ctx context.Context, c *cluster.PlanCollection, op shardapi.Op, docs []json.RawMessage, urlKey string) ([]*docItem, error) {
	items := make([]*docItem, len(docs))
	var needKeys []int
	maps := make([]map[string]any, len(docs))
	passInserts := op == shardapi.OpInsert && urlKey == "" && defaultSharding(c)
	for i, raw := range docs {
		it := &docItem{}
		items[i] = it
		if passInserts {
			if key, hasKey, ok := passKey(raw, c); ok {
				it.passed = true
				if !hasKey {
					needKeys = append(needKeys, i)
				} else {
					it.key, it.raw = key, raw
				}
				continue
			}
		}
		var m map[string]any
		if op == shardapi.OpRemove && len(bytes.TrimSpace(raw)) > 0 && bytes.TrimSpace(raw)[0] == '"' {
			var k string
			if json.Unmarshal(raw, &k) != nil {
				it.res = itemError(http.StatusBadRequest, arangohttp.ErrNumDocumentKeyBad, "illegal document key")
				continue
			}
			m = map[string]any{"_key": k}
		} else {
			var bad *shardapi.Result
			if m, bad = decodeDoc(raw); bad != nil {
				it.res = bad
				continue
			}
		}
		maps[i] = m
		key, hasKey := m["_key"]
		if urlKey != "" {
			key, hasKey = urlKey, true
		}
		if op == shardapi.OpRemove {
			// Accept "collection/key" and _id selectors too.
			if ks, ok := key.(string); ok {
				if _, after, found := strings.Cut(ks, "/"); found {
					key = after
				}
			} else if id, ok := m["_id"].(string); ok && !hasKey {
				_, after, _ := strings.Cut(id, "/")
				key, hasKey = after, true
			}
		}
		switch {
		case op == shardapi.OpInsert && hasKey && !defaultSharding(c):
			it.res = itemError(http.StatusBadRequest, arangohttp.ErrNumMustNotSpecifyKey, "must not specify _key for this collection")
			continue
		case op == shardapi.OpInsert && hasKey && !c.KeyOptions.AllowUserKeys:
			it.res = itemError(http.StatusBadRequest, arangohttp.ErrNumDocumentKeyUnexpected, "collection does not allow using user-defined keys")
			continue
		case op == shardapi.OpInsert && !hasKey:
			needKeys = append(needKeys, i)
			continue
		case !hasKey:
			it.res = itemError(http.StatusBadRequest, arangohttp.ErrNumDocumentKeyBad, "illegal document key")
			continue
		}
		ks, ok := key.(string)
		if !ok || cluster.ValidateKey(ks) != nil {
			it.res = itemError(http.StatusBadRequest, arangohttp.ErrNumDocumentKeyBad, "illegal document key")
			continue
		}
		it.key = ks
	}
	if len(needKeys) > 0 {
		keys, err := s.ids.Keys(ctx, len(needKeys))
		if err != nil {
			return nil, err
		}
		for j, i := range needKeys {
			items[i].key = keys[j]
		}
	}
	for i, it := range items {
		if it.res != nil {
			continue
		}
		if it.passed {
			if it.raw == nil {
				it.raw = withKey(docs[i], it.key)
			}
			it.shard, _ = shardOf(c, it.key, nil)
			continue
		}
		m := maps[i]
		m["_key"] = it.key
		raw, err := json.Marshal(m)
		if err != nil {
			it.res = itemError(http.StatusBadRequest, arangohttp.ErrNumDocumentTypeInvalid, "invalid document")
			continue
		}
		it.raw = raw
		shard, complete := shardOf(c, it.key, m)
		switch {
		case defaultSharding(c) || op == shardapi.OpInsert:
			it.shard = shard
		case complete && op == shardapi.OpRemove:
			it.shard = shard
		default:
			it.shard = "" // ask every shard; the one holding the key answers
		}
	}
	return items, nil
}

// dispatchWrite sends the prepared documents to their shards' leaders,
// one request per shard in parallel, each with its own operation id (kept
// across retries), and fills in each item's result.
func (s *Server) dispatchWrite(ctx context.Context, db string, c *cluster.PlanCollection, op shardapi.Op, opts shardapi.WriteOptions, items []*docItem) error {
	byShard := map[string][]*docItem{}
	var fanout []*docItem
	for _, it := range items {
		if it.res != nil {
			continue
		}
		if it.shard == "" {
			fanout = append(fanout, it)
			continue
		}
		byShard[it.shard] = append(byShard[it.shard], it)
	}
	fanResults := map[*docItem][]shardapi.Result{}
	if len(fanout) > 0 {
		for _, name := range c.ShardNames() {
			byShard[name] = append(byShard[name], fanout...)
		}
	}
	var mu sync.Mutex
	err := parallel(byShard, func(shard string, its []*docItem) error {
		docs := make([]json.RawMessage, len(its))
		for i, it := range its {
			docs[i] = it.raw
		}
		results, err := s.shardWrite(ctx, db, c, shard, op, opts, docs)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for i, it := range its {
			r := results[i]
			if it.shard == "" {
				fanResults[it] = append(fanResults[it], r)
			} else {
				it.res = &r
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for it, results := range fanResults {
		chosen := results[0]
		for _, r := range results {
			if !r.Error || r.ErrorNum != arangohttp.ErrNumDocumentNotFound {
				chosen = r
				break
			}
		}
		it.res = &chosen
	}
	return nil
}

// resultBody is a result as the client sees it: the meta data (with
// new/old) or the error object.
func resultBody(r *shardapi.Result) map[string]any {
	if r.Error {
		m := map[string]any{"error": true, "errorNum": r.ErrorNum, "errorMessage": r.ErrorMessage, "code": r.Code}
		if r.Rev != "" {
			m["_id"], m["_key"], m["_rev"] = r.ID, r.Key, r.Rev
		}
		return m
	}
	m := map[string]any{"_id": r.ID, "_key": r.Key, "_rev": r.Rev}
	if r.OldRev != "" {
		m["_oldRev"] = r.OldRev
	}
	if r.New != nil {
		m["new"] = r.New
	}
	if r.Old != nil {
		m["old"] = r.Old
	}
	return m
}

func resultError(r *shardapi.Result) *arangohttp.Error {
	e := &arangohttp.Error{Code: r.Code, Num: r.ErrorNum, Message: r.ErrorMessage}
	if e.Code == 0 {
		e.Code = http.StatusBadRequest
	}
	if r.Rev != "" {
		e.Extra = map[string]any{"_id": r.ID, "_key": r.Key, "_rev": r.Rev}
	}
	return e
}

// readDocs reads a request body: one document (single) or an array.
func (s *Server) readDocs(w http.ResponseWriter, r *http.Request) ([]json.RawMessage, bool, bool) {
	body, err := arangohttp.ReadBody(r, s.cfg.BodyLimit)
	if err != nil {
		arangohttp.WriteError(w, err)
		return nil, false, false
	}
	var v json.RawMessage
	if err := arangohttp.Decode(body, &v); err != nil {
		arangohttp.WriteError(w, err)
		return nil, false, false
	}
	v = bytes.TrimSpace(v)
	if len(v) > 0 && v[0] == '[' {
		var arr []json.RawMessage
		if err := json.Unmarshal(v, &arr); err != nil {
			arangohttp.WriteError(w, arangohttp.Errorf(http.StatusBadRequest, arangohttp.ErrNumHTTPCorruptedJSON, "invalid JSON: %v", err))
			return nil, false, false
		}
		return arr, true, true
	}
	return []json.RawMessage{v}, false, true
}

// handleWrite serves the document writes: POST (insert), PUT (replace),
// PATCH (update) and DELETE (remove), single (with a key in the path, or
// an object body) and batch (array body).
func (s *Server) handleWrite(op shardapi.Op) func(w http.ResponseWriter, r *http.Request, c *cluster.PlanCollection) {
	return func(w http.ResponseWriter, r *http.Request, c *cluster.PlanCollection) {
		urlKey := r.PathValue("key")
		var docs []json.RawMessage
		batch := false
		if op == shardapi.OpRemove && urlKey != "" {
			docs = []json.RawMessage{json.RawMessage(`{}`)}
		} else {
			var ok bool
			if docs, batch, ok = s.readDocs(w, r); !ok {
				return
			}
		}
		if urlKey == "" && !batch && op != shardapi.OpInsert {
			// PUT/PATCH/DELETE on the collection path need an array.
			arangohttp.WriteError(w, arangohttp.BadParameter("expecting an array of documents"))
			return
		}
		if !batch && op != shardapi.OpInsert && cluster.ValidateKey(urlKey) != nil {
			arangohttp.WriteError(w, arangohttp.Errorf(http.StatusBadRequest, arangohttp.ErrNumDocumentKeyBad, "illegal document key"))
			return
		}
		opts := writeOptions(r, c)
		if !batch {
			if im := r.Header.Get("If-Match"); im != "" {
				opts.IfMatch = unquote(im)
			}
		}
		db := Database(r)
		items, err := s.prepare(r.Context(), c, op, docs, urlKey)
		if err == nil {
			err = s.dispatchWrite(r.Context(), db, c, op, opts, items)
		}
		if err != nil {
			arangohttp.WriteError(w, err)
			return
		}
		status := http.StatusAccepted
		if opts.WaitForSync {
			status = http.StatusCreated
			if op == shardapi.OpRemove {
				status = http.StatusOK
			}
		}
		silent := boolParam(r, "silent", false)
		if !batch {
			res := items[0].res
			if res.Error {
				arangohttp.WriteError(w, resultError(res))
				return
			}
			w.Header().Set("Etag", `"`+res.Rev+`"`)
			if op != shardapi.OpRemove {
				w.Header().Set("Location", "/_db/"+db+"/_api/document/"+c.Name+"/"+res.Key)
			}
			if silent {
				arangohttp.WriteJSON(w, status, map[string]any{})
				return
			}
			arangohttp.WriteJSON(w, status, resultBody(res))
			return
		}
		out := make([]any, 0, len(items))
		codes := map[string]int{}
		for _, it := range items {
			if it.res.Error {
				codes[fmt.Sprint(it.res.ErrorNum)]++
			} else if silent {
				continue
			}
			out = append(out, resultBody(it.res))
		}
		if len(codes) > 0 {
			b, _ := json.Marshal(codes)
			w.Header().Set("X-Arango-Error-Codes", string(b))
		}
		arangohttp.WriteJSON(w, status, out)
	}
}

// readKeys reads documents by key from their shards' leaders; the result
// holds nil for a missing document.
func (s *Server) readKeys(ctx context.Context, db string, c *cluster.PlanCollection, keys []string) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, len(keys))
	byShard := map[string][]int{}
	for i, k := range keys {
		if defaultSharding(c) {
			shard, _ := shardOf(c, k, nil)
			byShard[shard] = append(byShard[shard], i)
			continue
		}
		for _, shard := range c.ShardNames() {
			byShard[shard] = append(byShard[shard], i)
		}
	}
	var mu sync.Mutex
	err := parallel(byShard, func(shard string, idx []int) error {
		req := shardapi.ReadRequest{Keys: make([]string, len(idx))}
		for j, i := range idx {
			req.Keys[j] = keys[i]
		}
		var resp shardapi.ReadResponse
		if err := s.onLeader(ctx, db, c, shard, func(ctx context.Context, ep string) error {
			return s.client.Call(ctx, ep, http.MethodPost, shardapi.Path(shardapi.PathRead, shard), nil, req, &resp)
		}); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for j, i := range idx {
			if j < len(resp.Docs) && resp.Docs[j] != nil && string(resp.Docs[j]) != "null" {
				out[i] = resp.Docs[j]
			}
		}
		return nil
	})
	return out, err
}

// handleRead serves GET and HEAD of one document, with If-Match and
// If-None-Match.
func (s *Server) handleRead(w http.ResponseWriter, r *http.Request, c *cluster.PlanCollection) {
	key := r.PathValue("key")
	head := r.Method == http.MethodHead
	fail := func(e *arangohttp.Error) {
		if head {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(e.Code)
			return
		}
		arangohttp.WriteError(w, e)
	}
	if cluster.ValidateKey(key) != nil {
		fail(arangohttp.Errorf(http.StatusNotFound, arangohttp.ErrNumDocumentNotFound, "document not found"))
		return
	}
	docs, err := s.readKeys(r.Context(), Database(r), c, []string{key})
	if err != nil {
		fail(arangohttp.AsError(err))
		return
	}
	doc := docs[0]
	if doc == nil {
		fail(arangohttp.Errorf(http.StatusNotFound, arangohttp.ErrNumDocumentNotFound, "document not found"))
		return
	}
	var meta struct {
		ID  string `json:"_id"`
		Rev string `json:"_rev"`
	}
	_ = json.Unmarshal(doc, &meta)
	w.Header().Set("Etag", `"`+meta.Rev+`"`)
	if inm := r.Header.Get("If-None-Match"); inm != "" && unquote(inm) == meta.Rev {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if im := r.Header.Get("If-Match"); im != "" && unquote(im) != meta.Rev {
		e := arangohttp.Errorf(http.StatusPreconditionFailed, arangohttp.ErrNumConflict, "conflict, _rev values do not match")
		e.Extra = map[string]any{"_id": meta.ID, "_key": key, "_rev": meta.Rev}
		fail(e)
		return
	}
	if head {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		return
	}
	arangohttp.WriteRaw(w, http.StatusOK, doc)
}

// handleReadMany serves PUT /_api/document/{collection}?onlyget=true: keys
// or {"_key":…} objects in, documents or per-element errors out.
func (s *Server) handleReadMany(w http.ResponseWriter, r *http.Request, c *cluster.PlanCollection) {
	docs, batch, ok := s.readDocs(w, r)
	if !ok {
		return
	}
	if !batch {
		arangohttp.WriteError(w, arangohttp.BadParameter("expecting an array of keys or documents"))
		return
	}
	keys := make([]string, len(docs))
	bad := make([]bool, len(docs))
	for i, raw := range docs {
		var k string
		if json.Unmarshal(raw, &k) != nil {
			var m struct {
				Key string `json:"_key"`
			}
			if json.Unmarshal(raw, &m) != nil {
				bad[i] = true
				continue
			}
			k = m.Key
		}
		if _, after, found := strings.Cut(k, "/"); found {
			k = after
		}
		if cluster.ValidateKey(k) != nil {
			bad[i] = true
			continue
		}
		keys[i] = k
	}
	var good []string
	for i, k := range keys {
		if !bad[i] {
			good = append(good, k)
		}
	}
	found, err := s.readKeys(r.Context(), Database(r), c, good)
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	out := make([]any, len(docs))
	codes := map[string]int{}
	j := 0
	for i := range docs {
		if bad[i] {
			out[i] = map[string]any{"error": true, "errorNum": arangohttp.ErrNumDocumentKeyBad, "errorMessage": "illegal document key", "code": 400}
			codes[fmt.Sprint(arangohttp.ErrNumDocumentKeyBad)]++
			continue
		}
		if found[j] == nil {
			out[i] = map[string]any{"error": true, "errorNum": arangohttp.ErrNumDocumentNotFound, "errorMessage": "document not found", "code": 404, "_key": keys[i]}
			codes[fmt.Sprint(arangohttp.ErrNumDocumentNotFound)]++
		} else {
			out[i] = found[j]
		}
		j++
	}
	if len(codes) > 0 {
		b, _ := json.Marshal(codes)
		w.Header().Set("X-Arango-Error-Codes", string(b))
	}
	arangohttp.WriteJSON(w, http.StatusOK, out)
}
