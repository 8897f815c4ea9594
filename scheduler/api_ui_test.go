package scheduler

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/node/cluster"
)

func TestBuildShardsView(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	dists := map[string]map[string]collectionDistribution{
		"_system": {"films": {
			Plan: map[string]shardServers{
				"s2": {Leader: "PRMR-b", Followers: []string{"PRMR-a"}},
				"s1": {Leader: "PRMR-a", Followers: []string{"PRMR-b"}},
			},
			Current: map[string]shardServers{
				"s1": {Leader: "PRMR-a", Followers: []string{"PRMR-b"}},
				"s2": {Leader: "PRMR-b"}, // the follower is not in sync yet
			},
		}},
		"shop": {
			"orders": {Plan: map[string]shardServers{"s3": {Leader: "PRMR-gone"}}},
			"carts":  {Plan: map[string]shardServers{}},
		},
	}
	v := buildShardsView(dists, []string{"PRMR-a", "PRMR-b", "PRMR-c"}, map[string]dbServerReading{"PRMR-a": {Documents: 10, DataBytes: 2048, At: at}})
	var names []string
	for _, c := range v.Collections {
		names = append(names, c.Database+"/"+c.Name)
	}
	if got := names; len(got) != 3 || got[0] != "_system/films" || got[1] != "shop/carts" || got[2] != "shop/orders" {
		t.Fatalf("collections %v, want _system/films, shop/carts, shop/orders", got)
	}
	films := v.Collections[0].Shards
	if len(films) != 2 || films[0].Shard != "s1" || !films[0].Synced || films[1].Synced || len(films[1].InSync) != 0 {
		t.Errorf("films' shards: %+v", films)
	}
	if v.Collections[1].Shards == nil {
		t.Error("a collection without shards has shards null, want []")
	}
	want := map[string][2]int{"PRMR-a": {1, 2}, "PRMR-b": {1, 2}, "PRMR-c": {0, 0}, "PRMR-gone": {1, 1}}
	for id, w := range want {
		l, ok := v.Load[id]
		if !ok || l.Leaders != w[0] || l.Copies != w[1] {
			t.Errorf("load of %s: %+v (listed %v), want %d leaders, %d copies", id, l, ok, w[0], w[1])
		}
	}
	if a := v.Load["PRMR-a"]; a.Documents == nil || *a.Documents != 10 || *a.DataBytes != 2048 || !a.MeasuredAt.Equal(at) {
		t.Errorf("PRMR-a's measured load: %+v", a)
	}
	if b := v.Load["PRMR-b"]; b.Documents != nil || b.MeasuredAt != nil {
		t.Errorf("PRMR-b was not measured but shows %+v", b)
	}
}

// GET /v1/shards asks a running coordinator for the databases and each
// one's shard distribution; a database dropped in between is left out.
func TestShardsOfEveryDatabase(t *testing.T) {
	f := newAPIFixture(t)
	coord := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "root" || p == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var body any
		switch r.URL.Path {
		case "/_api/database":
			body = map[string]any{"result": []string{"_system", "shop", "dropped"}}
		case "/_db/_system/_admin/cluster/shardDistribution":
			body = map[string]any{"results": map[string]any{}}
		case "/_db/shop/_admin/cluster/shardDistribution":
			body = map[string]any{"results": map[string]any{"orders": map[string]any{
				"Plan":    map[string]any{"s7": map[string]any{"leader": "PRMR-x", "followers": []string{"PRMR-y"}}},
				"Current": map[string]any{"s7": map[string]any{"leader": "PRMR-x", "followers": []string{"PRMR-y"}}},
			}}}
		default:
			w.WriteHeader(http.StatusNotFound)
			body = map[string]any{"error": true, "errorMessage": "database not found"}
		}
		_ = json.NewEncoder(w).Encode(body)
	}))
	defer coord.Close()
	host, port, _ := net.SplitHostPort(coord.Listener.Addr().String())
	f.s.mu.Lock()
	for _, m := range f.s.st.Sorted(cluster.RoleCoordinator) {
		m.Phase, m.TaskState, m.Hostname = PhaseLaunched, "TASK_RUNNING", host
		m.Port, _ = strconv.Atoi(port)
		break
	}
	f.s.mu.Unlock()
	code, m := f.call("GET", "/v1/shards", "", true)
	if code != 200 {
		t.Fatalf("GET /v1/shards: %d %v", code, m)
	}
	b, _ := json.Marshal(m)
	var v ShardsView
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Collections) != 1 || v.Collections[0].Database != "shop" || v.Collections[0].Name != "orders" ||
		len(v.Collections[0].Shards) != 1 || !v.Collections[0].Shards[0].Synced {
		t.Errorf("collections: %+v", v.Collections)
	}
	if l := v.Load["PRMR-x"]; l.Leaders != 1 || l.Copies != 1 {
		t.Errorf("load of the leader: %+v", l)
	}
}
