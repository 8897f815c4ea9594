package coordinator

import (
	"bytes"
	"encoding/json"

	"github.com/arangomesos/arangomesos/node/arangohttp"
	"github.com/arangomesos/arangomesos/node/cluster"
)

// Inserts into collections sharded by _key pass their documents through
// to the shard as the client sent them, without decoding and encoding
// them again: the coordinator only needs the _key (or adds a generated
// one in front). Anything unusual — invalid JSON, escapes in names or in
// the key, numbers out of range, a key the collection refuses — takes the
// decoding path, which gives the errors.

// passKey returns the _key of an insert's document that can pass through
// (hasKey false: it has none), and ok false when it cannot.
func passKey(raw json.RawMessage, c *cluster.PlanCollection) (key string, hasKey, ok bool) {
	v, found, ok := arangohttp.ObjectMember(raw, "_key")
	if !ok {
		return "", false, false
	}
	if !found {
		return "", false, true
	}
	key, plain := arangohttp.PlainString(v)
	if !plain || !c.KeyOptions.AllowUserKeys || cluster.ValidateKey(key) != nil {
		return "", false, false
	}
	return key, true, true
}

// withKey returns the JSON object raw (which ScanObject accepted) with a
// _key member in front; key needs no escaping (generated keys are digits).
func withKey(raw json.RawMessage, key string) json.RawMessage {
	i := bytes.IndexByte(raw, '{') + 1
	rest := bytes.TrimLeft(raw[i:], " \t\r\n")
	out := make(json.RawMessage, 0, len(raw)+len(key)+10)
	out = append(out, `{"_key":"`...)
	out = append(out, key...)
	out = append(out, '"')
	if len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, rest...)
}
