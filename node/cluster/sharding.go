package cluster

import (
	"encoding/json"
	"hash/fnv"
	"math"
	"sort"
	"strconv"
	"strings"
)

// ShardingStrategy is the name this project records for its document hash.
// Clients never compute shards, so bit-for-bit compatibility with ArangoDB's
// hash is not needed (reference §5); the strategy is recorded per
// collection so it can never change under existing data.
const ShardingStrategy = "hash"

// SortShards returns the shard names of a Plan shard map ordered by their
// numeric id ("s10002" < "s10010"): the order documents are hashed into.
func SortShards(shards map[string][]string) []string {
	names := make([]string, 0, len(shards))
	for s := range shards {
		names = append(names, s)
	}
	sort.Slice(names, func(i, j int) bool { return shardNum(names[i]) < shardNum(names[j]) })
	return names
}

func shardNum(s string) uint64 {
	n, err := strconv.ParseUint(strings.TrimPrefix(s, "s"), 10, 64)
	if err != nil {
		return math.MaxUint64
	}
	return n
}

// ShardIndex returns the position (in SortShards order) of the shard that
// holds a document with these shard key values, among n shards. Values are
// the document's values of the collection's shard keys, in order; a missing
// attribute is nil. Numbers hash by numeric value (1 and 1.0 land alike).
func ShardIndex(values []any, n int) int {
	if n <= 1 {
		return 0
	}
	h := fnv.New64a()
	for _, v := range values {
		hashValue(h, v)
		_, _ = h.Write([]byte{0xff})
	}
	return int(h.Sum64() % uint64(n))
}

// KeyShardIndex is ShardIndex([]any{key}, n) — the shard of a document of
// a collection sharded by _key alone — without allocating.
func KeyShardIndex(key string, n int) int {
	if n <= 1 {
		return 0
	}
	const offset, prime = 14695981039346656037, 1099511628211 // FNV-1a, 64 bits
	h := uint64(offset)
	h = (h ^ 's') * prime
	for i := 0; i < len(key); i++ {
		h = (h ^ uint64(key[i])) * prime
	}
	h = (h ^ 0xff) * prime
	return int(h % uint64(n))
}

type byteWriter interface{ Write([]byte) (int, error) }

func hashValue(h byteWriter, v any) {
	switch t := v.(type) {
	case nil:
		_, _ = h.Write([]byte{'n'})
	case bool:
		if t {
			_, _ = h.Write([]byte{'t'})
		} else {
			_, _ = h.Write([]byte{'f'})
		}
	case string:
		_, _ = h.Write([]byte{'s'})
		_, _ = h.Write([]byte(t))
	case json.Number:
		f, err := t.Float64()
		if err != nil {
			_, _ = h.Write([]byte(t))
			return
		}
		hashFloat(h, f)
	case float64:
		hashFloat(h, t)
	case int:
		hashFloat(h, float64(t))
	case int64:
		hashFloat(h, float64(t))
	case []any:
		_, _ = h.Write([]byte{'['})
		for _, e := range t {
			hashValue(h, e)
			_, _ = h.Write([]byte{','})
		}
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		_, _ = h.Write([]byte{'{'})
		for _, k := range keys {
			_, _ = h.Write([]byte(k))
			_, _ = h.Write([]byte{':'})
			hashValue(h, t[k])
		}
	default:
		b, _ := json.Marshal(t)
		_, _ = h.Write(b)
	}
}

func hashFloat(h byteWriter, f float64) {
	if f == 0 {
		f = 0 // -0 and +0 alike
	}
	_, _ = h.Write([]byte{'d'})
	_, _ = h.Write([]byte(strconv.FormatFloat(f, 'g', -1, 64)))
}
