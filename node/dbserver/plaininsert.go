package dbserver

import (
	"encoding/json"

	"github.com/arangomesos/arangomesos/node/arangohttp"
	"github.com/arangomesos/arangomesos/node/cluster"
	"github.com/arangomesos/arangomesos/node/dbserver/storage"
	"github.com/arangomesos/arangomesos/node/shardapi"
)

// insertPlain inserts a new document that is plain (arangohttp.Plain) as
// it came, with _key, _id and _rev in front, instead of decoding it and
// encoding it again: what decoding would store, but for the order of the
// members and the spelling of strings. ok is false, and nothing is
// written, when the write needs executeDecoded: another operation,
// keepNull false, a document that is not plain, a bad or missing _key, or
// a key that exists.
func insertPlain(tx *storage.Tx, req *shardapi.WriteRequest, raw json.RawMessage, clock *storage.Clock) (res shardapi.Result, mut *shardapi.Mutation, ok bool, err error) {
	if req.Op != shardapi.OpInsert || !req.Options.KeepNull {
		return res, nil, false, nil
	}
	var keyValue []byte
	var members [][2][]byte
	size := 0
	if !arangohttp.Plain(raw, func(name, value []byte) {
		switch string(name) {
		case "_key":
			keyValue = value
		case "_id", "_rev": // the server sets them
		default:
			members = append(members, [2][]byte{name, value})
			size += len(name) + len(value) + 4
		}
	}) {
		return res, nil, false, nil
	}
	key, plain := arangohttp.PlainString(keyValue)
	if !plain || cluster.ValidateKey(key) != nil {
		return res, nil, false, nil
	}
	if _, exists, err := tx.Get(key); err != nil || exists {
		return res, nil, false, err
	}
	rev := clock.Next()
	id, revs := req.Collection+"/"+key, rev.String()
	// Keys, collection names and revisions need no escaping in JSON.
	body := make([]byte, 0, size+len(key)+len(id)+len(revs)+32)
	body = append(body, `{"_key":"`...)
	body = append(body, key...)
	body = append(body, `","_id":"`...)
	body = append(body, id...)
	body = append(body, `","_rev":"`...)
	body = append(body, revs...)
	body = append(body, '"')
	for _, m := range members {
		body = append(body, ',', '"')
		body = append(body, m[0]...)
		body = append(body, '"', ':')
		body = append(body, m[1]...)
	}
	body = append(body, '}')
	if err := tx.Put(key, rev, body, false); err != nil {
		res, mut, err = putError(err)
		return res, mut, true, err
	}
	res = shardapi.Result{ID: id, Key: key, Rev: revs}
	if req.Options.ReturnNew {
		res.New = json.RawMessage(body)
	}
	return res, &shardapi.Mutation{Key: key, Rev: rev, Doc: body}, true, nil
}
