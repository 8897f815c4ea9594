package cluster

import (
	"fmt"
	"testing"
)

func TestKeyShardIndexMatchesShardIndex(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 4, 7, 16} {
		for i := 0; i < 2000; i++ {
			key := fmt.Sprintf("k%d", i*7919)
			if i%3 == 0 {
				key = fmt.Sprint(i)
			}
			if got, want := KeyShardIndex(key, n), ShardIndex([]any{key}, n); got != want {
				t.Fatalf("key %q, %d shards: %d, want %d", key, n, got, want)
			}
		}
	}
	if got, want := KeyShardIndex("", 5), ShardIndex([]any{""}, 5); got != want {
		t.Fatalf("empty key: %d, want %d", got, want)
	}
}
