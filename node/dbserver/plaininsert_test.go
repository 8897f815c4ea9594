package dbserver

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/arangomesos/arangomesos/node/dbserver/storage"
	"github.com/arangomesos/arangomesos/node/shardapi"
)

// TestInsertPlainMatchesDecoded: every insert either takes the general
// path, or stores what the general path would (but for _rev), with the
// same result.
func TestInsertPlainMatchesDecoded(t *testing.T) {
	open := func() *storage.Store {
		st, err := storage.Open(filepath.Join(t.TempDir(), "s.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	plainStore, decodedStore := open(), open()
	def := shardapi.WriteOptions{KeepNull: true, MergeObjects: true, IgnoreRevs: true}
	for _, tc := range []struct {
		name  string
		doc   string
		opts  shardapi.WriteOptions
		plain bool
	}{
		{"benchmark document", `{"_key":"a","name":"benchmark document","n":12345,"tags":["a","b","c"],"nested":{"x":1.5,"y":"z"}}`, def, true},
		{"empty", `{"_key":"b"}`, def, true},
		{"system attributes", `{"_id":"x/y","_key":"c","_rev":"_zzz","v":null,"Z":"<&>","u":"\u00e9"}`, def, true},
		{"returnNew", `{"_key":"d","a":[{"_key":"nested"}]}`, shardapi.WriteOptions{KeepNull: true, ReturnNew: true}, true},
		{"overwrite mode, new key", `{"_key":"e","a":1}`, shardapi.WriteOptions{KeepNull: true, OverwriteMode: "replace"}, true},
		{"existing key", `{"_key":"a","x":2}`, def, false},
		{"keepNull false", `{"_key":"f","a":null}`, shardapi.WriteOptions{}, false},
		{"not compact", `{"_key":"g", "a":1}`, def, false},
		{"duplicate names", `{"_key":"h","a":1,"a":2}`, def, false},
		{"no key", `{"a":1}`, def, false},
		{"bad key", `{"_key":"a/b"}`, def, false},
		{"escaped key", `{"_key":"\u0069"}`, def, false},
		{"not an object", `[1]`, def, false},
	} {
		req := &shardapi.WriteRequest{Collection: "c", Op: shardapi.OpInsert, Docs: []json.RawMessage{json.RawMessage(tc.doc)}, Options: tc.opts}
		var pres, dres shardapi.Result
		var pmut, dmut *shardapi.Mutation
		var ok bool
		if err := plainStore.Update(func(tx *storage.Tx) error {
			var err error
			pres, pmut, ok, err = insertPlain(tx, req, req.Docs[0], storage.NewClock(0))
			if !ok && err == nil {
				pres, pmut, err = executeDecoded(tx, req, req.Docs[0], storage.NewClock(0))
			}
			return err
		}); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if ok != tc.plain {
			t.Errorf("%s: plain %v, want %v", tc.name, ok, tc.plain)
		}
		if err := decodedStore.Update(func(tx *storage.Tx) error {
			var err error
			dres, dmut, err = executeDecoded(tx, req, req.Docs[0], storage.NewClock(0))
			return err
		}); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if pres.Rev != "" && pres.Rev != pmut.Rev.String() {
			t.Errorf("%s: result _rev %s, stored %s", tc.name, pres.Rev, pmut.Rev)
		}
		if !reflect.DeepEqual(withoutRev(pres), withoutRev(dres)) {
			t.Errorf("%s: result %+v, decoded path %+v", tc.name, pres, dres)
		}
		if (pmut == nil) != (dmut == nil) || pmut != nil && (pmut.Key != dmut.Key || !sameDoc(pmut.Doc, dmut.Doc)) {
			t.Errorf("%s: stores %s, decoded path %s", tc.name, docOf(pmut), docOf(dmut))
		}
		if ok && string(pmut.Doc[:8]) != `{"_key":` {
			t.Errorf("%s: %s does not start with _key", tc.name, pmut.Doc)
		}
	}
}

func withoutRev(r shardapi.Result) shardapi.Result {
	r.Rev, r.OldRev = "", ""
	if r.New != nil {
		r.New = json.RawMessage(decodeWithoutRev(r.New))
	}
	return r
}

func sameDoc(a, b []byte) bool { return decodeWithoutRev(a) == decodeWithoutRev(b) }

// decodeWithoutRev is a document's canonical encoding without _rev.
func decodeWithoutRev(doc []byte) string {
	var m map[string]any
	if json.Unmarshal(doc, &m) != nil {
		return "invalid: " + string(doc)
	}
	delete(m, "_rev")
	b, _ := json.Marshal(m)
	return string(b)
}

func docOf(m *shardapi.Mutation) string {
	if m == nil {
		return "nothing"
	}
	return string(m.Doc)
}
