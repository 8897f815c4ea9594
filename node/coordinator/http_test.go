package coordinator_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/arangomesos/arangomesos/internal/testharness"
)

// rawClient sends requests the way arangojs and curl do, and checks exact
// status codes, headers and bodies.
type rawClient struct {
	t    *testing.T
	base string
	auth string
}

type answer struct {
	code   int
	header http.Header
	body   []byte
	json   map[string]any
	list   []any
}

func (a answer) num() int {
	n, _ := a.json["errorNum"].(float64)
	return int(n)
}

func (c *rawClient) do(method, path, body string, hdr ...string) answer {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{code: resp.StatusCode, header: resp.Header, body: b}
	if len(b) > 0 {
		if b[0] == '[' {
			_ = json.Unmarshal(b, &a.list)
		} else {
			_ = json.Unmarshal(b, &a.json)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			c.t.Errorf("%s %s: Content-Type %q", method, path, ct)
		}
	}
	return a
}

func (c *rawClient) expect(a answer, code, num int, what string) {
	c.t.Helper()
	if a.code != code || (num != 0 && a.num() != num) {
		c.t.Fatalf("%s: got %d/%d %s, want %d/%d", what, a.code, a.num(), a.body, code, num)
	}
	if code >= 400 && (a.json["error"] != true || a.json["errorMessage"] == nil) {
		c.t.Fatalf("%s: not an ArangoDB error body: %s", what, a.body)
	}
}

func basicAuth(c *testharness.Cluster) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte("root:"+c.RootPassword))
}

func TestRawHTTP(t *testing.T) {
	c := startCluster(t)
	anon := &rawClient{t: t, base: c.Coordinator(0)}
	basic := &rawClient{t: t, base: c.Coordinator(0), auth: basicAuth(c)}

	// Authentication.
	anon.expect(anon.do("GET", "/_api/version", ""), 401, 11, "no credentials")
	wrong := &rawClient{t: t, base: c.Coordinator(0), auth: "Basic " + base64.StdEncoding.EncodeToString([]byte("root:nope"))}
	wrong.expect(wrong.do("GET", "/_api/version", ""), 401, 0, "wrong password")
	anon.expect(anon.do("POST", "/_db/_system/_open/auth", `{"username":"root","password":"nope"}`), 401, 0, "login, wrong password")
	login := anon.do("POST", "/_db/_system/_open/auth", `{"username":"root","password":"`+c.RootPassword+`"}`)
	if login.code != 200 || login.json["jwt"] == nil {
		t.Fatalf("arangojs-style login: %d %s", login.code, login.body)
	}
	bearer := &rawClient{t: t, base: c.Coordinator(0), auth: "Bearer " + login.json["jwt"].(string)}
	v := bearer.do("GET", "/_db/_system/_api/version?details=undefined", "")
	if v.code != 200 || v.json["version"] == nil || v.json["details"] != nil {
		t.Fatalf("version with details=undefined: %d %s", v.code, v.body)
	}
	lower := &rawClient{t: t, base: c.Coordinator(0), auth: "bearer " + login.json["jwt"].(string)}
	if a := lower.do("GET", "/_admin/server/role", ""); a.code != 200 || a.json["role"] != "COORDINATOR" {
		t.Fatalf("role: %s", a.body)
	}
	if a := basic.do("GET", "/_api/cluster/endpoints", ""); a.code != 200 || len(a.json["endpoints"].([]any)) != 1 {
		t.Fatalf("endpoints: %s", a.body)
	}
	for _, p := range []string{"/_admin/server/id", "/_admin/server/mode", "/_api/database/current", "/_api/database/user",
		"/_admin/cluster/health", "/_admin/cluster/numberOfServers", "/_db/_system/_admin/cluster/shardDistribution"} {
		if a := basic.do("GET", p, ""); a.code != 200 {
			t.Fatalf("%s: %d %s", p, a.code, a.body)
		}
	}

	// Databases.
	basic.expect(basic.do("GET", "/_db/nope/_api/version", ""), 404, 1228, "unknown database")
	basic.expect(basic.do("POST", "/_api/database", `{"name":"shop"}`), 201, 0, "create database")
	basic.expect(basic.do("POST", "/_api/database", `{"name":"shop"}`), 409, 1207, "duplicate database")
	basic.expect(basic.do("POST", "/_api/database", `{"name":"1bad"}`), 400, 1229, "bad database name")

	// Collections.
	db := "/_db/shop"
	basic.expect(basic.do("POST", db+"/_api/collection?waitForSyncReplication=1&enforceReplicationFactor=0",
		`{"name":"products","numberOfShards":3,"replicationFactor":2}`), 200, 0, "create collection")
	basic.expect(basic.do("POST", db+"/_api/collection", `{"name":"products"}`), 409, 1207, "duplicate collection")
	basic.expect(basic.do("POST", db+"/_api/collection", `{"name":"toomany","replicationFactor":5}`), 400, 1487, "replicationFactor above the DBServers")
	basic.expect(basic.do("GET", db+"/_api/collection/nope", ""), 404, 1203, "unknown collection")
	basic.expect(basic.do("POST", db+"/_api/collection", `{"name":`), 400, 600, "malformed JSON")
	if a := basic.do("GET", db+"/_api/collection/products/properties", ""); a.code != 200 || a.json["numberOfShards"] != 3.0 ||
		a.json["replicationFactor"] != 2.0 || a.json["writeConcern"] != 1.0 {
		t.Fatalf("properties: %s", a.body)
	}
	if a := basic.do("GET", db+"/_api/collection/products/shards?details=true", ""); a.code != 200 || len(a.json["shards"].(map[string]any)) != 3 {
		t.Fatalf("shards: %s", a.body)
	}

	// Documents: status codes and headers.
	doc := db + "/_api/document/products"
	ins := basic.do("POST", doc, `{"_key":"p1","price":10}`)
	if ins.code != 202 || ins.header.Get("Etag") != `"`+ins.json["_rev"].(string)+`"` ||
		ins.header.Get("Location") != "/_db/shop/_api/document/products/p1" || ins.json["_id"] != "products/p1" {
		t.Fatalf("insert: %d %v %s", ins.code, ins.header, ins.body)
	}
	rev := ins.json["_rev"].(string)
	basic.expect(basic.do("POST", doc+"?waitForSync=true", `{"_key":"p2"}`), 201, 0, "insert with waitForSync")
	basic.expect(basic.do("POST", doc, `{"_key":"p1"}`), 409, 1210, "duplicate key")
	basic.expect(basic.do("POST", doc, `[1,2]`), 202, 0, "batch of non-objects")
	basic.expect(basic.do("POST", doc, `"text"`), 400, 1227, "non-object document")
	basic.expect(basic.do("POST", doc, `{"_key":"bad/key"}`), 400, 1221, "bad key")
	basic.expect(basic.do("POST", doc, `{"_key":"`+strings.Repeat("k", 255)+`"}`), 400, 1221, "key too long")
	basic.expect(basic.do("POST", doc, `{"x":`), 400, 600, "broken JSON")
	basic.expect(basic.do("POST", db+"/_api/document/nope", `{}`), 404, 1203, "unknown collection")
	if a := basic.do("GET", doc+"/p1", "", "If-None-Match", `"`+rev+`"`); a.code != 304 {
		t.Fatalf("If-None-Match: %d", a.code)
	}
	if a := basic.do("GET", doc+"/p1", "", "If-None-Match", rev); a.code != 304 {
		t.Fatalf("unquoted If-None-Match: %d", a.code)
	}
	conflict := basic.do("GET", doc+"/p1", "", "If-Match", `"_aaaaaaaaaa"`)
	basic.expect(conflict, 412, 1200, "If-Match on read")
	if conflict.json["_rev"] != rev || conflict.json["_key"] != "p1" || conflict.json["_id"] != "products/p1" {
		t.Fatalf("412 body must carry the current _id/_key/_rev: %s", conflict.body)
	}
	basic.expect(basic.do("PATCH", doc+"/p1", `{"price":11}`, "If-Match", "_aaaaaaaaaa"), 412, 1200, "unquoted If-Match on update")
	upd := basic.do("PATCH", doc+"/p1?returnOld=true&returnNew=true", `{"price":12}`, "If-Match", `"`+rev+`"`)
	if upd.code != 202 || upd.json["_oldRev"] != rev || upd.json["old"] == nil || upd.json["new"].(map[string]any)["price"] != 12.0 {
		t.Fatalf("update: %d %s", upd.code, upd.body)
	}
	if a := basic.do("HEAD", doc+"/p1", ""); a.code != 200 || len(a.body) != 0 || a.header.Get("Etag") == "" {
		t.Fatalf("HEAD: %d %q", a.code, a.body)
	}
	if a := basic.do("HEAD", doc+"/nope", ""); a.code != 404 {
		t.Fatalf("HEAD missing: %d", a.code)
	}
	basic.expect(basic.do("GET", doc+"/nope", ""), 404, 1202, "missing document")
	if a := basic.do("PUT", doc+"/p1?silent=true", `{"price":1}`); a.code != 202 || string(a.body) != "{}" {
		t.Fatalf("silent replace: %d %s", a.code, a.body)
	}
	if a := basic.do("DELETE", doc+"/p2?waitForSync=true", ""); a.code != 200 {
		t.Fatalf("remove with waitForSync: %d %s", a.code, a.body)
	}
	if a := basic.do("DELETE", doc+"/p2", ""); a.code != 404 {
		t.Fatalf("remove missing: %d", a.code)
	}

	// Batches: per-element errors and x-arango-error-codes.
	batch := basic.do("POST", doc, `[{"_key":"b1"},{"_key":"p1"},{"_key":"b/2"},{"_key":"b3"}]`)
	if batch.code != 202 || len(batch.list) != 4 || batch.header.Get("X-Arango-Error-Codes") != `{"1210":1,"1221":1}` {
		t.Fatalf("batch: %d %v %s", batch.code, batch.header, batch.body)
	}
	if e := batch.list[1].(map[string]any); e["error"] != true || e["errorNum"] != 1210.0 {
		t.Fatalf("batch element error: %v", e)
	}
	get := basic.do("PUT", doc+"?onlyget=true", `["b1",{"_key":"b3"},"zz"]`)
	if get.code != 200 || len(get.list) != 3 || get.list[2].(map[string]any)["errorNum"] != 1202.0 {
		t.Fatalf("read many: %d %s", get.code, get.body)
	}
	rm := basic.do("DELETE", doc+"?ignoreRevs=false", `["b1",{"_key":"b3","_rev":"_aaaaaaaaaa"}]`)
	if rm.code != 202 || rm.list[1].(map[string]any)["errorNum"] != 1200.0 || rm.header.Get("X-Arango-Error-Codes") != `{"1200":1}` {
		t.Fatalf("remove many: %d %s", rm.code, rm.body)
	}

	// Overwrite modes.
	if a := basic.do("POST", doc+"?overwriteMode=ignore", `{"_key":"p1","price":99}`); a.code != 202 {
		t.Fatalf("ignore: %d %s", a.code, a.body)
	}
	if a := basic.do("POST", doc+"?overwriteMode=update&returnNew=true", `{"_key":"p1","color":"red"}`); a.code != 202 ||
		a.json["new"].(map[string]any)["price"] != 1.0 || a.json["_oldRev"] == nil {
		t.Fatalf("overwrite update: %s", a.body)
	}
	basic.expect(basic.do("POST", doc+"?overwriteMode=conflict", `{"_key":"p1"}`), 409, 1210, "overwriteMode conflict")

	// Custom shard keys.
	basic.expect(basic.do("POST", db+"/_api/collection", `{"name":"people","numberOfShards":2,"shardKeys":["country"]}`), 200, 0, "custom shard keys")
	pdoc := db + "/_api/document/people"
	basic.expect(basic.do("POST", pdoc, `{"_key":"x","country":"de"}`), 400, 1466, "key with custom shard keys")
	p := basic.do("POST", pdoc, `{"country":"de","name":"a"}`)
	if p.code != 202 {
		t.Fatalf("insert with custom shard keys: %s", p.body)
	}
	key := p.json["_key"].(string)
	basic.expect(basic.do("PATCH", pdoc+"/"+key, `{"country":"fr"}`), 400, 1469, "changing a shard key")
	if a := basic.do("GET", pdoc+"/"+key, ""); a.code != 200 || a.json["country"] != "de" {
		t.Fatalf("read by key with custom shard keys: %s", a.body)
	}
	if a := basic.do("PUT", db+"/_api/collection/people/responsibleShard", `{"name":"b"}`); a.code != 400 || a.num() != 1468 {
		t.Fatalf("responsibleShard without shard key: %s", a.body)
	}

	// Indexes.
	idx := db + "/_api/index?collection=products"
	basic.expect(basic.do("POST", idx, `{"type":"hash","fields":["color"],"unique":true}`), 400, 0, "unique index without the shard key")
	created := basic.do("POST", idx, `{"type":"skiplist","fields":["price"]}`)
	if created.code != 201 || created.json["type"] != "skiplist" || created.json["isNewlyCreated"] != true {
		t.Fatalf("create index: %d %s", created.code, created.body)
	}
	if a := basic.do("POST", idx, `{"type":"skiplist","fields":["price"]}`); a.code != 200 || a.json["isNewlyCreated"] != false {
		t.Fatalf("existing index: %d %s", a.code, a.body)
	}
	list := basic.do("GET", idx, "")
	if list.code != 200 || len(list.json["indexes"].([]any)) != 2 {
		t.Fatalf("list indexes: %s", list.body)
	}
	id := created.json["id"].(string)
	if a := basic.do("GET", db+"/_api/index/"+id, ""); a.code != 200 {
		t.Fatalf("get index: %d %s", a.code, a.body)
	}
	if a := basic.do("DELETE", db+"/_api/index/"+id, ""); a.code != 200 || a.json["id"] != id {
		t.Fatalf("drop index: %d %s", a.code, a.body)
	}
	basic.expect(basic.do("GET", db+"/_api/index/"+id, ""), 404, 1212, "dropped index")

	// Import: JSON lines as text/plain, details.
	imp := basic.do("POST", db+"/_api/import?collection=products&type=documents&details=true",
		"{\"_key\":\"i1\"}\n\n{\"_key\":\"p1\"}\n[1]\n{\"_key\":\"i2\"}\n", "Content-Type", "text/plain")
	if imp.code != 201 || imp.json["created"] != 2.0 || imp.json["errors"] != 2.0 || imp.json["empty"] != 1.0 ||
		len(imp.json["details"].([]any)) != 2 {
		t.Fatalf("import: %d %s", imp.code, imp.body)
	}
	basic.expect(basic.do("POST", db+"/_api/import?collection=products&type=documents&complete=true", `{"_key":"p1"}`),
		409, 1210, "import complete=true")

	// Cursors that do not exist; bodies over the limit.
	basic.expect(basic.do("POST", db+"/_api/cursor/12345", ""), 404, 1600, "unknown cursor")
	basic.expect(basic.do("DELETE", db+"/_api/cursor/12345", ""), 404, 1600, "delete unknown cursor")
	huge := `{"_key":"h","pad":"` + strings.Repeat("x", 65<<20) + `"}`
	basic.expect(basic.do("POST", doc, huge), 400, 0, "body over the limit")
	basic.expect(basic.do("GET", doc+"/h", ""), 404, 1202, "the oversized document was not stored")

	// Concurrent single writes to one shard are combined into shared
	// requests; every client still gets its own answer.
	basic.expect(basic.do("POST", db+"/_api/collection", `{"name":"busy","numberOfShards":1}`), 200, 0, "collection for concurrent writes")
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				key := fmt.Sprintf("g%d-%d", g, i)
				a := basic.do("POST", db+"/_api/document/busy", `{"_key":"`+key+`"}`)
				if a.code != 202 || a.json["_key"] != key {
					errs <- fmt.Sprintf("insert %s: %d %s", key, a.code, a.body)
				}
				if i%5 == 0 {
					if a := basic.do("POST", db+"/_api/document/busy", `{"_key":"`+key+`"}`); a.code != 409 || a.num() != 1210 {
						errs <- fmt.Sprintf("duplicate %s: %d %s", key, a.code, a.body)
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if a := basic.do("GET", db+"/_api/collection/busy/count", ""); a.json["count"] != 320.0 {
		t.Fatalf("count after concurrent inserts: %s", a.body)
	}

	// Count, truncate, drop.
	if a := basic.do("GET", db+"/_api/collection/products/count", ""); a.code != 200 || a.json["count"] == nil {
		t.Fatalf("count: %s", a.body)
	}
	basic.expect(basic.do("PUT", db+"/_api/collection/products/truncate", "{}"), 200, 0, "truncate")
	if a := basic.do("GET", db+"/_api/collection/products/count", ""); a.json["count"] != 0.0 {
		t.Fatalf("count after truncate: %s", a.body)
	}
	basic.expect(basic.do("DELETE", db+"/_api/collection/products", ""), 200, 0, "drop collection")
	basic.expect(basic.do("GET", db+"/_api/collection/products", ""), 404, 1203, "dropped collection")
	basic.expect(basic.do("DELETE", "/_api/database/shop", ""), 200, 0, "drop database")
	basic.expect(basic.do("GET", "/_db/shop/_api/collection", ""), 404, 1228, "dropped database")
}

// TestOpenCluster: without a cluster secret, coordinators take requests
// without credentials.
func TestOpenCluster(t *testing.T) {
	c := testharness.StartCluster(t, testharness.ClusterOptions{DBServers: 1, Coordinators: 1, NoAuth: true})
	anon := &rawClient{t: t, base: c.Coordinator(0)}
	anon.expect(anon.do("GET", "/_api/version", ""), 200, 0, "version without credentials")
	anon.expect(anon.do("POST", "/_api/collection", `{"name":"open"}`), 200, 0, "create collection")
	anon.expect(anon.do("POST", "/_api/document/open", `{"_key":"a"}`), 202, 0, "insert")
	if a := anon.do("POST", "/_open/auth", `{"username":"root","password":""}`); a.code != 200 || a.json["jwt"] == nil {
		t.Fatalf("login on an open cluster: %d %s", a.code, a.body)
	}
}
