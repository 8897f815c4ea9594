package dbserver

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/arangomesos/arangomesos/node/arangohttp"
	"github.com/arangomesos/arangomesos/node/cluster"
	"github.com/arangomesos/arangomesos/node/dbserver/storage"
	"github.com/arangomesos/arangomesos/node/shardapi"
)

// execute runs a write request against the shard inside tx: one result per
// document, and the mutations to replicate. A document that fails gets its
// error result and changes nothing; the others are applied.
func execute(tx *storage.Tx, req *shardapi.WriteRequest, clock *storage.Clock) ([]shardapi.Result, []shardapi.Mutation, error) {
	results := make([]shardapi.Result, 0, len(req.Docs))
	var muts []shardapi.Mutation
	if req.Op == shardapi.OpTruncate {
		rev := clock.Next()
		if err := tx.Truncate(rev); err != nil {
			return nil, nil, err
		}
		return nil, []shardapi.Mutation{{Rev: rev, Truncate: true}}, nil
	}
	for _, raw := range req.Docs {
		res, mut, err := executeOne(tx, req, raw, clock)
		if err != nil {
			return nil, nil, err
		}
		results = append(results, res)
		if mut != nil {
			muts = append(muts, *mut)
		}
	}
	return results, muts, nil
}

func executeOne(tx *storage.Tx, req *shardapi.WriteRequest, raw json.RawMessage, clock *storage.Clock) (shardapi.Result, *shardapi.Mutation, error) {
	if res, mut, ok, err := insertPlain(tx, req, raw, clock); ok || err != nil {
		return res, mut, err
	}
	return executeDecoded(tx, req, raw, clock)
}

// executeDecoded applies one document of a write request by decoding it:
// every operation and every case.
func executeDecoded(tx *storage.Tx, req *shardapi.WriteRequest, raw json.RawMessage, clock *storage.Clock) (shardapi.Result, *shardapi.Mutation, error) {
	m, bad := decodeObject(raw)
	if bad != nil {
		return *bad, nil, nil
	}
	key, _ := m["_key"].(string)
	if err := cluster.ValidateKey(key); err != nil {
		return docError(http.StatusBadRequest, arangohttp.ErrNumDocumentKeyBad, "illegal document key"), nil, nil
	}
	id := req.Collection + "/" + key
	opts := req.Options
	old, exists, err := tx.Get(key)
	if err != nil {
		return shardapi.Result{}, nil, err
	}
	op := req.Op
	if op == shardapi.OpInsert && exists {
		switch opts.OverwriteMode {
		case "ignore":
			return shardapi.Result{ID: id, Key: key, Rev: old.Rev.String(), Unchanged: true}, nil, nil
		case "replace":
			op = shardapi.OpReplace
		case "update":
			op = shardapi.OpUpdate
		default:
			return errUniqueKey(key), nil, nil
		}
		opts.IgnoreRevs = true
	} else if op != shardapi.OpInsert && !exists {
		return errNotFound(), nil, nil
	}
	if op != shardapi.OpInsert {
		if opts.IfMatch != "" && !revMatches(opts.IfMatch, old.Rev) {
			return errRevConflict(id, key, old.Rev), nil, nil
		}
		if r := revOf(m); !opts.IgnoreRevs && r != "" && !revMatches(r, old.Rev) {
			return errRevConflict(id, key, old.Rev), nil, nil
		}
	}
	rev := clock.Next()
	res := shardapi.Result{ID: id, Key: key, Rev: rev.String()}
	if exists {
		res.OldRev = old.Rev.String()
		if opts.ReturnOld {
			res.Old = json.RawMessage(old.Body)
		}
	}
	if op == shardapi.OpRemove {
		if _, err := tx.Delete(key, rev); err != nil {
			return shardapi.Result{}, nil, err
		}
		res.Rev, res.OldRev = old.Rev.String(), ""
		return res, &shardapi.Mutation{Key: key, Rev: rev}, nil
	}
	stripSystem(m)
	var next map[string]any
	switch op {
	case shardapi.OpUpdate:
		oldDoc, bad := decodeObject(old.Body)
		if bad != nil {
			return *bad, nil, nil
		}
		if shardKeysChanged(opts.ShardKeys, oldDoc, m, true) {
			return mustNotChangeShardKeys(), nil, nil
		}
		next = mergePatch(oldDoc, m, opts.KeepNull, opts.MergeObjects)
		stripSystem(next)
	case shardapi.OpReplace:
		if exists {
			oldDoc, bad := decodeObject(old.Body)
			if bad != nil {
				return *bad, nil, nil
			}
			if shardKeysChanged(opts.ShardKeys, oldDoc, m, false) {
				return mustNotChangeShardKeys(), nil, nil
			}
		}
		next = m
	default:
		if !opts.KeepNull {
			next = mergePatch(map[string]any{}, m, false, true)
		} else {
			next = m
		}
	}
	body, err := finish(next, id, key, rev)
	if err != nil {
		return docError(http.StatusBadRequest, arangohttp.ErrNumDocumentTypeInvalid, "cannot encode document: %v", err), nil, nil
	}
	if err := tx.Put(key, rev, body, false); err != nil {
		return putError(err)
	}
	if opts.ReturnNew {
		res.New = json.RawMessage(body)
	}
	return res, &shardapi.Mutation{Key: key, Rev: rev, Doc: body}, nil
}

// putError is the result of a document whose Put failed: a unique index's
// conflict, or the transaction's error.
func putError(err error) (shardapi.Result, *shardapi.Mutation, error) {
	var ue *storage.UniqueError
	if errors.As(err, &ue) {
		return docError(http.StatusConflict, arangohttp.ErrNumUniqueConstraintViolated, "%s", ue.Error()), nil, nil
	}
	return shardapi.Result{}, nil, err
}

func mustNotChangeShardKeys() shardapi.Result {
	return docError(http.StatusBadRequest, arangohttp.ErrNumMustNotChangeShardingAttrs, "must not change the value of a shard key attribute")
}

// applyMutations applies replicated mutations (a follower, or a resync).
func applyMutations(tx *storage.Tx, muts []shardapi.Mutation) error {
	for _, m := range muts {
		switch {
		case m.Truncate:
			if err := tx.Truncate(m.Rev); err != nil {
				return err
			}
		case m.Doc == nil:
			if _, err := tx.Delete(m.Key, m.Rev); err != nil {
				return err
			}
		default:
			if err := tx.Put(m.Key, m.Rev, m.Doc, true); err != nil {
				return err
			}
		}
	}
	return nil
}
