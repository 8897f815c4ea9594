package coordinator

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/arangomesos/arangomesos/node/arangohttp"
	"github.com/arangomesos/arangomesos/node/shardapi"
)

// importLines splits an import body into documents: type "documents" is
// one JSON value per line (JSON lines; empty lines are counted), "array"
// one JSON array, "auto" either, by the first character.
func importLines(body []byte, typ string) ([]json.RawMessage, int, error) {
	trimmed := bytes.TrimSpace(body)
	if typ == "auto" || typ == "" {
		typ = "documents"
		if len(trimmed) > 0 && trimmed[0] == '[' {
			typ = "array"
		}
	}
	switch typ {
	case "array", "list":
		var arr []json.RawMessage
		if err := arangohttp.Decode(trimmed, &arr); err != nil {
			return nil, 0, err
		}
		return arr, 0, nil
	case "documents":
		var docs []json.RawMessage
		empty := 0
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(make([]byte, 1<<20), len(body)+1)
		for sc.Scan() {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 {
				empty++
				continue
			}
			docs = append(docs, append(json.RawMessage(nil), line...))
		}
		if err := sc.Err(); err != nil {
			return nil, 0, arangohttp.BadParameter("cannot read import body: %v", err)
		}
		return docs, empty, nil
	}
	return nil, 0, arangohttp.BadParameter("invalid value for 'type': %q", typ)
}

// handleImport serves POST /_api/import (go-driver sends JSON lines as
// text/plain): every document is inserted as by a batch insert, with
// onDuplicate choosing the overwrite mode.
func (s *Server) handleImport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c, err := s.collection(r.Context(), Database(r), q.Get("collection"))
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	body, err := arangohttp.ReadBody(r, 4*s.cfg.BodyLimit)
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	docs, empty, err := importLines(body, q.Get("type"))
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	opts := writeOptions(r, c)
	opts.ReturnNew, opts.ReturnOld = false, false
	switch q.Get("onDuplicate") {
	case "", "error":
		opts.OverwriteMode = "conflict"
	case "update", "replace", "ignore":
		opts.OverwriteMode = q.Get("onDuplicate")
	default:
		arangohttp.WriteError(w, arangohttp.BadParameter("invalid value for 'onDuplicate'"))
		return
	}
	if boolParam(r, "overwrite", false) {
		s.handleTruncate(discardWriter{}, r, c)
	}
	items, err := s.prepare(r.Context(), c, shardapi.OpInsert, docs, "")
	if err == nil {
		err = s.dispatchWrite(r.Context(), Database(r), c, shardapi.OpInsert, opts, items)
	}
	if err != nil {
		arangohttp.WriteError(w, err)
		return
	}
	var created, errs, updated, ignored int
	var details []string
	var first *arangohttp.Error
	for i, it := range items {
		switch res := it.res; {
		case res.Error:
			errs++
			if first == nil {
				first = resultError(res)
			}
			details = append(details, fmt.Sprintf("at position %d: creating document failed with error '%s', offending document: %s",
				i+1, res.ErrorMessage, string(docs[i])))
		case res.Unchanged:
			ignored++
		case res.OldRev != "":
			updated++
		default:
			created++
		}
	}
	if first != nil && boolParam(r, "complete", false) {
		arangohttp.WriteError(w, first)
		return
	}
	out := map[string]any{"error": false, "created": created, "errors": errs, "empty": empty, "updated": updated, "ignored": ignored}
	if boolParam(r, "details", false) {
		if details == nil {
			details = []string{}
		}
		out["details"] = details
	}
	arangohttp.WriteJSON(w, http.StatusCreated, out)
}

// discardWriter swallows an answer (truncate before an import).
type discardWriter struct{}

func (discardWriter) Header() http.Header         { return http.Header{} }
func (discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (discardWriter) WriteHeader(int)             {}
