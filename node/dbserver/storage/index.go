package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/tidwall/buntdb"
)

// Persistent indexes are kept as entries in the shard's buntdb tree, updated
// in the same transaction as the documents:
//
//	unique:     i/<id>/<encoded values>           → _key
//	non-unique: i/<id>/<encoded values>\x00<_key>  → _key
//
// A sparse index leaves out documents where any indexed attribute is null or
// missing; a non-sparse one indexes them with null (so a non-sparse unique
// index allows one document without the attribute, as ArangoDB does).

// indexValues returns the encoded values of ix's fields in doc, and false
// when a sparse index skips the document.
func indexValues(ix IndexDef, doc map[string]any) (string, bool) {
	var b strings.Builder
	for _, f := range ix.Fields {
		v, ok := lookupPath(doc, f)
		if !ok || v == nil {
			if ix.Sparse {
				return "", false
			}
			v = nil
		}
		encodeValue(&b, v)
		b.WriteByte('|')
	}
	return b.String(), true
}

// lookupPath resolves an attribute path such as "a.b.c".
func lookupPath(doc map[string]any, path string) (any, bool) {
	var cur any = doc
	for _, p := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// encodeValue writes a canonical form of a JSON value: equal values (1 and
// 1.0 too) encode alike.
func encodeValue(b *strings.Builder, v any) {
	switch t := v.(type) {
	case nil:
		b.WriteString("n")
	case bool:
		if t {
			b.WriteString("t")
		} else {
			b.WriteString("f")
		}
	case float64:
		if t == 0 || math.IsNaN(t) {
			t = 0
		}
		b.WriteString("d" + strconv.FormatFloat(t, 'g', -1, 64))
	case json.Number:
		f, _ := t.Float64()
		encodeValue(b, f)
	case string:
		b.WriteString("s" + strconv.Quote(t))
	default:
		j, _ := json.Marshal(t) // arrays and objects: encoding/json sorts object keys
		b.WriteString("j")
		b.Write(j)
	}
}

func entryKey(ix IndexDef, vals, key string) string {
	if ix.Unique {
		return indexPrefix + ix.ID + "/" + vals
	}
	return indexPrefix + ix.ID + "/" + vals + "\x00" + key
}

func (t *Tx) reindex(ix IndexDef, key string, oldDoc map[string]any, had bool, newDoc map[string]any, force bool) error {
	newVals, newOK := indexValues(ix, newDoc)
	if had {
		oldVals, oldOK := indexValues(ix, oldDoc)
		if oldOK && newOK && oldVals == newVals {
			return nil
		}
		if oldOK {
			if err := t.removeEntry(ix, oldVals, key); err != nil {
				return err
			}
		}
	}
	if !newOK {
		return nil
	}
	ek := entryKey(ix, newVals, key)
	if ix.Unique && !force {
		if other, err := t.tx.Get(ek); err == nil && other != key {
			return &UniqueError{Index: ix.Name, Fields: ix.Fields, ConflictKey: other}
		}
	}
	_, _, err := t.tx.Set(ek, key, nil)
	return err
}

func (t *Tx) unindex(ix IndexDef, key string, oldDoc map[string]any) error {
	vals, ok := indexValues(ix, oldDoc)
	if !ok {
		return nil
	}
	return t.removeEntry(ix, vals, key)
}

// removeEntry deletes key's entry; a unique entry that another document has
// taken over (force) stays.
func (t *Tx) removeEntry(ix IndexDef, vals, key string) error {
	ek := entryKey(ix, vals, key)
	if ix.Unique {
		if cur, err := t.tx.Get(ek); err != nil || cur != key {
			return nil
		}
	}
	if _, err := t.tx.Delete(ek); err != nil && !errors.Is(err, buntdb.ErrNotFound) {
		return err
	}
	return nil
}

// EnsureIndex adds a persistent index and fills it from the documents. It
// is a no-op for an index id the store has; it fails with a *UniqueError
// (and adds nothing) when a unique index finds two documents with the same
// values.
func (s *Store) EnsureIndex(ix IndexDef) error {
	for _, have := range s.Indexes() {
		if have.ID == ix.ID {
			return nil
		}
	}
	return s.Update(func(t *Tx) error {
		var docs []Doc
		if err := t.tx.AscendRange("", docPrefix, docPrefixEnd, func(k, v string) bool {
			d, err := decodeDoc(k[len(docPrefix):], v)
			if err == nil {
				docs = append(docs, d)
			}
			return true
		}); err != nil {
			return err
		}
		for _, d := range docs {
			m, err := decodeFields(d.Body)
			if err != nil {
				return err
			}
			if err := t.reindex(ix, d.Key, nil, false, m, false); err != nil {
				return err
			}
		}
		all := append(append([]IndexDef(nil), t.indexes...), ix)
		return t.setIndexes(all)
	})
}

// DropIndex removes an index and its entries; unknown ids are a no-op.
func (s *Store) DropIndex(id string) error {
	return s.Update(func(t *Tx) error {
		var keep []IndexDef
		found := false
		for _, ix := range t.indexes {
			if ix.ID == id {
				found = true
				continue
			}
			keep = append(keep, ix)
		}
		if !found {
			return nil
		}
		p := indexPrefix + id + "/"
		var keys []string
		if err := t.tx.AscendRange("", p, p[:len(p)-1]+"0", func(k, _ string) bool {
			keys = append(keys, k)
			return true
		}); err != nil {
			return err
		}
		for _, k := range keys {
			if _, err := t.tx.Delete(k); err != nil {
				return err
			}
		}
		return t.setIndexes(keep)
	})
}

func (t *Tx) setIndexes(all []IndexDef) error {
	b, err := json.Marshal(all)
	if err != nil {
		return fmt.Errorf("storage: encode indexes: %w", err)
	}
	if _, _, err := t.tx.Set(indexesKey, string(b), nil); err != nil {
		return err
	}
	t.indexes = all
	t.s.mu.Lock()
	t.s.indexes = all
	t.s.mu.Unlock()
	return nil
}
