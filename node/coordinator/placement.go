package coordinator

import (
	"fmt"
	"net/http"
	"sort"

	"github.com/arangomesos/arangomesos/node/arangohttp"
)

// placeShards assigns each shard replicationFactor distinct servers, leader
// first. Leaders go round-robin over the servers, starting after the server
// that leads the most shards already (load, by id), so leaders spread
// evenly; followers are the next servers in the ring. It fails with 1487
// when there are fewer servers than replicationFactor.
func placeShards(shards []string, servers []string, replicationFactor int, load map[string]int) (map[string][]string, error) {
	if replicationFactor > len(servers) || len(servers) == 0 {
		return nil, arangohttp.Errorf(http.StatusBadRequest, arangohttp.ErrNumInsufficientDBServers,
			"number of DB servers (%d) lower than requested replicationFactor (%d)", len(servers), replicationFactor)
	}
	ring := append([]string(nil), servers...)
	// Least loaded first, ties by id, so new collections fill gaps.
	sort.SliceStable(ring, func(i, j int) bool {
		if load[ring[i]] != load[ring[j]] {
			return load[ring[i]] < load[ring[j]]
		}
		return ring[i] < ring[j]
	})
	out := make(map[string][]string, len(shards))
	for i, s := range shards {
		list := make([]string, 0, replicationFactor)
		for r := 0; r < replicationFactor; r++ {
			list = append(list, ring[(i+r)%len(ring)])
		}
		out[s] = list
	}
	return out, nil
}

// shardName is the name of a shard with a numeric id.
func shardName(id uint64) string { return fmt.Sprintf("s%d", id) }
