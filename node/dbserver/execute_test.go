package dbserver

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/arangomesos/arangomesos/node/dbserver/storage"
	"github.com/arangomesos/arangomesos/node/shardapi"
)

func TestMergePatch(t *testing.T) {
	for _, tc := range []struct {
		name, doc, patch   string
		keepNull, mergeObj bool
		want               string
	}{
		{"set", `{"a":1}`, `{"b":2}`, true, true, `{"a":1,"b":2}`},
		{"keep null", `{"a":1}`, `{"a":null}`, true, true, `{"a":null}`},
		{"drop null", `{"a":1,"b":2}`, `{"a":null}`, false, true, `{"b":2}`},
		{"merge objects", `{"o":{"x":1,"y":2}}`, `{"o":{"y":3}}`, true, true, `{"o":{"x":1,"y":3}}`},
		{"replace objects", `{"o":{"x":1,"y":2}}`, `{"o":{"y":3}}`, true, false, `{"o":{"y":3}}`},
		{"nested null dropped", `{"o":{"x":1}}`, `{"o":{"x":null}}`, false, true, `{"o":{}}`},
		{"new object, nulls dropped", `{}`, `{"o":{"x":null,"y":1}}`, false, true, `{"o":{"y":1}}`},
	} {
		var doc, patch map[string]any
		_ = json.Unmarshal([]byte(tc.doc), &doc)
		_ = json.Unmarshal([]byte(tc.patch), &patch)
		got, _ := json.Marshal(mergePatch(doc, patch, tc.keepNull, tc.mergeObj))
		var a, b any
		_ = json.Unmarshal(got, &a)
		_ = json.Unmarshal([]byte(tc.want), &b)
		ga, _ := json.Marshal(a)
		gb, _ := json.Marshal(b)
		if string(ga) != string(gb) {
			t.Errorf("%s: got %s, want %s", tc.name, ga, gb)
		}
	}
}

// run executes one write on a fresh or given store and returns the result.
func run(t *testing.T, st *storage.Store, op shardapi.Op, doc string, opts shardapi.WriteOptions) shardapi.Result {
	t.Helper()
	req := &shardapi.WriteRequest{Collection: "c", Op: op, Docs: []json.RawMessage{json.RawMessage(doc)}, Options: opts}
	var res []shardapi.Result
	err := st.Update(func(tx *storage.Tx) error {
		var err error
		res, _, err = execute(tx, req, storage.NewClock(0))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return res[0]
}

func TestWriteSemantics(t *testing.T) {
	st, err := storage.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	def := shardapi.WriteOptions{KeepNull: true, MergeObjects: true, IgnoreRevs: true}
	first := run(t, st, shardapi.OpInsert, `{"_key":"a","x":1}`, def)
	if first.Error || first.ID != "c/a" || first.Rev == "" {
		t.Fatalf("insert: %+v", first)
	}
	for _, tc := range []struct {
		name    string
		op      shardapi.Op
		doc     string
		mode    string
		ifMatch string
		revs    bool // ignoreRevs=false
		num     int  // expected errorNum (0: success)
		code    int
	}{
		{"duplicate key", shardapi.OpInsert, `{"_key":"a"}`, "", "", false, 1210, 409},
		{"duplicate key, conflict mode", shardapi.OpInsert, `{"_key":"a"}`, "conflict", "", false, 1210, 409},
		{"overwrite ignore", shardapi.OpInsert, `{"_key":"a","x":9}`, "ignore", "", false, 0, 0},
		{"bad key", shardapi.OpInsert, `{"_key":"a/b"}`, "", "", false, 1221, 400},
		{"not an object", shardapi.OpInsert, `[1]`, "", "", false, 1227, 400},
		{"replace missing", shardapi.OpReplace, `{"_key":"zz"}`, "", "", false, 1202, 404},
		{"if-match mismatch", shardapi.OpUpdate, `{"_key":"a","y":1}`, "", "_gjDBOTu---", false, 1200, 412},
		{"_rev mismatch honoured", shardapi.OpReplace, `{"_key":"a","_rev":"_gjDBOTu---"}`, "", "", true, 1200, 412},
		{"_rev mismatch ignored", shardapi.OpUpdate, `{"_key":"a","_rev":"_gjDBOTu---","y":1}`, "", "", false, 0, 0},
		{"remove missing", shardapi.OpRemove, `{"_key":"zz"}`, "", "", false, 1202, 404},
	} {
		o := def
		o.OverwriteMode, o.IfMatch, o.IgnoreRevs = tc.mode, tc.ifMatch, !tc.revs
		r := run(t, st, tc.op, tc.doc, o)
		if tc.num == 0 && r.Error || tc.num != 0 && (r.ErrorNum != tc.num || r.Code != tc.code) {
			t.Errorf("%s: got %+v, want errorNum %d code %d", tc.name, r, tc.num, tc.code)
		}
		if tc.num == 1200 && r.Rev == "" {
			t.Errorf("%s: a 412 must carry the current _rev: %+v", tc.name, r)
		}
	}
	d, _, _ := st.Get("a")
	if string(d.Body) == "" || !json.Valid(d.Body) {
		t.Fatal("document lost")
	}
	var m map[string]any
	_ = json.Unmarshal(d.Body, &m)
	if m["x"] != float64(1) || m["y"] != float64(1) {
		t.Fatalf("ignore must not change, the ignored _rev update must apply: %v", m)
	}
	// overwriteMode replace and update, with returnOld/returnNew.
	o := def
	o.OverwriteMode, o.ReturnOld, o.ReturnNew = "update", true, true
	r := run(t, st, shardapi.OpInsert, `{"_key":"a","z":3}`, o)
	if r.Error || r.OldRev == "" || r.Old == nil || r.New == nil {
		t.Fatalf("overwrite update: %+v", r)
	}
	o.OverwriteMode = "replace"
	r = run(t, st, shardapi.OpInsert, `{"_key":"a","only":true}`, o)
	m = nil
	_ = json.Unmarshal(r.New, &m)
	if _, had := m["x"]; had || m["only"] != true {
		t.Fatalf("overwrite replace kept old attributes: %v", m)
	}
	// Shard keys must not change.
	o = def
	o.ShardKeys = []string{"country"}
	_ = run(t, st, shardapi.OpInsert, `{"_key":"s","country":"de"}`, def)
	if r := run(t, st, shardapi.OpUpdate, `{"_key":"s","country":"fr"}`, o); r.ErrorNum != 1469 {
		t.Fatalf("changing a shard key: %+v", r)
	}
	if r := run(t, st, shardapi.OpUpdate, `{"_key":"s","other":1}`, o); r.Error {
		t.Fatalf("update without the shard key: %+v", r)
	}
	if r := run(t, st, shardapi.OpReplace, `{"_key":"s","other":1}`, o); r.ErrorNum != 1469 {
		t.Fatalf("replace dropping a shard key: %+v", r)
	}
}

// FuzzExecute runs arbitrary document bodies through every write on the
// DBServer: no panic, and whatever is stored is a JSON object with its key.
func FuzzExecute(f *testing.F) {
	for _, s := range []string{`{"_key":"a","x":1}`, `{"_key":"a","o":{"p":null}}`, `[1]`, `"s"`, `{"_key":"é"}`,
		`{"_key":"a","_rev":"zzz"}`, `{`, `{"_key":"a","n":1e400}`} {
		f.Add([]byte(s))
	}
	st, err := storage.Open(filepath.Join(f.TempDir(), "s.db"))
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, op := range []shardapi.Op{shardapi.OpInsert, shardapi.OpUpdate, shardapi.OpReplace, shardapi.OpRemove} {
			req := &shardapi.WriteRequest{Collection: "c", Op: op, Docs: []json.RawMessage{body},
				Options: shardapi.WriteOptions{OverwriteMode: "update", KeepNull: false, MergeObjects: true}}
			_ = st.Update(func(tx *storage.Tx) error {
				_, _, err := execute(tx, req, storage.NewClock(0))
				return err
			})
		}
		_ = st.Scan(func(d storage.Doc) bool {
			var m map[string]any
			if json.Unmarshal(d.Body, &m) != nil || m["_key"] != d.Key {
				t.Fatalf("stored a bad document %q: %s", d.Key, d.Body)
			}
			return true
		})
	})
}
