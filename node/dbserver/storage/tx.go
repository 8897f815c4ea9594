package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tidwall/buntdb"
)

// Tx is a write transaction of a Store (see Store.Update). It sees its own
// writes. Not safe for concurrent use.
type Tx struct {
	s          *Store
	tx         *buntdb.Tx
	indexes    []IndexDef
	state      State
	stateDirty bool
	dCount     int64
	dSize      int64
}

// Get reads one document, seeing this transaction's writes.
func (t *Tx) Get(key string) (Doc, bool, error) {
	v, err := t.tx.Get(docPrefix + key)
	if errors.Is(err, buntdb.ErrNotFound) {
		return Doc{}, false, nil
	}
	if err != nil {
		return Doc{}, false, err
	}
	d, err := decodeDoc(key, v)
	return d, err == nil, err
}

// Put stores a document with revision rev; body is its whole JSON object.
// With force false it fails with a *UniqueError when a unique index already
// holds the document's values for another key; with force true (followers
// applying their leader's operations, which were checked there) the index
// entry is taken over.
func (t *Tx) Put(key string, rev Rev, body []byte, force bool) error {
	old, had, err := t.Get(key)
	if err != nil {
		return err
	}
	if len(t.indexes) > 0 {
		newVals, err := decodeFields(body)
		if err != nil {
			return err
		}
		var oldVals map[string]any
		if had {
			if oldVals, err = decodeFields(old.Body); err != nil {
				return err
			}
		}
		for _, ix := range t.indexes {
			if err := t.reindex(ix, key, oldVals, had, newVals, force); err != nil {
				return err
			}
		}
	}
	if _, _, err := t.tx.Set(docPrefix+key, rev.Hex()+string(body), nil); err != nil {
		return err
	}
	if had {
		t.dSize -= int64(len(old.Body))
	} else {
		t.dCount++
	}
	t.dSize += int64(len(body))
	t.observe(rev)
	return nil
}

// Delete removes a document; it reports whether it existed. rev is the
// revision of the removal (it advances the shard's clock).
func (t *Tx) Delete(key string, rev Rev) (bool, error) {
	old, had, err := t.Get(key)
	if err != nil || !had {
		t.observe(rev)
		return false, err
	}
	if len(t.indexes) > 0 {
		oldVals, err := decodeFields(old.Body)
		if err != nil {
			return false, err
		}
		for _, ix := range t.indexes {
			if err := t.unindex(ix, key, oldVals); err != nil {
				return false, err
			}
		}
	}
	if _, err := t.tx.Delete(docPrefix + key); err != nil {
		return false, err
	}
	t.dCount--
	t.dSize -= int64(len(old.Body))
	t.observe(rev)
	return true, nil
}

// Truncate removes every document and index entry.
func (t *Tx) Truncate(rev Rev) error {
	var keys []string
	for _, p := range []string{docPrefix, indexPrefix} {
		end := p[:len(p)-1] + string(rune(p[len(p)-1]+1))
		if err := t.tx.AscendRange("", p, end, func(k, _ string) bool {
			keys = append(keys, k)
			return true
		}); err != nil {
			return err
		}
	}
	for _, k := range keys {
		if _, err := t.tx.Delete(k); err != nil && !errors.Is(err, buntdb.ErrNotFound) {
			return err
		}
	}
	t.dCount = -t.s.Count()
	t.dSize = -t.s.DataSize()
	t.observe(rev)
	return nil
}

func (t *Tx) observe(rev Rev) {
	if rev > t.state.MaxRev {
		t.state.MaxRev = rev
		t.stateDirty = true
	}
}

// SetPosition records the last applied operation (term, seq) of leader.
func (t *Tx) SetPosition(leader string, term, seq uint64) {
	t.state.Leader, t.state.Term, t.state.Seq = leader, term, seq
	t.stateDirty = true
}

// State returns the replication metadata as this transaction sees it.
func (t *Tx) State() State { return t.state }

// SetOpResult remembers the result of an operation id for ttl.
func (t *Tx) SetOpResult(opID string, result []byte, ttl time.Duration) error {
	_, _, err := t.tx.Set(opPrefix+opID, string(result), &buntdb.SetOptions{Expires: true, TTL: ttl})
	return err
}

// OpResult returns the stored result of an operation id.
func (t *Tx) OpResult(opID string) ([]byte, bool) {
	v, err := t.tx.Get(opPrefix + opID)
	if err != nil {
		return nil, false
	}
	return []byte(v), true
}

// decodeFields decodes a document body for index maintenance.
func decodeFields(body []byte) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("%w: document body: %v", ErrCorrupt, err)
	}
	return m, nil
}
